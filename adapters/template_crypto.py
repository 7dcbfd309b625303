"""Face and voice templates (and the reference face image kept for cameos) sealed with
AES-256-GCM under their identity's own data key, so that what enters an event or a blob is
ciphertext, and destroying the key (erasure) shreds every copy of it."""

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
        return self._seal(identity_id, template.to_bytes(), _TEMPLATE)

    def open(self, identity_id: str, ciphertext: bytes) -> FaceTemplate | None:
        """The template, or None when the identity's key was destroyed."""
        plain = self._open(identity_id, ciphertext, _TEMPLATE)
        return FaceTemplate.from_bytes(plain) if plain is not None else None

    def seal_voice(self, identity_id: str, template: FaceTemplate) -> bytes:
        """A voice template under the same key, with its own associated data, so that a
        sealed voice can never be opened as a face (or the reverse)."""
        return self._seal(identity_id, template.to_bytes(), _VOICE)

    def open_voice(self, identity_id: str, ciphertext: bytes) -> FaceTemplate | None:
        plain = self._open(identity_id, ciphertext, _VOICE)
        return FaceTemplate.from_bytes(plain) if plain is not None else None

    def seal_reference_face(self, identity_id: str, image: bytes) -> bytes:
        """The encoded face image (PNG) under the same key as the template, with other
        associated data, so neither ciphertext can pass for the other."""
        return self._seal(identity_id, image, _REFERENCE_FACE)

    def open_reference_face(self, identity_id: str, ciphertext: bytes) -> bytes | None:
        return self._open(identity_id, ciphertext, _REFERENCE_FACE)

    def _seal(self, identity_id: str, plain: bytes, purpose: bytes) -> bytes:
        key = self._keys.create(identity_id)
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + AESGCM(key).encrypt(nonce, plain,
                                                      purpose + identity_id.encode())

    def _open(self, identity_id: str, ciphertext: bytes, purpose: bytes) -> bytes | None:
        key = self._keys.get(identity_id)
        if key is None:
            return None
        if len(ciphertext) < 1 + _NONCE_BYTES + 16 or ciphertext[:1] != _VERSION:
            raise TemplateIntegrityError("not sealed by this vault")
        nonce, sealed = ciphertext[1:1 + _NONCE_BYTES], ciphertext[1 + _NONCE_BYTES:]
        try:
            return AESGCM(key).decrypt(nonce, sealed, purpose + identity_id.encode())
        except InvalidTag as exc:
            raise TemplateIntegrityError("sealed data failed authentication") from exc

    def erase(self, identity_id: str) -> None:
        self._keys.destroy(identity_id)


_TEMPLATE = b"consentry/face-template/v1\x00"
_REFERENCE_FACE = b"consentry/reference-face/v1\x00"
_VOICE = b"consentry/voice-template/v1\x00"


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

