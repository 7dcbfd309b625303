"""Authentication from the aggregate cache (on the event loop) on the embedded store: it
answers only for cached principals when the cache is the truth, and a revoked key or a
suspension counts from the moment the command returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.actors import Actor, Role
from domain.errors import AuthenticationError

pytestmark = pytest.mark.integration
ADMIN = Actor("admin-1", Role.ADMIN)


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    built = bootstrap(Settings(store="sqlite", data_dir=tmp_path))
    yield built
    built.close()


def member(container: Container) -> tuple[UUID, str]:
    app = container.app
    code = app.issue_invites(ADMIN, 1)["codes"][0]
    registered = app.register_member(code, "cached_member")
    return UUID(registered["member_id"]), registered["secret"]


def test_a_cached_member_is_authenticated_without_reading_the_store(container: Container):
    member_id, token = member(container)
    actor = container.app.authenticate_cached(token)
    assert actor == Actor(str(member_id), Role.MEMBER)
    with pytest.raises(AuthenticationError):
        container.app.authenticate_cached(token[:-2] + "xx")


def test_a_revoked_key_fails_at_once(container: Container):
    member_id, token = member(container)
    assert container.app.authenticate_cached(token) is not None
    container.app.revoke_key(ADMIN, member_id, token.split(".")[2])
    with pytest.raises(AuthenticationError):
        container.app.authenticate_cached(token)


def test_a_suspended_member_is_known_as_such_at_once(container: Container):
    member_id, token = member(container)
    container.app.suspend_member(ADMIN, member_id, "spam")
    actor = container.app.authenticate_cached(token)
    assert actor is not None and actor.suspended  # only withdrawal routes admit them


def test_it_defers_to_the_store_when_the_principal_is_not_cached(container: Container):
    member_id, token = member(container)
    cache = container.app.repository.cache
    assert cache is not None
    cache.get(member_id, evict=True)
    assert container.app.authenticate_cached(token) is None
    assert container.app.authenticate(token).id == str(member_id)  # reads and caches it
    assert container.app.authenticate_cached(token) is not None


def test_it_defers_to_the_store_when_other_processes_may_write(container: Container):
    _, token = member(container)
    container.app.repository.fastforward = True  # as on PostgreSQL: the cache may lag
    assert container.app.authenticate_cached(token) is None
