"""A hostile-media corpus built in the tests: each file is small, and each one attacks a
limit a decoder that trusts headers would not enforce."""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import av
import numpy as np

from adapters.video_io import encode_video


def _frames(count: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), np.uint8)


def resolution_switch(small: int = 64, large: tuple[int, int] = (4096, 2304)) -> bytes:
    """WebM/VP9 that starts with a few tiny frames, then switches to large ones: the first
    header says 64x64."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="webm") as out:
        stream = out.add_stream("libvpx-vp9", rate=10)
        stream.width, stream.height, stream.pix_fmt = small, small, "yuv420p"
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for i, array in enumerate(_frames(5, small)):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        big = av.CodecContext.create("libvpx-vp9", "w")
        big.width, big.height, big.pix_fmt = large[0], large[1], "yuv420p"
        big.time_base = Fraction(1, 10)
        big.options = {"deadline": "realtime", "cpu-used": "8"}
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(
                np.full((large[1], large[0], 3), 90, np.uint8), format="rgb24")
            frame.pts = 5 + i
            for packet in [*big.encode(frame), *(big.encode(None) if i == 2 else [])]:
                packet.stream = stream
                out.mux(packet)
    return buffer.getvalue()


def huge_frames(width: int = 4096, height: int = 2160) -> bytes:
    """Two H.264 frames, each larger than a public upload's frame budget."""
    return encode_video(np.full((2, height, width, 3), 60, np.uint8), 10, crf=40,
                        preset="ultrafast")


def many_tiny_frames(count: int = 8000) -> bytes:
    """More frames than any upload may have, each 16x16, at a high frame rate."""
    return encode_video(np.zeros((count, 16, 16, 3), np.uint8), 1000, crf=40,
                        preset="ultrafast")


def long_and_tiny(seconds: int = 200) -> bytes:
    """Longer than any upload may last, at 2 frames a second of 16x16."""
    return encode_video(np.zeros((seconds * 2, 16, 16, 3), np.uint8), 2, crf=40,
                        preset="ultrafast")


def small_clip() -> bytes:
    return encode_video(_frames(24, 64, seed=3), 12, crf=30, preset="veryfast")


def corrupt_packets() -> bytes:
    """A valid MP4 whose sample data is overwritten with noise."""
    data = bytearray(small_clip())
    start = data.index(b"mdat") + 58
    data[start:start + 1950] = np.random.default_rng(2).integers(
        0, 256, 1950).astype(np.uint8).tobytes()
    return bytes(data)


def absurd_sample_table() -> bytes:
    """A valid MP4 whose time-to-sample table claims two billion entries."""
    data = small_clip()
    at = data.index(b"stts") + 8
    return data[:at] + struct.pack(">I", 0x7FFFFFFF) + data[at + 4:]


def webm_clip() -> bytes:
    """A real WebM: sent as video/mp4, it is the wrong container for the content type."""
    return encode_video(_frames(6, 64, seed=4), 6, codec="libvpx-vp9", crf=40,
                        container_format="webm")


# Name, bytes builder, the content type it is sent as, and the problem code expected.
CORPUS = (
    ("resolution switch mid-stream", resolution_switch, "video/webm",
     "media-limits-exceeded"),
    ("frames larger than allowed", huge_frames, "video/mp4", "media-limits-exceeded"),
    ("many tiny frames", many_tiny_frames, "video/mp4", "media-limits-exceeded"),
    ("long duration at tiny size", long_and_tiny, "video/mp4", "media-limits-exceeded"),
    ("corrupt packets", corrupt_packets, "video/mp4", "unreadable-media"),
    ("wrong container for the content type", webm_clip, "video/mp4", "unsupported-media"),
    ("absurd sample table", absurd_sample_table, "video/mp4", "unreadable-media"),
)
