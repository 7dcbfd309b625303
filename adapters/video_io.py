"""Video decode and encode through PyAV (FFmpeg): decode uploads under size, duration,
resolution and codec limits; encode H.264 yuv420p MP4 with faststart for publication."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

DEFAULT_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})


class VideoDecodeError(ValueError):
    """The input is not a video we can decode."""


class VideoLimitError(VideoDecodeError):
    """The input is a video, but larger, longer or of a kind the limits do not allow."""


@dataclass(frozen=True)
class DecodeLimits:
    """Upper bounds checked before and during decoding, so that a hostile upload cannot
    make the worker decode for minutes or allocate gigabytes."""

    max_bytes: int = 200 * 1024 * 1024
    max_seconds: float = 120.0
    max_width: int = 3840
    max_height: int = 3840
    max_pixels: int = 3840 * 2160
    allowed_codecs: frozenset[str] = DEFAULT_CODECS


@dataclass(frozen=True)
class DecodedVideo:
    """Frames in display order as one uint8 array, (N, H, W, 3) RGB or (N, H, W) luma."""

    frames: np.ndarray
    fps: float

    @property
    def duration(self) -> float:
        return self.frames.shape[0] / self.fps if self.fps else 0.0


class PyAvVideoCodec:
    """Decodes and encodes video with PyAV, FFmpeg's Python binding.

    Why PyAV: it links FFmpeg's libraries in-process (no subprocess, no temporary files),
    ships wheels with libx264 and libvpx, and decodes straight into numpy arrays.
    """

    def __init__(self, limits: DecodeLimits | None = None) -> None:
        self.limits = limits or DecodeLimits()

    def decode(self, source: bytes | Path, *, luma_only: bool = False,
               keep_frames: int | None = None, fit_lines: int | None = None) -> DecodedVideo:
        """Decode all frames of the first video stream, enforcing the limits.

        For readers that need a sample, not the film (a watermark detector): `keep_frames`
        keeps about that many evenly spaced frames (between it and twice it) and
        `fit_lines` scales frames down so the short side has at most that many lines, so
        memory stays bounded whatever the upload."""
        limits = self.limits
        size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
        if size > limits.max_bytes:
            raise VideoLimitError(f"video is {size} bytes, limit is {limits.max_bytes}")
        handle = io.BytesIO(source) if isinstance(source, bytes) else str(source)
        try:
            container = av.open(handle, mode="r")
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise VideoDecodeError(f"not a readable video: {exc}") from exc
        with container:
            if not container.streams.video:
                raise VideoDecodeError("no video stream")
            stream = container.streams.video[0]
            self._check_stream(stream)
            fps = float(stream.average_rate or stream.guessed_rate or 0) or 30.0
            max_frames = int(limits.max_seconds * fps) + 1
            fmt = "gray" if luma_only else "rgb24"
            scaled = _fitted(stream.codec_context.width, stream.codec_context.height, fit_lines)
            frames: list[np.ndarray] = []
            decoded, stride = 0, 1
            try:
                for frame in container.decode(stream):
                    if frame.time is not None and frame.time > limits.max_seconds:
                        raise VideoLimitError(
                            f"video is longer than {limits.max_seconds} s"
                        )
                    if decoded >= max_frames:
                        raise VideoLimitError(f"video has more than {max_frames} frames")
                    decoded += 1
                    if (decoded - 1) % stride:
                        continue
                    picture = frame if scaled is None else frame.reformat(
                        scaled[0], scaled[1], interpolation="AREA")
                    frames.append(picture.to_ndarray(format=fmt))
                    if keep_frames and len(frames) >= 2 * keep_frames:
                        frames, stride = frames[::2], stride * 2
            except av.error.FFmpegError as exc:
                raise VideoDecodeError(f"corrupt video: {exc}") from exc
        if not frames:
            raise VideoDecodeError("video has no frames")
        return DecodedVideo(np.stack(frames), fps / stride)

    def _check_stream(self, stream: av.video.stream.VideoStream) -> None:
        limits = self.limits
        codec = stream.codec_context.name
        if codec not in limits.allowed_codecs:
            raise VideoLimitError(f"codec {codec!r} is not allowed")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise VideoDecodeError("video has no frame size")
        if width > limits.max_width or height > limits.max_height:
            raise VideoLimitError(
                f"{width}x{height} exceeds {limits.max_width}x{limits.max_height}"
            )
        if width * height > limits.max_pixels:
            raise VideoLimitError(f"{width}x{height} exceeds {limits.max_pixels} pixels")
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
            if seconds > limits.max_seconds:
                raise VideoLimitError(f"video lasts {seconds:.1f} s, limit {limits.max_seconds}")

    @staticmethod
    def encode_h264(
        frames: np.ndarray,
        fps: float,
        *,
        crf: int = 20,
        preset: str = "medium",
    ) -> bytes:
        """Encode uint8 RGB frames (N, H, W, 3) as H.264 yuv420p MP4 with the index at the
        front (faststart), so that players can start before the download ends."""
        return encode_video(frames, fps, codec="libx264", crf=crf, preset=preset)


def _fitted(width: int, height: int, lines: int | None) -> tuple[int, int] | None:
    """The (width, height) that brings the short side down to `lines` (even sizes), or None
    when the frame is small enough already."""
    if not lines or min(width, height) <= lines:
        return None
    scale = lines / min(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def encode_video(
    frames: np.ndarray,
    fps: float,
    *,
    codec: str = "libx264",
    crf: int = 20,
    preset: str = "medium",
    container_format: str = "mp4",
) -> bytes:
    """Encode uint8 RGB frames into an in-memory file. libx264 and libvpx-vp9 are the two
    codecs used here; yuv420p needs even sizes, so odd edges are cropped by one pixel."""
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError("frames must be uint8 (N, H, W, 3)")
    # faststart rewrites the file after the last packet by reopening it by name, which an
    # in-memory buffer cannot do; a private temporary file can.
    with tempfile.TemporaryDirectory(prefix="consentry-encode-") as folder:
        path = Path(folder) / f"out.{container_format}"
        _encode_to(path, frames, fps, codec, crf, preset, container_format)
        return path.read_bytes()


def _encode_to(
    path: Path,
    frames: np.ndarray,
    fps: float,
    codec: str,
    crf: int,
    preset: str,
    container_format: str,
) -> None:
    height, width = frames.shape[1] & ~1, frames.shape[2] & ~1
    options = {"movflags": "+faststart"} if container_format == "mp4" else {}
    with av.open(str(path), mode="w", format=container_format, options=options) as container:
        rate = Fraction(fps).limit_denominator(1001)
        stream = container.add_stream(codec, rate=rate)
        if not isinstance(stream, av.video.stream.VideoStream):
            raise ValueError(f"{codec} is not a video codec")
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(crf), "preset": preset}
        elif codec == "libvpx-vp9":
            # Constant-quality mode needs the bitrate set to zero; deadline/cpu-used keep
            # the encoder usable on a small CPU.
            stream.options = {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8"}
        for array in frames:
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(array[:height, :width]), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
