"""The retroactive scan of a newly verified member (domain/services/retroactive.py) with the
real template vault, key store and followers: the face-track templates that published
videos' scans kept are opened and compared with the member's template, and the member's
match policy decides. Templates here are dlib-sized vectors placed at chosen distances, so
that each decision band is hit on purpose (the journey with real faces is in
tests/e2e/test_retroactive.py)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest

from adapters.bootstrap import Container, bootstrap
from adapters.settings import Settings
from domain.actors import Actor
from domain.faces import FaceTemplate, Metric, generation_key, likeness_key
from domain.generation import Generation, State
from domain.ids import identity_id
from domain.services.face_enrolment import erase_identity
from inference.faces_dlib import DLIB_THRESHOLDS, MODEL_ID
from tests.fakes import WORKER, World, findings

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def container(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    settings = Settings(store=request.param, data_dir=tmp_path, prompt_models="keywords")
    if request.param == "postgres":
        dsn, schema = request.getfixturevalue("pg_schema")
        settings = replace(settings, pg_dsn=dsn, pg_schema=schema)
    built = bootstrap(settings)
    yield built
    built.close()


def template(vector: np.ndarray) -> FaceTemplate:
    return FaceTemplate(MODEL_ID, Metric.L2, tuple(float(x) for x in vector))


def at_distance(face: np.ndarray, distance: float, rng: np.random.Generator) -> np.ndarray:
    step = rng.normal(size=face.size)
    return face + distance * step / np.linalg.norm(step)


def publish(c: Container, maker: Actor, prompt: str, faces: list[np.ndarray], *,
            keep: bool = True) -> UUID:
    """A video whose face scan found `faces` (one track each, none known then), its
    templates kept sealed by the worker unless `keep` is False (a scan recorded before
    they were kept)."""
    app = c.app
    gid = UUID(app.request_generation(maker, prompt, (), 5)["generation_id"])
    app.record_render(WORKER, gid, "a" * 64, 48, 2.0, "w1", 1)
    tracks = tuple({"track_id": i, "verdict": "unknown", "first_seconds": 0.0,
                    "last_seconds": 1.0, "frames": 3, "candidates": []}
                   for i in range(len(faces)))
    found = findings(tracks=tracks)
    found["faces"]["model_id"] = MODEL_ID
    sealed = tuple(c.vault.seal(generation_key(gid), template(f)) for f in faces) \
        if keep else ()
    app.record_scan(WORKER, gid, found, sealed_tracks=sealed)
    app.record_watermark(WORKER, gid, f"{gid.int % 2**48:012x}", "b" * 64, "c" * 64)
    app.publish_generation(WORKER, gid)
    return gid


def verify(c: Container, member: Actor, face: np.ndarray) -> None:
    """The member passes verification with `face` (what the verification worker records)."""
    app, member_id = c.app, UUID(member.id)
    challenge = app.start_verification(member)
    app.submit_verification(member, challenge["nonce"],
                            hashlib.sha256(member.id.encode()).hexdigest())
    sealed = c.vault.seal(str(identity_id(member_id)), template(face))
    app.complete_verification(WORKER, member_id, sealed, MODEL_ID, 0.9, 0.95)


def person_scan(c: Container, member: Actor) -> dict[str, Any]:
    [scan] = c.app.person_retroactive_scans(member)["items"]
    return dict(scan)


@pytest.mark.parametrize("policy", ["block", "review", "track"])
def test_a_member_verifying_later_finds_the_videos_that_showed_their_face(
        container: Container, policy: str):
    c, rng = container, np.random.default_rng(7)
    world = World(c.app)
    maker, bea = world.member("maker"), world.member("bea", verified=False)
    c.app.set_person_match_policy(bea, policy)
    face = rng.normal(0, 0.09, 128)  # dlib-like: unrelated faces ~1.0 apart
    match, review = DLIB_THRESHOLDS.match, DLIB_THRESHOLDS.review
    shows_her = publish(c, maker, "a walk in the park", [rng.normal(0, 0.09, 128),
                                                        at_distance(face, match * 0.5, rng)])
    nearly = publish(c, maker, "a day at the beach", [at_distance(face, (match + review) / 2,
                                                                  rng)])
    stranger = publish(c, maker, "a busy market", [rng.normal(0, 0.09, 128)])
    nobody = publish(c, maker, "a lighthouse at dusk", [])
    not_kept = publish(c, maker, "a crowded square", [at_distance(face, 0.1, rng)], keep=False)

    verify(c, bea, face)
    c.app.run_retroactive_scans()

    scan = person_scan(c, bea)
    assert (scan["subject_kind"], scan["finished"], scan["checked"], scan["total"]) == (
        "person", True, 5, 5), scan
    assert scan["unchecked"] == 1, "the video whose scan kept no templates is not passed"
    found = {UUID(m["generation_id"]): (m["method"], m["decision"], m["action"])
             for m in scan["matches"]}
    near_action = "track" if policy == "track" else "review"  # a near match is never blocked
    assert found == {shows_her: ("face", "match", policy),
                     nearly: ("face", "review", near_action)}
    states = {gid: c.app.get(Generation, gid).state
              for gid in (shows_her, nearly, stranger, nobody, not_kept)}
    assert states == {gid: State.TAKEN_DOWN if (gid, policy) == (shows_her, "block")
                      else State.PUBLISHED for gid in states}
    if policy == "block":  # the author, apps and webhooks see the cause: not who she is
        cause = c.app.get(Generation, shows_her).takedown_cause
        assert (cause["kind"], cause["method"]) == ("retroactive", "face")
        assert bea.id not in str(cause)
    cases = {gid: len(c.app.get(Generation, gid).case_ids) for gid in (shows_her, nearly)}
    assert cases == {shows_her: int(policy == "review"), nearly: int(policy != "track")}
    assert c.app.person_retroactive_scans(bea)["match_policy"] == policy
    assert c.app.run_retroactive_scans() == [], "finished: a second run does nothing"


def test_a_held_verification_waits_and_an_erased_one_compares_nothing(container: Container):
    c, rng = container, np.random.default_rng(8)
    world = World(c.app)
    maker, ada, bea = world.member("maker"), world.member("ada", verified=False), \
        world.member("bea", verified=False)
    face = rng.normal(0, 0.09, 128)
    publish(c, maker, "a walk in the park", [at_distance(face, 0.1, rng)])
    verify(c, ada, face)
    c.app.run_retroactive_scans()
    # bea verifies with ada's face: held as a possible duplicate, her scan waits for it
    challenge = c.app.start_verification(bea)
    c.app.submit_verification(bea, challenge["nonce"], "e" * 64)
    sealed = c.vault.seal(str(identity_id(UUID(bea.id))), template(face))
    assert c.app.complete_verification(
        WORKER, UUID(bea.id), sealed, MODEL_ID, 0.9, 0.95,
        duplicates=[(identity_id(UUID(ada.id)), 0.1)]) == "held"
    c.app.run_retroactive_scans()
    assert c.app.person_retroactive_scans(bea)["items"] == []

    # erased before the scan ran: no scan for a face that is gone
    carl = world.member("carl", verified=False)
    verify(c, carl, at_distance(face, 0.1, rng))
    erase_identity(c.app, c.face_index, carl, UUID(carl.id))
    c.app.run_retroactive_scans()
    assert c.app.person_retroactive_scans(carl)["items"] == []


def test_videos_scanned_after_she_verified_are_not_decided_again(container: Container):
    """Their own scan compared her face (she was in the index): the retroactive one
    covers the videos scanned before her verification only."""
    c, rng = container, np.random.default_rng(11)
    world = World(c.app)
    maker, bea = world.member("maker"), world.member("bea", verified=False)
    face = rng.normal(0, 0.09, 128)
    before = publish(c, maker, "a walk in the park", [at_distance(face, 0.1, rng)])
    verify(c, bea, face)
    publish(c, maker, "a day at the beach", [at_distance(face, 0.1, rng)])
    c.app.run_retroactive_scans()

    scan = person_scan(c, bea)
    assert (scan["checked"], scan["total"], scan["unchecked"]) == (2, 2, 0), scan
    assert [m["generation_id"] for m in scan["matches"]] == [str(before)]


def test_a_deleted_video_takes_its_kept_face_templates_with_it(container: Container):
    c, rng = container, np.random.default_rng(9)
    maker = World(c.app).member("maker")
    face = rng.normal(0, 0.09, 128)
    gid = publish(c, maker, "a walk in the park", [face])
    sealed = c.app.events.get(gid)
    [kept] = next(e for e in sealed if isinstance(e, Generation.Scanned)).sealed_tracks
    opened = c.vault.open(generation_key(gid), kept)
    assert opened is not None and opened.distance(template(face)) < 1e-6  # float32 kept

    c.app.delete_generation(maker, gid)
    c.face_index.catch_up()  # the follower that shreds, in this process as in every other

    assert c.key_store.get(generation_key(gid)) is None
    assert c.vault.open(generation_key(gid), kept) is None


def test_a_public_figures_likeness_registered_later_finds_the_videos_showing_that_face(
        container: Container):
    """A likeness work's reference face against the face tracks the videos' scans kept."""
    c, rng = container, np.random.default_rng(10)
    world = World(c.app)
    maker, holder = world.member("maker"), world.rights_holder("Star Agency")
    face = rng.normal(0, 0.09, 128)
    shows_her = publish(c, maker, "a red carpet at night", [at_distance(face, 0.1, rng)])
    stranger = publish(c, maker, "a quiet street", [rng.normal(0, 0.09, 128)])
    not_kept = publish(c, maker, "a premiere", [at_distance(face, 0.1, rng)], keep=False)

    work_id = UUID(c.app.register_work(holder, "Jane Starling", "likeness", (),
                                       match_policy="block"))
    sealed = c.vault.seal(likeness_key(work_id), template(face))
    c.app.add_work_reference(holder, work_id, "f" * 64, "image/png", {}, "", sealed, MODEL_ID)
    c.app.run_retroactive_scans()

    scans = {s["trigger"].split(":")[0]: s for s in c.app.retroactive_scans(holder, work_id)}
    reference = scans["reference"]
    assert (reference["finished"], reference["checked"], reference["unchecked"]) == (
        True, 3, 1), reference
    assert [(m["generation_id"], m["method"], m["decision"], m["action"])
            for m in reference["matches"]] == [(str(shows_her), "face", "match", "block")]
    assert {gid: c.app.get(Generation, gid).state for gid in (shows_her, stranger, not_kept)} \
        == {shows_her: State.TAKEN_DOWN, stranger: State.PUBLISHED, not_kept: State.PUBLISHED}
