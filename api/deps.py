"""Request-scoped helpers: the authenticated actor, the Idempotency-Key header, and running a
command in a worker thread (eventsourcing is synchronous) with read-your-writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

from litestar import Controller, Request
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter

from adapters.bootstrap import Container
from adapters.logging_setup import bind
from adapters.observability import traced_command
from adapters.read_side import ReadSide, Views
from adapters.webhook_store import WebhookStore
from domain.actors import Actor, Role
from domain.errors import AuthenticationError, PermissionDeniedError, ValidationError
from domain.generation import Generation
from domain.services import Consentry

T = TypeVar("T")
# Route option: a suspended member may call it (withdrawing consent, erasure, closing).
OPEN_TO_SUSPENDED = "open_to_suspended"
WITHDRAWAL = {OPEN_TO_SUSPENDED: True}

IdempotencyKey = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", required=False, max_length=200,
    description="Retrying a POST with the same key returns the first result and changes "
                "nothing more.")]


ActorDep = NamedDependency[Actor]
Req = Request[Any, Any, Any]


def parse_uuid(text: str, field: str) -> UUID:
    """Ids that arrive inside a JSON body (path ids are typed by the route)."""
    try:
        return UUID(text)
    except ValueError:
        raise ValidationError(f"{field} must be a UUID") from None


def client_address(request: Request[Any, Any, Any]) -> str:
    """The peer's address: the proxy's unless `consentry serve` trusts it
    (CONSENTRY_TRUSTED_PROXIES), in which case uvicorn has put the forwarded client here."""
    return request.client.host if request.client else "unknown"


def container(request: Request[Any, Any, Any]) -> Container:
    return request.app.state["container"]


def read_side(request: Request[Any, Any, Any]) -> ReadSide:
    return request.app.state["read_side"]


def webhook_store(request: Request[Any, Any, Any]) -> WebhookStore:
    found = read_side(request).webhook_store
    assert found is not None
    return found


def views(request: Request[Any, Any, Any]) -> Views:
    found = read_side(request).views
    assert found is not None
    return found


async def current_actor(request: Request[Any, Any, Any]) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("send an Authorization: Bearer <key> header")
    app = container(request).app
    token = token.strip()
    # Most requests come from principals already in the aggregate cache: authenticating
    # them is a dictionary lookup and a hash, cheaper than a hop to a worker thread.
    actor = app.authenticate_cached(token)
    if actor is None:
        actor = await sync_to_thread(app.authenticate, token)
    bind(principal_id=actor.id)  # the id only: never the key
    if actor.suspended and not request.route_handler.opt.get(OPEN_TO_SUSPENDED):
        raise PermissionDeniedError("this member is suspended; they can still withdraw "
                                    "consent, erase their identity and close their account")
    return actor


def require(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise PermissionDeniedError(f"this needs the role {' or '.join(map(str, roles))}")


async def command(request: Request[Any, Any, Any], fn: Callable[..., T], *args: Any,
                  **kwargs: Any) -> T:
    """Runs an application command off the event loop; returns once the read models have
    applied what it wrote, so the caller's next read sees it."""
    app: Consentry = container(request).app

    def run() -> tuple[T, int]:
        result = traced_command(getattr(fn, "__name__", "command"), fn, *args, **kwargs)
        return result, app.last_position()

    result, position = await sync_to_thread(run)
    runner = read_side(request).runner
    if runner is not None and position:
        await runner.wait_for(position)
    return result


class AuthenticatedController(Controller):
    """Base of every controller whose routes need a bearer key (the `actor` dependency)."""

    dependencies = {"actor": Provide(current_actor)}
    security = [{"bearer": []}]


async def delete_with_files(request: Req, actor: Actor, generation_id: UUID) -> str:
    """Records the deletion, then removes the video's files (render, published file,
    evidence frames): a person deleting a video that features them wants it gone, not
    hidden. The worker skips a deleted generation, so nothing writes them again."""
    c = container(request)
    state = await command(request, c.app.delete_generation, actor, generation_id)
    generation = await sync_to_thread(c.app.get, Generation, generation_id)
    for digest in generation.files:
        await sync_to_thread(c.blobs.delete, digest)
    return str(state)
