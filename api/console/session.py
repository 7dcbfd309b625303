"""Console sign-in: a staff member's API key, once, buys a session held in an HttpOnly,
SameSite=Strict cookie (the session lives in the event log, so every process honours a
sign-out at once). Every form carries a CSRF token derived from the session's secret,
which a page on another site can neither read nor compute."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.concurrency import sync_to_thread

from api.deps import container
from domain.actors import Actor, Role
from domain.errors import AuthenticationError, PermissionDeniedError

COOKIE = "consentry_console"
SIGN_IN_COOKIE = "consentry_console_sign_in"  # the sign-in form's own CSRF token
STAFF = (Role.REVIEWER, Role.ADMIN)


class NotSignedInError(AuthenticationError):
    code = "not-signed-in"


class CsrfError(PermissionDeniedError):
    """A console form came without the token of the session that shows it."""

    code = "csrf-failed"


def csrf_token(session_token: str) -> str:
    _, _, session_id, secret = session_token.split(".", 3)
    return hmac.new(secret.encode(), f"csrf:{session_id}".encode(),
                    hashlib.sha256).hexdigest()


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(24)


async def console_actor(request: Request[Any, Any, Any]) -> Actor:
    token = request.cookies.get(COOKIE)
    if not token:
        raise NotSignedInError("sign in to use the console")
    actor = await sync_to_thread(container(request).app.session_actor, token)
    if actor.role not in STAFF:
        raise PermissionDeniedError("the console is for reviewers and admins")
    return actor


def check_csrf(request: Request[Any, Any, Any], form: Mapping[str, Any]) -> None:
    token = request.cookies.get(COOKIE, "")
    sent = str(form.get("csrf", ""))
    if not token or not sent or not hmac.compare_digest(sent, csrf_token(token)):
        raise CsrfError("this form's security token is missing or belongs to another "
                        "session; reload the page and try again")


def check_sign_in_csrf(request: Request[Any, Any, Any], form: Mapping[str, Any]) -> None:
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    sent = str(form.get("csrf", ""))
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise CsrfError("the sign-in form expired; reload it and try again")
