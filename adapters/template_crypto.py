"""Face templates sealed with AES-256-GCM under their identity's own data key, so that what
enters an event is ciphertext, and destroying the key (erasure) shreds every copy of it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.faces import FaceTemplate, KeyStore
from domain.identity import Identity

_VERSION = b"\x01"
_NONCE_BYTES = 12


class TemplateIntegrityError(ValueError):
    """A sealed template failed authentication: tampered, truncated or not this identity's."""


class TemplateVault:
    """Seals and opens templates with AES-GCM (`cryptography`, OpenSSL underneath).

    Why AES-GCM: authenticated encryption, so a flipped bit or a ciphertext copied from
    another identity is rejected rather than decrypted into a wrong template; the identity
    id is bound in as associated data for that reason. A fresh 96-bit random nonce per
    seal is safe for far more seals per key than an identity will ever make."""

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    def seal(self, identity_id: str, template: FaceTemplate) -> bytes:
        key = self._keys.create(identity_id)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, template.to_bytes(), _associated(identity_id))
        return _VERSION + nonce + sealed

    def open(self, identity_id: str, ciphertext: bytes) -> FaceTemplate | None:
        """The template, or None when the identity's key was destroyed."""
        key = self._keys.get(identity_id)
        if key is None:
            return None
        if len(ciphertext) < 1 + _NONCE_BYTES + 16 or ciphertext[:1] != _VERSION:
            raise TemplateIntegrityError("not a sealed face template")
        nonce, sealed = ciphertext[1:1 + _NONCE_BYTES], ciphertext[1 + _NONCE_BYTES:]
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, _associated(identity_id))
        except InvalidTag as exc:
            raise TemplateIntegrityError("sealed template failed authentication") from exc
        return FaceTemplate.from_bytes(plain)

    def erase(self, identity_id: str) -> None:
        self._keys.destroy(identity_id)


def _associated(identity_id: str) -> bytes:
    return b"consentry/face-template/v1\x00" + identity_id.encode()


def enrolled_templates(events: Iterable[Any], vault: TemplateVault,
                       model_id: str | None = None) -> Iterator[tuple[str, FaceTemplate]]:
    """Replay Identity events into (identity id, template) pairs for the face index: the
    latest verified template of each identity not erased and whose key still exists, of
    `model_id` only when given (templates of a retired model wait for re-enrolment)."""
    sealed: dict[str, bytes] = {}
    for event in events:
        if isinstance(event, Identity.Verified):
            if model_id is None or event.model_id == model_id:
                sealed[str(event.originator_id)] = event.template_ciphertext
            else:
                sealed.pop(str(event.originator_id), None)
        elif isinstance(event, Identity.Erased):
            sealed.pop(str(event.originator_id), None)
    for identity_id, ciphertext in sealed.items():
        template = vault.open(identity_id, ciphertext)
        if template is not None:
            yield identity_id, template
