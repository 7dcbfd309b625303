"""H.264 encoding for the generators, in memory from start to end: a rendered clip shows
cameo owners' faces, so it never touches the disk, not even as an encoder's temporary file."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from fractions import Fraction

import av
import numpy as np

# Boxes that hold other boxes on the way from `moov` down to the chunk-offset tables.
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"})


def encode_h264(frames: Iterable[np.ndarray], *, width: int, height: int, fps: int,
                crf: int = 18, preset: str = "veryfast", audio: np.ndarray | None = None,
                audio_rate: int = 16_000) -> tuple[bytes, int]:
    """Encode uint8 RGB frames of `height` x `width` (both even: yuv420p halves chroma) as an
    MP4 with its index in front, and count them. Frames may be a generator, so a clip is
    never held in memory twice. CRF 18 because the gate decodes, marks and re-encodes it.
    `audio`: float32 mono samples in [-1, 1] at `audio_rate`, as an AAC track."""
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise ValueError(f"H.264 yuv420p needs an even frame size, not {width}x{height}")
    buffer = io.BytesIO()
    count = 0
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        sound = None
        if audio is not None and audio.size:
            sound = container.add_stream("aac", rate=audio_rate)
            sound.layout = "mono"
        for array in frames:
            if array.shape != (height, width, 3) or array.dtype != np.uint8:
                raise ValueError(f"frame {count} is {array.shape} {array.dtype}, "
                                 f"expected ({height}, {width}, 3) uint8")
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
        if sound is not None and audio is not None:
            chunk = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(audio, dtype=np.float32)[None, :], format="fltp",
                layout="mono")
            chunk.sample_rate = audio_rate
            container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    if count == 0:
        raise ValueError("a clip needs at least one frame")
    return move_index_to_front(buffer.getvalue()), count


def move_index_to_front(mp4: bytes) -> bytes:
    """What FFmpeg's `+faststart` does, without the file it needs for it: put `moov` before
    `mdat` so that players can start before the download ends, and shift the chunk offsets
    in `stco`/`co64` by the bytes that now come before the media data."""
    boxes = list(_boxes(mp4, 0, len(mp4)))
    kinds = [kind for kind, _, _, _ in boxes]
    if b"moov" not in kinds or b"mdat" not in kinds or kinds.index(b"moov") < kinds.index(b"mdat"):
        return mp4
    _, start, _, end = boxes[kinds.index(b"moov")]
    moov = bytearray(mp4[start:end])
    _shift_offsets(moov, 0, len(moov), len(moov))
    at = kinds.index(b"ftyp") + 1 if b"ftyp" in kinds else 0
    parts = [mp4[s:e] for kind, s, _, e in boxes if kind != b"moov"]
    parts.insert(at, bytes(moov))
    return b"".join(parts)


def _boxes(data: bytes | bytearray, start: int, end: int
           ) -> Iterable[tuple[bytes, int, int, int]]:
    """(type, start, payload start, end) of each box between `start` and `end`."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"malformed MP4 box {kind!r} at byte {pos}")
        yield kind, pos, pos + header, pos + size
        pos += size


def _shift_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    for kind, _, payload, box_end in _boxes(moov, start, end):
        if kind in _CONTAINERS:
            _shift_offsets(moov, payload, box_end, delta)
        elif kind in (b"stco", b"co64"):
            (count,) = struct.unpack_from(">I", moov, payload + 4)
            dtype = ">u4" if kind == b"stco" else ">u8"
            first = payload + 8
            last = first + count * np.dtype(dtype).itemsize
            offsets = np.frombuffer(moov, dtype=dtype, count=count, offset=first)
            shifted = offsets.astype(np.uint64) + np.uint64(delta)
            if kind == b"stco" and count and int(shifted.max()) > 0xFFFFFFFF:
                raise ValueError("clip too large for 32-bit chunk offsets")
            moov[first:last] = shifted.astype(dtype).tobytes()
