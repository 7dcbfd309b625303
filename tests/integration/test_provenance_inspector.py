"""The lookup's reading of an upload through the real decoder (the sample the media intake
takes in its sandbox, run here in process), watermark and C2PA signer: formats, public
limits and the bounded decode."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image
from skimage import data

from adapters.c2pa_signing import C2paProvenanceSigner, ephemeral_development_credentials
from adapters.media_intake import decode_sample
from adapters.provenance_lookup import ProvenanceInspector, check_media_type
from adapters.video_io import PyAvVideoCodec, encode_video
from api.controllers.provenance import KEEP_FRAMES, LOOKUP_LIMITS
from domain.errors import MediaLimitsExceededError, UnsupportedMediaTypeError
from inference.watermark import DctSpreadSpectrumWatermarker

pytestmark = pytest.mark.integration
SERIAL = bytes.fromhex("feedc0de0042")
FPS = 24.0


@pytest.fixture(scope="module")
def inspector() -> ProvenanceInspector:
    return ProvenanceInspector(DctSpreadSpectrumWatermarker(b"inspector-test-key-0123456789"),
                               C2paProvenanceSigner(ephemeral_development_credentials()))


def clip(frames: int = 36, size: tuple[int, int] = (360, 640)) -> np.ndarray:
    height, width = size
    big = np.asarray(Image.fromarray(data.chelsea()).resize((width + 2 * frames, height)))
    return np.stack([big[:, 2 * t : 2 * t + width] for t in range(frames)])


def test_a_webm_copy_is_read_by_its_watermark_alone(inspector: ProvenanceInspector):
    marked = inspector.watermarker.embed(clip(), SERIAL)
    webm = encode_video(marked, FPS, codec="libvpx-vp9", crf=36, container_format="webm")
    sample = decode_sample(webm, "video/webm", LOOKUP_LIMITS, keep=KEEP_FRAMES, luma=True)
    evidence = inspector.evidence(webm, "video/webm", sample.frames)
    assert evidence.reading.payload == SERIAL and evidence.manifest is None


def test_uploads_past_the_public_limits_are_refused_with_a_stable_code():
    mp4 = PyAvVideoCodec.encode_h264(clip(frames=24), FPS, preset="veryfast")
    strict = dataclasses.replace(LOOKUP_LIMITS, max_seconds=0.5)
    with pytest.raises(MediaLimitsExceededError) as refused:
        decode_sample(mp4, "video/mp4", strict, keep=KEEP_FRAMES, luma=True)
    assert refused.value.code == "media-limits-exceeded" and refused.value.status == 422
    with pytest.raises(UnsupportedMediaTypeError):
        check_media_type("image/gif")


def test_the_decode_keeps_a_bounded_sample_of_scaled_down_luma_frames():
    frames = np.zeros((60, 720, 1280, 3), dtype=np.uint8)
    frames[:, :, :, 1] = np.linspace(0, 255, 1280, dtype=np.uint8)[None, None, :]
    mp4 = PyAvVideoCodec.encode_h264(frames, FPS, preset="ultrafast")
    decoded = PyAvVideoCodec().decode(mp4, luma_only=True, keep_frames=8, fit_lines=360)
    assert 8 <= decoded.frames.shape[0] < 16
    assert decoded.frames.shape[1:] == (360, 640)
    assert decoded.fps == pytest.approx(FPS * decoded.frames.shape[0] / 60, rel=0.3)
