"""Deterministic ids for aggregates that exist once per natural key (one cameo per member,
one claim per handle). Creating one twice fails in the event store, which is how the
domain enforces uniqueness without a lagging index."""

from __future__ import annotations

from uuid import UUID, uuid5

_ROOT = UUID("7b1d3c1e-5d0a-4f51-9a57-6f1f0e1c2a10")
_CAMEO = uuid5(_ROOT, "cameo")
_IDENTITY = uuid5(_ROOT, "identity")
_HANDLE = uuid5(_ROOT, "handle")
_INVITE = uuid5(_ROOT, "invite")
_IDEMPOTENCY = uuid5(_ROOT, "idempotency")
_STAFF_NAME = uuid5(_ROOT, "staff-name")
_LIKE = uuid5(_ROOT, "like")
_FEED_PREFERENCES = uuid5(_ROOT, "feed-preferences")
_MEDIA_CLAIM = uuid5(_ROOT, "verification-media")
_WATERMARK_SERIAL = uuid5(_ROOT, "watermark-serial")


def cameo_id(member_id: UUID) -> UUID:
    return uuid5(_CAMEO, member_id.hex)


def identity_id(member_id: UUID) -> UUID:
    return uuid5(_IDENTITY, member_id.hex)


def handle_claim_id(handle: str) -> UUID:
    return uuid5(_HANDLE, handle.casefold())


def invite_id(code: str) -> UUID:
    return uuid5(_INVITE, code.strip().upper())


def idempotency_id(scope: str, key: str) -> UUID:
    return uuid5(_IDEMPOTENCY, f"{scope}\x00{key}")


def staff_name_claim_id(name: str) -> UUID:
    return uuid5(_STAFF_NAME, name.casefold())


def like_id(member_id: UUID, generation_id: UUID) -> UUID:
    return uuid5(_LIKE, f"{member_id.hex}:{generation_id.hex}")


def feed_preferences_id(member_id: UUID) -> UUID:
    return uuid5(_FEED_PREFERENCES, member_id.hex)


def media_claim_id(media_digest: str) -> UUID:
    return uuid5(_MEDIA_CLAIM, media_digest.lower())


def watermark_serial_id(payload: bytes) -> UUID:
    return uuid5(_WATERMARK_SERIAL, payload.hex())
