"""Reading media under bounds: a container and codec allow-list, and limits on bytes,
duration, frame count, every frame's size and the pixels decoded in all, checked as each
frame is decoded (never only against the first header). Frames are scaled down as they
arrive, to one size, so memory stays bounded whatever the stream declares."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import av.error
import numpy as np

from domain.errors import (
    MediaLimitsExceededError,
    MediaTooLargeError,
    UnreadableMediaError,
    UnsupportedMediaTypeError,
)

# FFmpeg's demuxer names for the media types we take: a body must be what it says it is.
CONTAINERS: dict[str, frozenset[str]] = {
    "video/mp4": frozenset({"mov,mp4,m4a,3gp,3g2,mj2"}),
    "video/quicktime": frozenset({"mov,mp4,m4a,3gp,3g2,mj2"}),
    "video/webm": frozenset({"matroska,webm"}),
}
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
AUDIO_CODECS = frozenset({"aac", "opus", "vorbis", "mp3", "flac", "pcm_s16le", "pcm_f32le"})


@dataclass(frozen=True)
class MediaLimits:
    """What one upload may cost. `max_decoded_pixels` bounds the decoding work (the sum of
    every decoded frame's pixels), which a flood of tiny frames or a long clip would
    otherwise make unbounded; `fit_lines` is the short side frames are scaled to."""

    max_bytes: int = 100 * 1024 * 1024
    max_seconds: float = 120.0
    max_frames: int = 120 * 60
    max_side: int = 3840
    max_frame_pixels: int = 3840 * 2160
    max_decoded_pixels: int = 120 * 30 * 1920 * 1088
    fit_lines: int = 720
    media_types: frozenset[str] = frozenset(CONTAINERS)
    video_codecs: frozenset[str] = VIDEO_CODECS
    audio_codecs: frozenset[str] = AUDIO_CODECS


@dataclass
class MediaSummary:
    """What reading found, for the caller's accounting (the seconds decoded are what a
    weighted rate limit charges)."""

    container: str = ""
    rate: float = 30.0  # the stream's frame rate, as it declares it
    video_codec: str = ""
    audio_codec: str = ""
    frames: int = 0
    seconds: float = 0.0
    largest: tuple[int, int] = (0, 0)
    decoded_pixels: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)


def open_media(data: bytes, media_type: str | None, limits: MediaLimits) -> Any:
    """The opened container, once the size, container and codecs are allowed; the caller
    closes it. `media_type` None: any container of the allowed types. Raises the domain's
    media errors (413, 415, 422)."""
    if len(data) > limits.max_bytes:
        raise MediaTooLargeError(f"the upload is {len(data)} bytes; the limit is "
                                 f"{limits.max_bytes}", limit=limits.max_bytes)
    if not data:
        raise UnreadableMediaError("the upload is empty")
    if media_type is not None and media_type not in limits.media_types:
        raise UnsupportedMediaTypeError("this endpoint takes these media types",
                                        allowed=sorted(limits.media_types))
    expected = CONTAINERS[media_type] if media_type is not None else frozenset().union(
        *(CONTAINERS[t] for t in limits.media_types))
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UnreadableMediaError(f"the upload does not decode: {exc}") from None
    try:
        if container.format.name not in expected:
            raise UnsupportedMediaTypeError(
                f"the body is {container.format.name}, not {media_type or 'a video'}",
                container=container.format.name)
        if not container.streams.video:
            raise UnreadableMediaError("the upload has no video stream")
        video = container.streams.video[0].codec_context.name
        if video not in limits.video_codecs:
            raise UnsupportedMediaTypeError(f"video codec {video!r} is not accepted",
                                            allowed=sorted(limits.video_codecs))
        for stream in container.streams.audio:
            if stream.codec_context.name not in limits.audio_codecs:
                raise UnsupportedMediaTypeError(
                    f"audio codec {stream.codec_context.name!r} is not accepted",
                    allowed=sorted(limits.audio_codecs))
    except BaseException:
        container.close()
        raise
    return container


def read_frames(data: bytes, media_type: str | None, limits: MediaLimits, *,
                fps: float | None = None, fmt: str = "rgb24",
                summary: MediaSummary | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds, frame) for every frame (or about `fps` per second), each checked against
    the limits as it is decoded and scaled to one output size: the first frame's, brought
    down to `limits.fit_lines` on its short side. `fmt`: "rgb24" or "gray"."""
    summary = summary if summary is not None else MediaSummary()
    with open_media(data, media_type, limits) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        summary.container, summary.video_codec = container.format.name, stream.codec_context.name
        if container.streams.audio:
            summary.audio_codec = container.streams.audio[0].codec_context.name
        rate = float(stream.average_rate or stream.guessed_rate or 0) or 30.0
        summary.rate = rate
        out: tuple[int, int] | None = None
        next_time = 0.0
        try:
            for decoded in container.decode(stream):
                seconds = float(decoded.time) if decoded.time is not None \
                    else summary.frames / rate
                _count(decoded, seconds, limits, summary)
                if fps is not None:
                    if seconds + 1e-6 < next_time:
                        continue
                    next_time += (1.0 / fps) * max(1, int((seconds - next_time) * fps) + 1)
                out = out or fitted(decoded.width, decoded.height, limits.fit_lines)
                picture = decoded if (decoded.width, decoded.height) == out \
                    else decoded.reformat(out[0], out[1], interpolation="AREA")
                yield seconds, picture.to_ndarray(format=fmt)
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(f"the upload is corrupt: {exc}") from None
    if summary.frames == 0:
        raise UnreadableMediaError("the upload has no frames")


