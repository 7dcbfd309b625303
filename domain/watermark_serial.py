"""Watermark serials: the 6-byte payload a generation's invisible watermark carries. The claim's
id derives from the payload, so a second claim of the same serial conflicts in the event
store itself and no two generations ever carry the same one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor
from domain.aggregate import ConsentryAggregate
from domain.ids import watermark_serial_id

SERIAL_BYTES = 6


class SerialClaim(ConsentryAggregate):
    """Reserves one watermark payload for one generation, for good: a serial is never
    released, so a video found in the wild years later still names one generation."""

    class Claimed(ConsentryAggregate.Created):
        payload: str  # hex, 2 * SERIAL_BYTES digits
        generation_id: UUID

    def __init__(self, payload: str, generation_id: UUID, **kwargs: Any) -> None:
        self.payload = payload
        self.generation_id = generation_id

    @classmethod
    def claim(cls, actor: Actor, payload: bytes, generation_id: UUID) -> SerialClaim:
        if len(payload) != SERIAL_BYTES:
            raise ValueError(f"a watermark serial is {SERIAL_BYTES} bytes")
        return cls._create(cls.Claimed, id=watermark_serial_id(payload), actor_id=actor.id,
                           actor_role=str(actor.role), payload=payload.hex(),
                           generation_id=generation_id)
