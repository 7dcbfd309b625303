"""Video decode and encode through PyAV (FFmpeg): decode uploads under size, duration,
resolution and codec limits; encode H.264 yuv420p MP4 with faststart for publication."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from domain.errors import (
    MediaLimitsExceededError,
    MediaTooLargeError,
    UnreadableMediaError,
    UnsupportedMediaTypeError,
)
from inference.media_reader import MediaLimits, MediaSummary, read_frames, sampled

DEFAULT_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})


class VideoDecodeError(ValueError):
    """The input is not a video we can decode."""


class VideoLimitError(VideoDecodeError):
    """The input is a video, but larger, longer or of a kind the limits do not allow."""


@dataclass(frozen=True)
class DecodeLimits:
    """Upper bounds checked for every decoded frame (not only against the first header), so
    that a hostile upload cannot make the decoder work for minutes or allocate gigabytes.
    `max_decoded_pixels`: the decoding work, all frames' pixels together."""

    max_bytes: int = 200 * 1024 * 1024
    max_seconds: float = 120.0
    max_width: int = 3840
    max_height: int = 3840
    max_pixels: int = 3840 * 2160
    allowed_codecs: frozenset[str] = DEFAULT_CODECS
    max_frames: int = 120 * 60
    max_decoded_pixels: int = 120 * 30 * 1920 * 1088

    def media_limits(self, fit_lines: int | None) -> MediaLimits:
        return MediaLimits(
            max_bytes=self.max_bytes, max_seconds=self.max_seconds, max_frames=self.max_frames,
            max_side=max(self.max_width, self.max_height), max_frame_pixels=self.max_pixels,
            max_decoded_pixels=self.max_decoded_pixels,
            fit_lines=fit_lines or max(self.max_width, self.max_height),
            video_codecs=self.allowed_codecs)


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
    ships wheels with libx264 and libvpx, and decodes straight into numpy arrays. Decoding
    goes through `inference.media_reader`, which checks every frame as it comes.
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
        if isinstance(source, Path):
            if source.stat().st_size > limits.max_bytes:
                raise VideoLimitError(f"video is larger than {limits.max_bytes} bytes")
            source = source.read_bytes()
        summary = MediaSummary()

        def checked() -> Iterator[np.ndarray]:
            for _, frame in read_frames(source, None, limits.media_limits(fit_lines),
                                        fmt="gray" if luma_only else "rgb24",
                                        summary=summary):
                self._check_size(summary)
                yield frame

        try:
            frames, stride = sampled(checked(), keep_frames)
        except (MediaTooLargeError, MediaLimitsExceededError) as exc:
            raise VideoLimitError(exc.detail) from None
        except UnsupportedMediaTypeError as exc:
            raise VideoLimitError(exc.detail) from None
        except UnreadableMediaError as exc:
            raise VideoDecodeError(exc.detail) from None
        return DecodedVideo(np.stack(frames), summary.rate / stride)

    def _check_size(self, summary: MediaSummary) -> None:
        width, height = summary.largest
        if width > self.limits.max_width or height > self.limits.max_height:
            raise VideoLimitError(f"{width}x{height} exceeds "
                                  f"{self.limits.max_width}x{self.limits.max_height}")

    @staticmethod
    def encode_h264(
        frames: np.ndarray,
        fps: float,
        *,
        crf: int = 20,
        preset: str = "medium",
        audio_from: bytes | None = None,
    ) -> bytes:
        """Encode uint8 RGB frames (N, H, W, 3) as H.264 yuv420p MP4 with the index at the
        front (faststart), so that players can start before the download ends; the first
        audio track of `audio_from` (an MP4), if any, is copied in as it is."""
        return encode_video(frames, fps, codec="libx264", crf=crf, preset=preset,
                            audio_from=audio_from)


def encode_video(
    frames: np.ndarray,
    fps: float,
    *,
    codec: str = "libx264",
    crf: int = 20,
    preset: str = "medium",
    container_format: str = "mp4",
    audio_from: bytes | None = None,
) -> bytes:
    """Encode uint8 RGB frames into an in-memory file. libx264 and libvpx-vp9 are the two
    codecs used here; yuv420p needs even sizes, so odd edges are cropped by one pixel.
    `audio_from`: a file whose first audio track is copied in, packets unchanged."""
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError("frames must be uint8 (N, H, W, 3)")
    # faststart rewrites the file after the last packet by reopening it by name, which an
    # in-memory buffer cannot do; a private temporary file can.
    with tempfile.TemporaryDirectory(prefix="consentry-encode-") as folder:
        path = Path(folder) / f"out.{container_format}"
        _encode_to(path, frames, fps, codec, crf, preset, container_format, audio_from)
        return path.read_bytes()


def _encode_to(
    path: Path,
    frames: np.ndarray,
    fps: float,
    codec: str,
    crf: int,
    preset: str,
    container_format: str,
    audio_from: bytes | None = None,
) -> None:
    height, width = frames.shape[1] & ~1, frames.shape[2] & ~1
    options = {"movflags": "+faststart"} if container_format == "mp4" else {}
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(av.open(io.BytesIO(audio_from), mode="r")) \
            if audio_from is not None else None
        container = stack.enter_context(
            av.open(str(path), mode="w", format=container_format, options=options))
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
        # Every stream is added before the first packet is written.
        original = source.streams.audio[0] if source and source.streams.audio else None
        copy = container.add_stream_from_template(original) if original else None
        for array in frames:
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(array[:height, :width]), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if source is not None and original is not None and copy is not None:
            for packet in source.demux(original):  # copied as they are, not re-encoded
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                packet.stream = copy
                container.mux(packet)
