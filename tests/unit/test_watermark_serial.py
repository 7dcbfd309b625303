"""Watermark serials: one per generation, idempotent, never reused, and the only payload its
watermark may carry."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.actors import Actor, Role
from domain.errors import ConflictError, InvalidTransitionError, PermissionDeniedError
from domain.generation import Generation
from domain.ids import watermark_serial_id
from domain.watermark_serial import SerialClaim
from tests.fakes import WORKER, World, findings

pytestmark = pytest.mark.unit


@pytest.fixture
def container() -> Iterator[Container]:
    c = bootstrap(Settings(store="memory"))
    yield c
    c.close()


def scanned(c: Container, world: World, member: Actor) -> UUID:
    made = c.app.request_generation(member, "a kite over the dunes", (), 5)
    generation_id = UUID(made["generation_id"])
    c.app.record_render(WORKER, generation_id, "a" * 64, 48, 2.0, "w1", 1)
    c.app.record_scan(WORKER, generation_id, findings())
    return generation_id


def test_a_generation_gets_a_six_byte_serial_and_the_same_one_again(container: Container):
    world = World(container.app)
    generation_id = scanned(container, world, world.member())

    first = container.app.assign_watermark_serial(WORKER, generation_id)
    again = container.app.assign_watermark_serial(WORKER, generation_id)

    assert len(first) == 6 and again == first
    assert container.app.get(Generation, generation_id).watermark_serial == first.hex()
    claim = container.app.get(SerialClaim, watermark_serial_id(first))
    assert claim.generation_id == generation_id


def test_every_generation_gets_its_own_serial(container: Container):
    world = World(container.app)
    member = world.member()
    serials = {container.app.assign_watermark_serial(WORKER, scanned(container, world, member))
               for _ in range(8)}
    assert len(serials) == 8


def test_a_serial_already_claimed_is_never_handed_out_again(container: Container):
    world = World(container.app)
    member = world.member()
    taken = bytes.fromhex("0000c0ffee00")
    draws = iter([taken, taken, bytes.fromhex("0000c0ffee01")])
    container.app.serial_source = lambda: next(draws)

    first = container.app.assign_watermark_serial(WORKER, scanned(container, world, member))
    second = container.app.assign_watermark_serial(WORKER, scanned(container, world, member))

    assert (first, second) == (taken, bytes.fromhex("0000c0ffee01"))


def test_two_claims_of_one_serial_conflict_in_the_event_store(container: Container):
    world = World(container.app)
    member = world.member()
    serial = bytes.fromhex("abcdef012345")
    a, b = scanned(container, world, member), scanned(container, world, member)
    container.app.commit(SerialClaim.claim(WORKER, serial, a))
    with pytest.raises(ConflictError):
        container.app.commit(SerialClaim.claim(WORKER, serial, b))


def test_the_watermark_must_carry_the_generations_serial(container: Container):
    world = World(container.app)
    generation_id = scanned(container, world, world.member())
    serial = container.app.assign_watermark_serial(WORKER, generation_id)

    with pytest.raises(InvalidTransitionError):
        container.app.record_watermark(WORKER, generation_id, "00ff00ff00ff", "m", "p")
    assert container.app.record_watermark(WORKER, generation_id, serial.hex(), "m",
                                          "p") == "watermarked"


def test_only_the_worker_or_an_admin_assigns_serials(container: Container):
    world = World(container.app)
    member = world.member()
    generation_id = scanned(container, world, member)
    with pytest.raises(PermissionDeniedError):
        container.app.assign_watermark_serial(member, generation_id)
    admin = Actor("admin-1", Role.ADMIN)
    assert len(container.app.assign_watermark_serial(admin, generation_id)) == 6
