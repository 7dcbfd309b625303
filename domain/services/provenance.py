"""Provenance commands: the watermark serial of a generation, drawn at random and made unique
by a claim aggregate saved in the same transaction."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from domain.errors import ConflictError
from domain.generation import Generation
from domain.ids import watermark_serial_id
from domain.services.access import require_role
from domain.services.core import CoreApplication
from domain.watermark_serial import SERIAL_BYTES, SerialClaim

DRAWS = 8  # 2^48 serials: a second draw is already a once-in-billions event
ATTEMPTS = 3


def random_serial() -> bytes:
    return secrets.token_bytes(SERIAL_BYTES)


class ProvenanceCommands(CoreApplication):
    # Where serials come from; tests replace it to force collisions.
    serial_source: Callable[[], bytes] = staticmethod(random_serial)

    def assign_watermark_serial(self, actor: Actor, generation_id: UUID,
                                key: str | None = None) -> bytes:
        """The 6-byte payload the generation's watermark carries. Idempotent per
        generation: a second call (a retried job) returns the serial assigned first.
        Random serials are claimed through `SerialClaim`, whose id derives from the
        serial: one already claimed is skipped, and two commands racing for the same one
        conflict in the event store (the loser retries with a fresh draw)."""
        require_role(actor, Role.WORKER, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            generation = self.get(Generation, generation_id)
            if generation.watermark_serial:
                return generation.watermark_serial, []
            for _ in range(DRAWS):
                payload = self.serial_source()
                if self.find(SerialClaim, watermark_serial_id(payload)) is None:
                    break
            else:
                raise ConflictError("no free watermark serial found; retry")
            claim = SerialClaim.claim(actor, payload, generation.id)
            generation.assign_serial(actor, payload.hex())
            return payload.hex(), [generation, claim]

        def attempt() -> bytes:
            return bytes.fromhex(self.run("assign_watermark_serial", actor, key,
                                          {"g": generation_id}, body))

        for _ in range(ATTEMPTS - 1):
            with contextlib.suppress(ConflictError):
                return attempt()
        return attempt()
