"""Principals and their keys: the first admin, staff enrolment, key issue and revocation,
and turning a bearer token back into an `Actor` (read from the aggregate, so a revoked key
stops working at once)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.actors import SYSTEM, Actor, Role
from domain.aggregate import Principal
from domain.errors import AuthenticationError, PermissionDeniedError
from domain.member import Member
from domain.services.core import CoreApplication
from domain.staff import DEFAULT_GRADE, Staff

TOKEN_PREFIX = "cs1"  # noqa: S105 - a format tag, not a secret
SESSION_PREFIX = "cs1s"  # a console session (the cookie's value)
SESSION_LIFETIME = timedelta(hours=8)


class SessionExpiredError(AuthenticationError):
    code = "session-expired"


def new_key(principal: Principal, actor: Actor, label: str) -> str:
    """Issues a key on `principal` and returns the bearer token (shown once)."""
    key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    principal.issue_key(actor, key_id, secret, label)
    return f"{TOKEN_PREFIX}.{principal.id.hex}.{key_id}.{secret}"


def role_of(principal: Principal) -> Role:
    if isinstance(principal, Staff):
        return principal.staff_role
    return Role.MEMBER if isinstance(principal, Member) else Role.RIGHTS_HOLDER


class AccessCommands(CoreApplication):
    def create_first_admin(self, name: str) -> dict[str, Any]:
        """Bootstraps an admin from the command line (the process itself is the actor)."""
        staff = Staff.enrol(SYSTEM, name, Role.ADMIN)
        token = new_key(staff, SYSTEM, "bootstrap")
        self.commit(staff)
        return {"staff_id": str(staff.id), "secret": token}

    def enrol_staff(self, actor: Actor, name: str, role: str, key: str | None = None,
                    member_id: UUID | None = None, grade: str = DEFAULT_GRADE
                    ) -> dict[str, Any]:
        """`member_id`: the staff member's own app account, if they have one (they will
        not be given cases about its content); `grade`: which queues a reviewer works."""
        _require_admin(actor)

        def body() -> tuple[dict[str, Any], list[Any]]:
            staff = Staff.enrol(actor, name, Role(role), grade)
            if member_id is not None:
                self.get(Member, member_id, "member")
                staff.link_account(actor, member_id)
            token = new_key(staff, actor, "initial")
            return {"staff_id": str(staff.id), "secret": token}, [staff]

        return self.run("enrol_staff", actor, key,
                        {"name": name, "role": role, "member": member_id, "grade": grade},
                        body)

    def change_staff_role(self, actor: Actor, staff_id: UUID, role: str,
                          key: str | None = None) -> str:
        _require_admin(actor)

        def body() -> tuple[str, list[Any]]:
            staff = self.get(Staff, staff_id)
            staff.change_role(actor, Role(role))
            return str(staff.id), [staff]

        return self.run("change_staff_role", actor, key, {"id": staff_id, "role": role}, body)

    def change_staff_grade(self, actor: Actor, staff_id: UUID, grade: str,
                           key: str | None = None) -> str:
        _require_admin(actor)

        def body() -> tuple[str, list[Any]]:
            staff = self.get(Staff, staff_id, "staff member")
            staff.change_grade(actor, grade)
            return staff.grade, [staff]

        return self.run("change_staff_grade", actor, key, {"id": staff_id, "g": grade}, body)

    def override_wellness(self, actor: Actor, label: str, blur: bool | None,
                          grayscale: bool | None, key: str | None = None) -> str:
        """A reviewer's own choice of how evidence of a label is first shown to them
        (None: the organisation's default again)."""
        require_role(actor, Role.REVIEWER, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            staff = self.get(Staff, UUID(actor.id), "staff member")
            staff.override_wellness(actor, label, blur, grayscale)
            return label, [staff]

        return self.run("override_wellness", actor, key,
                        {"l": label, "b": blur, "g": grayscale}, body)

    def issue_key(self, actor: Actor, principal_id: UUID, label: str,
                  key: str | None = None) -> dict[str, Any]:
        def body() -> tuple[dict[str, Any], list[Any]]:
            principal = self._own_principal(actor, principal_id)
            token = new_key(principal, actor, label)
            return {"key_id": token.split(".")[2], "secret": token}, [principal]

        return self.run("issue_key", actor, key, {"id": principal_id, "label": label}, body)

    def revoke_key(self, actor: Actor, principal_id: UUID, key_id: str,
                   key: str | None = None) -> str:
        def body() -> tuple[str, list[Any]]:
            principal = self._own_principal(actor, principal_id)
            principal.revoke_key(actor, key_id)
            return key_id, [principal]

        return self.run("revoke_key", actor, key, {"id": principal_id, "key_id": key_id}, body)

    def authenticate(self, token: str) -> Actor:
        principal_id, key_id, secret = _parse_token(token)
        principal = self.find(Principal, principal_id) if principal_id is not None else None
        return _actor_of(principal, key_id, secret)

    def authenticate_cached(self, token: str) -> Actor | None:
        """`authenticate` without I/O, so it can run on the event loop: it answers only
        when the principal is in the aggregate cache and that cache is the truth (one
        writer, as with the embedded store, where every command refreshes the cache before
        it returns), so a key revoked or a member suspended a moment ago already counts.
        None: ask `authenticate`, which reads the store (in a thread)."""
        repository = self.repository
        if repository.cache is None or repository.fastforward:
            return None
        principal_id, key_id, secret = _parse_token(token)
        if principal_id is None:
            return _actor_of(None, key_id, secret)
        try:
            cached = repository.cache.get(principal_id)
        except KeyError:
            return None
        return _actor_of(cached if isinstance(cached, Principal) else None, key_id, secret)

    def open_session(self, key_token: str, lifetime: timedelta = SESSION_LIFETIME
                     ) -> dict[str, Any]:
        """A console sign-in: a reviewer's or admin's API key, once, for a session token
        (the cookie) that lasts `lifetime` or until closed."""
        actor = self.authenticate(key_token)
        require_role(actor, Role.REVIEWER, Role.ADMIN)
        staff = self.get(Staff, UUID(actor.id), "staff member")
        session_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        expires_at = self.clock() + lifetime
        staff.open_session(actor, session_id, secret, expires_at)
        self.commit(staff)
        return {"token": f"{SESSION_PREFIX}.{staff.id.hex}.{session_id}.{secret}",
                "expires_at": expires_at, "actor": actor}

    def session_actor(self, token: str, now: datetime | None = None) -> Actor:
        """The staff member a live session token belongs to."""
        staff, session_id, secret = self._session(token)
        state = staff.session_state(session_id, secret, now or self.clock()) \
            if staff is not None else "unknown"
        if state == "expired":
            raise SessionExpiredError("the console session expired: sign in again")
        if state != "live" or staff is None:
            raise AuthenticationError("unknown or closed console session")
        return Actor(str(staff.id), staff.staff_role)

    def close_session(self, token: str) -> None:
        staff, session_id, _ = self._session(token)
        if staff is not None:
            staff.close_session(Actor(str(staff.id), staff.staff_role), session_id)
            self.commit(staff)

    def _session(self, token: str) -> tuple[Staff | None, str, str]:
        try:
            prefix, staff_hex, session_id, secret = token.split(".", 3)
            staff_id = UUID(hex=staff_hex)
        except ValueError:
            raise AuthenticationError("malformed session") from None
        if prefix != SESSION_PREFIX:
            raise AuthenticationError("malformed session")
        return self.find(Staff, staff_id), session_id, secret

    def _own_principal(self, actor: Actor, principal_id: UUID) -> Principal:
        """Admins manage every principal's keys; others only their own."""
        if actor.role != Role.ADMIN and actor.id != str(principal_id):
            raise PermissionDeniedError("you can only manage your own keys")
        return self.get(Principal, principal_id, "principal")


def _parse_token(token: str) -> tuple[UUID | None, str, str]:
    """(principal id, key id, secret); no principal id for another format's token."""
    try:
        prefix, principal_hex, key_id, secret = token.split(".", 3)
        principal_id = UUID(hex=principal_hex)
    except ValueError:
        raise AuthenticationError("malformed credential") from None
    return (principal_id if prefix == TOKEN_PREFIX else None), key_id, secret


def _actor_of(principal: Principal | None, key_id: str, secret: str) -> Actor:
    if principal is None or not principal.accepts(key_id, secret):
        raise AuthenticationError("unknown or revoked credential")
    # A suspended member still authenticates: withdrawing consent and erasure must work in
    # every state; everything else refuses them (see Actor.suspended).
    return Actor(str(principal.id), role_of(principal),
                 suspended=isinstance(principal, Member) and principal.suspended)


def _require_admin(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDeniedError("admins only")


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise PermissionDeniedError(
            f"this needs the role {' or '.join(str(r) for r in roles)}")


