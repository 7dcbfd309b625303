"""The composite and leaky generators: real H.264 clips of the requested shape, the same
bytes for the same request, and the cameos' (or the leaked person's) real faces found and
matched by the dlib analyzer in the frames."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace

import av
import cv2
import numpy as np
import pytest

from domain.faces import FaceTemplate, MatchDecision
from domain.generator import CameoReference, Generator, RenderRequest
from inference.composite_scene import caption_text, palette_name, scene_rng
from inference.faces_dlib import DlibFaceAnalyzer
from inference.generators import CompositeGenerator, LeakyGenerator
from inference.video_encode import encode_h264, move_index_to_front
from tests import face_media

pytestmark = pytest.mark.integration

PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "eileen": face_media.astronaut, "grace": face_media.grace_hopper}


@pytest.fixture(scope="module")
def analyzer() -> DlibFaceAnalyzer:
    return DlibFaceAnalyzer()


@pytest.fixture(scope="module")
def templates(analyzer: DlibFaceAnalyzer) -> dict[str, FaceTemplate]:
    """Each person's template from her own photo, not from anything the generator made."""
    result = {}
    for handle, photo in PHOTOS.items():
        image = photo()
        result[handle] = analyzer.embed(image, analyzer.detect(image)[:1])[0]
    return result


@pytest.fixture(scope="module")
def references(analyzer: DlibFaceAnalyzer) -> dict[str, CameoReference]:
    """Reference faces as the pipeline hands them over: a crop around the face with margin,
    PNG-encoded in memory."""
    result = {}
    for handle, photo in PHOTOS.items():
        image = photo()
        box = analyzer.detect(image)[0].box
        cx, cy, size = (box.left + box.right) / 2, (box.top + box.bottom) / 2, box.size
        top, bottom = max(0, int(cy - 1.1 * size)), min(image.shape[0], int(cy + 1.1 * size))
        left, right = max(0, int(cx - 0.9 * size)), min(image.shape[1], int(cx + 0.9 * size))
        ok, png = cv2.imencode(".png", cv2.cvtColor(image[top:bottom, left:right],
                                                    cv2.COLOR_RGB2BGR))
        assert ok
        result[handle] = CameoReference(owner_id=f"owner-{handle}", handle=handle,
                                        face_png=png.tobytes())
    return result


def request(prompt: str = "two friends surfing at the beach at sunset", seconds: float = 2.0,
            cameos: tuple[CameoReference, ...] = (), seed: int = 7, width: int = 640,
            height: int = 360, fps: int = 24) -> RenderRequest:
    return RenderRequest(generation_id="gen-1", prompt=prompt, seconds=seconds, width=width,
                         height=height, fps=fps, cameos=cameos, seed=seed)


