"""The dispatcher queues the worker's jobs from the event log: pending work once caught up at
start (never each historical event), new work as it comes, nothing for settled work."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from adapters.bootstrap import Container, bootstrap
from adapters.dispatch import JobDispatcher
from adapters.jobs_inprocess import InProcessJobQueue
from adapters.read_side import ReadSide
from adapters.settings import Settings
from domain.actors import Actor, Role
from domain.generation import Generation
from domain.identity import Identity
from domain.ids import identity_id
from domain.jobs import GENERATE, VERIFY_IDENTITY, Job
from projections.runner import ProjectionRunner
from tests.fakes import WORKER, FakeClock, World

pytestmark = pytest.mark.unit

REVIEWER = Actor("reviewer-1", Role.REVIEWER)


class FakeJobQueue:
    """Records what is queued; refuses the ids in `refuse` as duplicates."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.refuse: set[str] = set()

    async def enqueue(self, job: Job) -> bool:
        if job.id in self.refuse:
            return False
        self.jobs.append(job)
        return True

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@pytest.fixture
def container() -> Iterator[Container]:
    c = bootstrap(Settings(store="memory"), clock=FakeClock())
    yield c
    c.close()


def submit(world: World, member: Actor) -> None:
    challenge = world.app.start_verification(member)
    # A digest of its own: a video's digest is claimed once (issue 4).
    world.app.submit_verification(member, challenge["nonce"], UUID(member.id).hex * 2)


def allowed(world: World, member: Actor, prompt: str = "a cat surfing at dawn") -> UUID:
    made = world.app.request_generation(member, prompt, (), 5)
    assert made["outcome"] == "allow"
    return UUID(made["generation_id"])


def job_for(app: Any, generation_id: UUID, sent_by: type = Generation.Decided) -> Job:
    """The job the dispatcher derives: named by the log position of the event that sent the
    generation to the worker (its decision, or a reviewer's release)."""
    position = max(p for p, e in app.events_since(0, [get_topic(sent_by)])
                   if e.originator_id == generation_id)
    return Job(GENERATE, str(generation_id), position)


async def started(container: Container, queue: FakeJobQueue) -> JobDispatcher:
    """A dispatcher as the runner drives it at start: catch up, then the first tick."""
    dispatcher = JobDispatcher(container.app, queue, retry_interval=0.0)
    await ProjectionRunner(container.app, [dispatcher]).catch_up()
    assert queue.jobs == []  # nothing is queued while catching up
    await dispatcher.tick()
    return dispatcher


async def test_at_start_only_pending_work_is_queued(container: Container):
    world = World(container.app)
    done, waiting = world.member(), world.member(verified=False)
    submit(world, waiting)
    erased = world.member(verified=False)
    submit(world, erased)
    container.app.erase_identity(erased, UUID(erased.id))
    published, pending = allowed(world, done), allowed(world, done, "a dog on a skateboard")
    world.publish(published)
    held = allowed(world, done, "a horse in the rain")
    container.app.hold_generation(WORKER, held, ("near a threshold",), {})
    denied = container.app.request_generation(waiting, "me, unverified", (), 5)
    assert denied["outcome"] == "deny"

    queue = FakeJobQueue()
    await started(container, queue)

    assert sorted(queue.jobs, key=str) == sorted(
        [Job(VERIFY_IDENTITY, waiting.id), job_for(container.app, pending)], key=str)


async def test_after_start_new_work_is_queued_as_it_is_logged(container: Container):
    world = World(container.app)
    member = world.member()
    queue = FakeJobQueue()
    dispatcher = await started(container, queue)
    runner = ProjectionRunner(container.app, [dispatcher])
    runner.position = await dispatcher.position()

    newcomer = world.member(verified=False)
    submit(world, newcomer)
    generation = allowed(world, member)
    await runner.catch_up()
    first = job_for(container.app, generation)
    assert queue.jobs == [Job(VERIFY_IDENTITY, newcomer.id), first]

    # Held, then approved by a reviewer: it goes on as a new round with its own job id.
    case = container.app.hold_generation(WORKER, generation, ("near a threshold",), {})
    container.app.claim_case(REVIEWER, UUID(case["case_id"]))
    container.app.decide_case(REVIEWER, UUID(case["case_id"]), "approve", "OK-1")
    await runner.catch_up()
    assert queue.jobs[-1] == job_for(container.app, generation, Generation.Approved)
    assert queue.jobs[-1].id != first.id

    # Settled work is not queued again at the next start; the approved round is.
    world.publish(generation)
    container.app.complete_verification(WORKER, UUID(newcomer.id), b"\x01" * 32, "m", 0.9, 0.9)
    restarted = FakeJobQueue()
    await started(container, restarted)
    assert restarted.jobs == []


async def test_a_refused_job_is_sent_again_until_accepted_once(container: Container):
    world = World(container.app)
    member = world.member()
    generation = allowed(world, member)
    job = job_for(container.app, generation)
    queue = FakeJobQueue()
    queue.refuse.add(job.id)  # still queued or running from before the restart
    dispatcher = await started(container, queue)
    assert queue.jobs == []

    await dispatcher.tick()
    assert queue.jobs == []  # still refused
    queue.refuse.clear()
    await dispatcher.tick()
    await dispatcher.tick()
    assert queue.jobs == [job]  # accepted once, then no more


async def test_settled_work_is_not_sent_again_after_a_refusal(container: Container):
    world = World(container.app)
    member = world.member()
    generation = allowed(world, member)
    queue = FakeJobQueue()
    queue.refuse.add(job_for(container.app, generation).id)
    dispatcher = await started(container, queue)
    runner = ProjectionRunner(container.app, [dispatcher])
    runner.position = await dispatcher.position()

    world.publish(generation)
    await runner.catch_up()
    queue.refuse.clear()
    await dispatcher.tick()
    assert queue.jobs == []


async def test_the_read_side_dispatches_only_with_a_queue(container: Container):
    world = World(container.app)
    member = world.member(verified=False)
    submit(world, member)
    queue = FakeJobQueue()
    read_side = ReadSide(container.settings, container.app, jobs=queue)
    await read_side.start()
    try:
        assert queue.jobs == [Job(VERIFY_IDENTITY, member.id)]  # queued before serving
    finally:
        await read_side.close()
    without = ReadSide(container.settings, container.app)
    await without.open()
    assert without.dispatcher is None


async def test_an_in_process_queue_runs_what_the_dispatcher_queues(container: Container):
    app, world = container.app, World(container.app)
    member = world.member(verified=False)

    def verify(job: Job, attempt: int) -> None:
        member_id = UUID(job.subject_id)
        if app.get(Identity, identity_id(member_id)).status == "submitted":
            app.complete_verification(WORKER, member_id, b"\x01" * 32, "m", 0.9, 0.9)

    queue = InProcessJobQueue({VERIFY_IDENTITY: verify})
    await queue.start()
    read_side = ReadSide(container.settings, app, jobs=queue)
    await read_side.start()
    try:
        submit(world, member)
        assert read_side.runner is not None
        await read_side.runner.wait_for(app.last_position())
        await asyncio.wait_for(queue.join(), 5)
        assert app.get(Identity, identity_id(UUID(member.id))).status == "verified"
    finally:
        await read_side.close()
        await queue.close()
