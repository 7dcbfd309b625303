"""The protected-work scan on real photos and real H.264: a rights holder's reference is
found in a clip that shows it after re-encoding, downscaling and brightening (also mirrored,
pillarboxed, or as part of a reference clip); an unrelated clip is not; a withdrawn work is
forgotten; and the index rebuilt from the events matches exactly as the live one."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import numpy as np
import pytest

from adapters.bootstrap import bootstrap
from adapters.reference_index import MediaScan, build_media_scan
from adapters.settings import Settings
from domain.errors import UnreadableMediaError
from domain.faces import MatchDecision
from domain.media_scan import EMBEDDING, PDQ, SafetyDecision
from inference.perceptual import PdqReferenceHasher
from tests.fakes import World
from tests.work_media import clip, degrade, filled, photo, pillarboxed, png, sampled

pytestmark = pytest.mark.integration

HASHER = PdqReferenceHasher()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return photo("astronaut")


@pytest.fixture(scope="module")
def shows_astronaut(astronaut: np.ndarray) -> bytes:
    """4 s: a cup of coffee, the astronaut from 1 s to 3 s, a cat; then degraded."""
    return degrade(clip([(filled(photo("coffee")), 1.0), (filled(astronaut), 2.0),
                         (filled(photo("chelsea")), 1.0)]))


@pytest.fixture(scope="module")
def unrelated() -> bytes:
    return degrade(clip([(filled(photo("chelsea")), 2.0), (filled(photo("coffee")), 2.0)]))


class Studio:
    def __init__(self, tmp_path: Path, store: str = "memory") -> None:
        self.settings = Settings(store=store, data_dir=tmp_path)
        self.container = bootstrap(self.settings)
        self.app, self.blobs = self.container.app, self.container.blobs
        self.world = World(self.app)
        self.holder = self.world.rights_holder()

    def work(self, title: str, *images: bytes) -> UUID:
        work_id, _ = self.world.work(self.holder, title)
        for media in images:
            digest = self.blobs.put(media, "image/png")
            self.app.add_work_reference(self.holder, work_id, digest, "image/png",
                                        HASHER.hash_reference(media, "image/png"))
        return work_id

    def scan(self) -> MediaScan:
        return build_media_scan(self.settings, self.app, self.blobs)


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    studio = Studio(tmp_path)
    yield studio
    studio.container.close()


def test_a_reference_image_is_hashed_with_its_mirror_and_centre(astronaut):
    hashes = HASHER.hash_reference(png(astronaut), "image/png")
    assert set(hashes) == {"pdq/f0/original", "pdq/f0/mirror", "pdq/f0/crop"}
    assert all(len(value) == 64 for value in hashes.values())
    assert len(set(hashes.values())) == 3


def test_a_plain_picture_has_no_hash_and_garbage_does_not_decode():
    assert HASHER.hash_reference(png(np.full((64, 64, 3), 200, np.uint8)), "image/png") == {}
    with pytest.raises(UnreadableMediaError):
        HASHER.hash_reference(b"\x89PNG\r\n\x1a\n not really", "image/png")
    with pytest.raises(UnreadableMediaError):
        HASHER.hash_reference(b"\x00\x00\x00\x18ftypmp42 broken", "video/mp4")


def test_the_reference_is_found_in_the_frames_that_show_it(studio, astronaut, shows_astronaut):
    work_id = studio.work("Astronaut Poster", png(astronaut))
    studio.work("Coffee Cup Ad", png(photo("rocket")))
    report = studio.scan().works.scan(sampled(shows_astronaut))
    assert [(m.work_id, m.method, m.decision) for m in report.matches] == \
        [(work_id, PDQ, MatchDecision.MATCH)]
    match = report.matches[0]
    assert match.frames_matched >= 3 and match.score > 1 - 31 / 256
    assert all(1.0 <= s < 3.0 for s in match.seconds)
    assert report.frames_sampled == 8 and report.unchecked == (EMBEDDING,)


def test_an_unrelated_clip_matches_nothing(studio, astronaut, unrelated):
    studio.work("Astronaut Poster", png(astronaut))
    studio.work("Rocket Launch", png(photo("rocket")))
    report = studio.scan().works.scan(sampled(unrelated))
    assert report.matches == () and report.decision is MatchDecision.NO_MATCH
    assert report.frames_usable == report.frames_sampled == 8


@pytest.mark.parametrize("frame", [
    pytest.param(lambda image: filled(image[:, ::-1]), id="mirrored"),
    pytest.param(pillarboxed, id="pillarboxed"),
])
def test_a_mirrored_or_pillarboxed_showing_still_matches(studio, astronaut, frame):
    work_id = studio.work("Astronaut Poster", png(astronaut))
    mp4 = degrade(clip([(frame(astronaut), 2.0)]))
    report = studio.scan().works.scan(sampled(mp4))
    assert [(m.work_id, m.decision) for m in report.matches] == \
        [(work_id, MatchDecision.MATCH)]


def test_a_reference_clip_is_hashed_frame_by_frame_and_matches_a_clip_quoting_it(studio):
    rocket, cat = filled(photo("rocket")), filled(photo("chelsea"))
    reference_clip = clip([(rocket, 2.0), (cat, 2.0)])
    hashes = HASHER.hash_reference(reference_clip, "video/mp4")
    times = {key.split("/")[1] for key in hashes}
    assert len(times) >= 2 and all(t.startswith("t") for t in times)
    work_id, _ = studio.world.work(studio.holder, "Rocket Documentary")
    studio.app.add_work_reference(studio.holder, work_id, "f" * 64, "video/mp4", hashes)
    quote = degrade(clip([(filled(photo("coffee")), 1.0), (cat, 2.0)]))
    report = studio.scan().works.scan(sampled(quote))
    assert [(m.work_id, m.decision) for m in report.matches] == \
        [(work_id, MatchDecision.MATCH)]
    assert all(s >= 1.0 for s in report.matches[0].seconds)


def test_a_withdrawn_work_stays_matched_so_that_nothing_licenses_it(studio, astronaut,
                                                                     shows_astronaut):
    work_id = studio.work("Astronaut Poster", png(astronaut))
    scanner = studio.scan().works
    frames = sampled(shows_astronaut)
    assert [m.work_id for m in scanner.scan(frames).matches] == [work_id]
    studio.app.withdraw_work(studio.holder, work_id, "licence ended")
    assert [m.work_id for m in scanner.scan(frames).matches] == [work_id]


def test_a_reference_added_after_start_is_caught_up_and_a_rebuild_agrees(tmp_path, astronaut,
                                                                        shows_astronaut):
    studio = Studio(tmp_path, store="sqlite")
    try:
        running = studio.scan()
        frames = sampled(shows_astronaut)
        assert running.works.scan(frames).matches == ()
        first = studio.work("Astronaut Poster", png(astronaut))
        studio.work("Rocket", png(photo("rocket")))
        live = running.works.scan(frames)
        assert [m.work_id for m in live.matches] == [first]
        assert running.follower.catch_up() == 0  # nothing new: one cheap query
        rebuilt = studio.scan()
        assert len(rebuilt.follower.pdq) == len(running.follower.pdq) == 2
        assert rebuilt.works.scan(frames) == live
    finally:
        studio.container.close()


def test_without_a_checkpoint_embeddings_are_unchecked_and_safety_holds_for_review(
        tmp_path, astronaut):
    for checkpoint in ("", str(tmp_path / "missing.safetensors")):
        settings = Settings(store="memory", data_dir=tmp_path, clip_checkpoint=checkpoint)
        container = bootstrap(settings)
        media = build_media_scan(settings, container.app, container.blobs)
        assert dict(media.works.configured) == {PDQ: True, EMBEDDING: False}
        assert not media.embedder.configured
        assert media.embedder.embed_reference(png(astronaut), "image/png") is None
        safety = media.safety.scan([(0.0, astronaut)])
        # what is installed runs (NudeNet with the `nudity` extra), the rest holds
        nudity = importlib.util.find_spec("nudenet") is not None
        assert (safety.configured, safety.decision) == (nudity, SafetyDecision.REVIEW)
        assert (checkpoint or "CONSENTRY_CLIP_CHECKPOINT") in safety.reason
        assert "violence" in safety.reason
        container.close()