def decode(mp4: bytes) -> tuple[list[np.ndarray], dict[str, object]]:
    with av.open(io.BytesIO(mp4), mode="r") as container:
        stream = container.streams.video[0]
        info: dict[str, object] = {
            "codec": stream.codec_context.name, "pix_fmt": stream.codec_context.pix_fmt,
            "rate": stream.average_rate, "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "seconds": float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base else 0.0}
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    return frames, info


def top_level_boxes(mp4: bytes) -> list[bytes]:
    kinds, pos = [], 0
    while pos + 8 <= len(mp4):
        size = int.from_bytes(mp4[pos:pos + 4], "big")
        kinds.append(mp4[pos + 4:pos + 8])
        pos += size
    return kinds


def matches(analyzer: DlibFaceAnalyzer, frame: np.ndarray,
            templates: dict[str, FaceTemplate]) -> dict[str, float]:
    """The people found in a frame who match a known template, with the face's width."""
    found = {}
    faces = analyzer.detect(frame)
    for face, template in zip(faces, analyzer.embed(frame, faces), strict=True):
        for handle, known in templates.items():
            if analyzer.thresholds.decide(known.distance(template)) is MatchDecision.MATCH:
                found[handle] = face.box.width
    return found


def sampled(frames: list[np.ndarray], count: int = 4) -> list[np.ndarray]:
    return [frames[i] for i in np.linspace(0, len(frames) - 1, count).round().astype(int)]


def test_composite_clip_is_faststart_h264_of_the_requested_length_size_and_rate(
        references: dict[str, CameoReference]):
    clip = CompositeGenerator().render(request(seconds=2.5, fps=24,
                                               cameos=(references["eileen"],)))
    frames, info = decode(clip.mp4)

    assert (clip.frames, clip.seconds, clip.width, clip.height) == (60, 2.5, 640, 360)
    assert clip.generator == "composite-v1"
    assert len(frames) == 60 and frames[0].shape == (360, 640, 3)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p" and info["rate"] == 24
    assert info["seconds"] == pytest.approx(2.5, abs=0.05)
    boxes = top_level_boxes(clip.mp4)
    assert boxes.index(b"moov") < boxes.index(b"mdat")
    # Real moving content, not a still: the frames differ and carry texture.
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5
    assert frames[30].std() > 20


def test_same_request_gives_the_same_bytes_and_another_seed_or_prompt_does_not(
        references: dict[str, CameoReference]):
    generator = CompositeGenerator()
    base = request(seconds=1.0, cameos=(references["grace"],))
    first, again = generator.render(base), generator.render(base)
    assert first.mp4 == again.mp4
    assert generator.render(replace(base, seed=8)).mp4 != first.mp4
    assert generator.render(replace(base, prompt="a quiet night in the snow")).mp4 != first.mp4


def test_odd_sizes_lose_a_pixel_and_say_so():
    clip = CompositeGenerator().render(request(seconds=0.5, width=321, height=181, fps=10))
    frames, _ = decode(clip.mp4)
    assert (clip.width, clip.height, clip.frames) == (320, 180, 5)
    assert frames[0].shape == (180, 320, 3)


def test_each_cameo_is_found_and_matches_her_own_photo(
        analyzer: DlibFaceAnalyzer, templates: dict[str, FaceTemplate],
        references: dict[str, CameoReference]):
    clip = CompositeGenerator().render(
        request(cameos=(references["eileen"], references["grace"])))
    frames, _ = decode(clip.mp4)
    for frame in sampled(frames):
        found = matches(analyzer, frame, templates)
        assert set(found) == {"eileen", "grace"}
        assert min(found.values()) >= 100, f"faces too small: {found}"


def test_the_cameos_move_between_frames(references: dict[str, CameoReference],
                                        analyzer: DlibFaceAnalyzer):
    clip = CompositeGenerator().render(request(seconds=3.0, cameos=(references["eileen"],)))
    frames, _ = decode(clip.mp4)
    boxes = [analyzer.detect(frame)[0].box for frame in (frames[0], frames[36])]
    shift = abs(boxes[0].left - boxes[1].left) + abs(boxes[0].top - boxes[1].top)
    assert 2 < shift < 80


def test_the_leaky_generator_shows_a_face_nobody_asked_for(
        analyzer: DlibFaceAnalyzer, templates: dict[str, FaceTemplate],
        references: dict[str, CameoReference]):
    leaky: Generator = LeakyGenerator(CompositeGenerator(), references["grace"].face_png)
    asked = request(cameos=(references["eileen"],))
    clip = leaky.render(asked)
    frames, _ = decode(clip.mp4)

    assert clip.generator == "leaky-test" and asked.cameos == (references["eileen"],)
    for frame in sampled(frames, 3):
        assert set(matches(analyzer, frame, templates)) == {"eileen", "grace"}


@pytest.mark.parametrize("prompt", ["a red car driving through a forest",
                                    "fireworks over the sea at night", "snowy mountain"])
def test_a_prompt_only_clip_shows_no_face(analyzer: DlibFaceAnalyzer, prompt: str):
    clip = CompositeGenerator().render(request(prompt=prompt, seconds=2.0))
    frames, _ = decode(clip.mp4)
    for frame in sampled(frames, 6):
        assert analyzer.detect(frame) == []


def test_an_unreadable_reference_face_is_refused():
    broken = CameoReference(owner_id="x", handle="broken", face_png=b"not an image")
    with pytest.raises(ValueError, match="broken"):
        CompositeGenerator().render(request(seconds=0.5, cameos=(broken,)))


def test_scenes_follow_the_prompt_words_and_captions_stay_ascii():
    rng = scene_rng("anything", 0)
    assert palette_name("Surfing at the BEACH", rng) == "sea"
    assert palette_name("a moonlit night", rng) == "night"
    assert caption_text("Crème brûlée on a café terrace in the sun") == \
        "Creme brulee on a cafe terrace ..."


def test_moving_the_index_to_the_front_keeps_every_frame():
    frames = [np.full((64, 96, 3), 20 * i, np.uint8) for i in range(10)]
    index_last = face_media.clip(frames, fps=12)  # PyAV into memory: `moov` comes last
    moved = move_index_to_front(index_last)
    assert top_level_boxes(index_last)[-1] == b"moov"
    assert top_level_boxes(moved).index(b"moov") < top_level_boxes(moved).index(b"mdat")
    assert move_index_to_front(moved) == moved
    before, after = decode(index_last)[0], decode(moved)[0]
    assert len(after) == 10 and all((a == b).all() for a, b in zip(before, after, strict=True))
    assert [float(frame.mean()) for frame in after] == pytest.approx(
        [20 * i for i in range(10)], abs=2)


def test_the_encoder_refuses_frames_of_the_wrong_shape():
    with pytest.raises(ValueError, match="expected"):
        encode_h264(iter([np.zeros((64, 64, 3), np.uint8)]), width=96, height=64, fps=12)


# -- the audio track --------------------------------------------------------------------
def soundtrack(mp4: bytes) -> np.ndarray:
    from inference.speech import decode_audio

    audio = decode_audio(mp4)
    assert audio is not None, "the clip has an audio track"
    return audio


def loud(audio: np.ndarray, start: float, end: float) -> float:
    """RMS level of a stretch of 16 kHz audio."""
    part = audio[int(start * 16_000):int(end * 16_000)]
    return float(np.sqrt(np.mean(part ** 2)))


def test_a_clip_without_recordings_has_a_silent_audio_track_of_its_length():
    clip = CompositeGenerator().render(request(seconds=2.0))
    audio = soundtrack(clip.mp4)
    assert audio.size == pytest.approx(2.0 * 16_000, abs=2048)
    assert float(np.abs(audio).max()) < 1e-3


def test_a_cameo_speaks_only_with_the_recording_a_test_lends_it_and_the_same_bytes_again(
        references: dict[str, CameoReference]):
    from tests.speech_media import spoken, wav

    speech, rate = spoken("one two three four", "en-us")
    eileen = references["eileen"]
    asked = request(seconds=2.5, cameos=(eileen,))
    silent = CompositeGenerator().render(asked)
    speaking = CompositeGenerator(voices={eileen.owner_id: wav(speech, rate)})
    clip = speaking.render(asked)

    assert float(np.abs(soundtrack(silent.mp4)).max()) < 1e-3
    audio = soundtrack(clip.mp4)
    assert loud(audio, 0.0, 0.2) < 1e-3, "the recording starts at 0.25 s"
    assert loud(audio, 0.3, 1.5) > 0.02
    assert speaking.render(asked).mp4 == clip.mp4


def test_the_leaky_generator_can_leak_a_voice_without_a_face(
        analyzer: DlibFaceAnalyzer, references: dict[str, CameoReference]):
    from tests.speech_media import spoken, wav

    speech, rate = spoken("seven eight nine", "en-us+f3")
    leaky: Generator = LeakyGenerator(CompositeGenerator(), leaked_voice_wav=wav(speech, rate))
    clip = leaky.render(request(seconds=2.0))
    frames, _ = decode(clip.mp4)

    assert clip.generator == "leaky-test"
    assert all(analyzer.detect(frame) == [] for frame in sampled(frames, 3))
    assert loud(soundtrack(clip.mp4), 0.3, 1.2) > 0.02
    with pytest.raises(ValueError, match="leaks"):
        LeakyGenerator(CompositeGenerator())
    with pytest.raises(ValueError, match="WAV"):
        CompositeGenerator(voices={"x": b"not a wav"}).render(request(
            seconds=0.5, cameos=(replace(references["grace"], owner_id="x"),)))