def _count(frame: Any, seconds: float, limits: MediaLimits, summary: MediaSummary) -> None:
    width, height = frame.width, frame.height
    if width <= 0 or height <= 0:
        raise UnreadableMediaError("a frame has no size")
    # Each refusal says how many seconds were decoded before it: what it cost.
    if max(width, height) > limits.max_side or width * height > limits.max_frame_pixels:
        raise MediaLimitsExceededError(
            f"a {width}x{height} frame is larger than allowed "
            f"({limits.max_side} px a side, {limits.max_frame_pixels} pixels)",
            frame=summary.frames, seconds_decoded=round(summary.seconds, 2))
    summary.frames += 1
    summary.seconds = max(summary.seconds, seconds)
    summary.decoded_pixels += width * height
    summary.sizes.add((width, height))
    if width * height > summary.largest[0] * summary.largest[1]:
        summary.largest = (width, height)
    spent = round(summary.seconds, 2)
    if summary.frames > limits.max_frames:
        raise MediaLimitsExceededError(f"more than {limits.max_frames} frames",
                                       seconds_decoded=spent)
    if seconds > limits.max_seconds:
        raise MediaLimitsExceededError(f"longer than {limits.max_seconds:g} s",
                                       seconds_decoded=spent)
    if summary.decoded_pixels > limits.max_decoded_pixels:
        raise MediaLimitsExceededError("more decoding work than allowed",
                                       limit_pixels=limits.max_decoded_pixels,
                                       seconds_decoded=spent)


def sampled(frames: Iterable[np.ndarray], keep: int | None) -> tuple[list[np.ndarray], int]:
    """Evenly spaced frames of a stream of unknown length, in bounded memory: every frame
    while fewer than `2 * keep` are held, then every other one of those and of what
    follows, and so on (None: every frame). Returns the frames and the stride between
    them."""
    kept: list[np.ndarray] = []
    stride = 1
    for index, frame in enumerate(frames):
        if index % stride:
            continue
        kept.append(frame)
        if keep and len(kept) >= 2 * keep:
            kept, stride = kept[::2], stride * 2
    return kept, stride


def fitted(width: int, height: int, lines: int) -> tuple[int, int]:
    """(width, height) with the short side brought down to `lines` (even sizes; never up)."""
    if min(width, height) <= lines:
        return width & ~1 or 2, height & ~1 or 2
    scale = lines / min(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def audio_samples(data: bytes, media_type: str | None, limits: MediaLimits,
                  rate: int = 16_000) -> np.ndarray | None:
    """The first audio stream as mono float32 at `rate` (None: no audio), at most
    `limits.max_seconds` of it."""
    with open_media(data, media_type, limits) as container:
        if not container.streams.audio:
            return None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: list[np.ndarray] = []
        kept, cap = 0, int(limits.max_seconds * rate)
        try:
            for frame in container.decode(container.streams.audio[0]):
                for mono in resampler.resample(frame):
                    chunk = mono.to_ndarray().reshape(-1)
                    kept += chunk.size
                    if kept > cap:
                        raise MediaLimitsExceededError(
                            f"audio longer than {limits.max_seconds:g} s")
                    chunks.append(chunk)
            for mono in resampler.resample(None):
                chunks.append(mono.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(f"the audio is corrupt: {exc}") from None
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
