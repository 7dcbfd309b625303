"""Domain errors. Each carries a stable `code` that the API maps to a problem+json response."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose. `code` is stable API vocabulary."""

    code = "domain-error"
    status = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ValidationError(DomainError):
    code = "invalid-input"
    status = 422


class UnsupportedMediaTypeError(ValidationError):
    """An upload of a kind the endpoint does not take (checked on its leading bytes too)."""

    code = "unsupported-media"
    status = 415


class UnreadableMediaError(ValidationError):
    """An upload of an accepted kind whose bytes do not decode."""

    code = "unreadable-media"


class NotFoundError(DomainError):
    code = "not-found"
    status = 404


class PermissionDeniedError(DomainError):
    code = "forbidden"
    status = 403


class AuthenticationError(DomainError):
    code = "unauthenticated"
    status = 401


class InvalidTransitionError(DomainError):
    """A command that the aggregate's current state does not allow (an invariant)."""

    code = "invalid-state"
    status = 409


class ConflictError(DomainError):
    """Someone else changed the same aggregate first; retrying the command may succeed."""

    code = "conflict"
    status = 409


class AlreadyExistsError(DomainError):
    code = "already-exists"
    status = 409


class IdempotencyKeyReusedError(DomainError):
    code = "idempotency-key-reused"
    status = 422


class QuotaExceededError(DomainError):
    code = "quota-exceeded"
    status = 429


class InviteLimitReachedError(DomainError):
    """A member asked for more invite codes than their tier allows in all."""

    code = "invite-limit-reached"
    status = 403


class BodyTooDeepError(ValidationError):
    """A JSON body nested beyond what any request of ours needs."""

    code = "body-too-deep"
    status = 400


class MediaTooLargeError(DomainError):
    code = "media-too-large"
    status = 413


class MediaLimitsExceededError(ValidationError):
    """Media of an accepted kind whose duration, frame count, frame size or decoding cost
    is beyond the limits of the endpoint it was sent to."""

    code = "media-limits-exceeded"


class WebhookTargetRefusedError(ValidationError):
    """A webhook URL whose host is not a public address (or plain http), refused so that
    deliveries cannot be aimed at the service's own network."""

    code = "webhook-target-refused"


class AliasTooGenericError(ValidationError):
    """A work's name or alias is an everyday word or too short: indexed, it would block
    ordinary prompts."""

    code = "alias-too-generic"
