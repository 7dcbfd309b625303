"""PDQ perceptual hashing (Meta's image hash, through `pdqhash`) of reference media and of a
generated video's sampled frames, and the reference index that matches one against the other.

Video matching follows vPDQ, done here on top of `pdqhash` because the `vpdq` package needs
FFmpeg development headers to build: PDQ of frames sampled at a fixed rate, frames below
quality 50 ignored, identical hashes compared once, then frame set against frame set, with a
work matched when enough sampled frames match (`FrameVotePolicy`). Unlike vPDQ's two-sided
percentages, only the generated clip's frames are counted: a clip may show a work briefly,
and a reference clip may be far longer than the generated one."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import cv2
import numpy as np
import pdqhash
from PIL import Image

from domain.errors import DomainError, MediaLimitsExceededError, UnreadableMediaError
from domain.faces import MatchDecision
from domain.media_scan import PDQ, FrameVotePolicy, WorkMatch
from inference.face_quality import as_rgb
from inference.face_scan import sample_frames

# PDQ downsamples to 64x64 anyway: larger images are shrunk first, which is faster from 720p
# up; below that the resize costs more than it saves (a 640x360 frame is hashed as it is).
MAX_SIDE = 720
MIN_QUALITY = 50  # PDQ's own advice: below it the hash of a flat image is noise
HASH_BITS = 256
MAX_REFERENCE_PIXELS = 60_000_000
MAX_ANIMATION_FRAMES = 1000


@dataclass(frozen=True)
class PdqPolicy:
    """Hamming distances out of 256 bits: `match` and below is the same picture (PDQ's
    recommended 31), up to `review` a person looks. Unrelated photos sit near 128."""

    match: int = 31
    review: int = 45
    votes: FrameVotePolicy = field(default_factory=FrameVotePolicy)


def _fit(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def pdq_bits(image: Any) -> tuple[np.ndarray, int]:
    """The 256-bit hash packed into 32 bytes (the byte order of PDQ's hex form) and its
    quality (0-100). The image is first shrunk to at most 512 px on its longer side."""
    vector, quality = pdqhash.compute(np.ascontiguousarray(_fit(as_rgb(image))))
    return np.packbits(vector.astype(np.uint8)), int(quality)


def to_hex(bits: np.ndarray) -> str:
    return bytes(bits).hex()


def _words(hex_hashes: Iterable[str]) -> np.ndarray:
    """Hex hashes as an (N, 4) uint64 matrix: XOR and popcount need only 4 words a hash."""
    raw = b"".join(bytes.fromhex(h) for h in hex_hashes)
    if len(raw) % 32:
        raise ValueError("a PDQ hash is 64 hex characters")
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4)


def hamming(a: str, b: str) -> int:
    return int(np.bitwise_count(_words([a]) ^ _words([b])).sum())


def trim_borders(image: np.ndarray, tolerance: int = 12, min_trim: float = 0.04
                 ) -> np.ndarray | None:
    """The image without flat bars along its edges (letterbox, pillarbox, a margin), or None
    when there are none worth trimming. PDQ sees the whole frame, so a picture shown inside
    bars hashes far from the picture alone; the trimmed frame hashes close to it."""
    step = 4
    small = image[::step, ::step, 1].astype(np.int16)  # green channel: enough to find bars
    flat_rows = np.ptp(small, axis=1) <= tolerance
    flat_cols = np.ptp(small, axis=0) <= tolerance
    if flat_rows.all() or flat_cols.all():
        return None

    def run(flags: np.ndarray) -> int:
        return int(np.argmin(flags)) if not flags.all() else len(flags)

    top, bottom = run(flat_rows), run(flat_rows[::-1])
    left, right = run(flat_cols), run(flat_cols[::-1])
    height, width = image.shape[:2]
    if (top + bottom) * step < min_trim * height and (left + right) * step < min_trim * width:
        return None
    trimmed = image[top * step:height - bottom * step, left * step:width - right * step]
    return trimmed if min(trimmed.shape[:2]) >= 32 else None


def _centre_crop(image: np.ndarray, keep: float = 0.8) -> np.ndarray:
    height, width = image.shape[:2]
    dy, dx = int(height * (1 - keep) / 2), int(width * (1 - keep) / 2)
    return image[dy:height - dy, dx:width - dx]


class PdqReferenceHasher:
    """`ReferenceHasher` with PDQ. Per reference frame it records the picture, its mirror
    image, its centre 80% (a generated clip that zooms in) and, when it has flat margins,
    the picture without them; frames below quality 50 are left out, so a flat image gives
    no hashes. Clips are sampled at `fps` for at most `max_seconds`, and a frame within
    `dedupe_distance` bits of the last kept one adds nothing."""

    def __init__(self, *, fps: float = 1.0, max_seconds: float = 180.0, max_frames: int = 120,
                 animation_frames: int = 16, dedupe_distance: int = 4) -> None:
        self.fps = fps
        self.max_seconds = max_seconds
        self.max_frames = max_frames
        self.animation_frames = animation_frames
        self.dedupe_distance = dedupe_distance

    def hash_reference(self, media: bytes, media_type: str) -> dict[str, str]:
        frames = reference_frames(media, media_type, fps=self.fps,
                                  max_seconds=self.max_seconds,
                                  animation_frames=self.animation_frames)
        hashes: dict[str, str] = {}
        last: np.ndarray | None = None
        kept = 0
        for label, frame in frames:
            bits, quality = pdq_bits(frame)
            if quality < MIN_QUALITY:
                continue
            if last is not None and \
                    int(np.bitwise_count(np.bitwise_xor(bits, last)).sum()) <= self.dedupe_distance:
                continue
            last, kept = bits, kept + 1
            hashes.update({f"{PDQ}/{label}/{variant}": value
                           for variant, value in self._variants(frame, bits)})
            if kept >= self.max_frames:
                break
        return hashes

    @staticmethod
    def _variants(frame: np.ndarray, bits: np.ndarray) -> Iterator[tuple[str, str]]:
        yield "original", to_hex(bits)
        candidates = [("mirror", frame[:, ::-1]), ("crop", _centre_crop(frame))]
        trimmed = trim_borders(frame)
        if trimmed is not None:
            candidates.append(("trim", trimmed))
        for variant, image in candidates:
            variant_bits, quality = pdq_bits(image)
            if quality >= MIN_QUALITY:
                yield variant, to_hex(variant_bits)


def reference_frames(media: bytes, media_type: str, *, fps: float = 1.0,
                     max_seconds: float = 180.0, animation_frames: int = 16
                     ) -> Iterator[tuple[str, np.ndarray]]:
    """A reference's frames as (label, RGB array): an image's frame "f0" (an animation's
    frames spread evenly, at most `animation_frames`), or a clip's frames at `fps` over its
    first `max_seconds`, labelled by time ("t1.00"). Undecodable media raise
    `UnreadableMediaError` (a 422 for the uploader)."""
    if media_type.startswith("video/"):
        try:
            for seconds, frame in sample_frames(media, fps):
                if seconds > max_seconds:
                    break
                yield f"t{seconds:.2f}", frame
        except DomainError:
            raise  # the bounded reader's own refusal says what was wrong
        except Exception as exc:  # PyAV raises many kinds for corrupt input
            raise UnreadableMediaError(f"the reference clip does not decode: {exc}") from exc
        return
    try:
        image = Image.open(io.BytesIO(media))
        if image.width * image.height > MAX_REFERENCE_PIXELS:
            raise MediaLimitsExceededError("the reference image has too many pixels",
                                           limit=MAX_REFERENCE_PIXELS)
        count = getattr(image, "n_frames", 1)
        if count > MAX_ANIMATION_FRAMES:
            raise MediaLimitsExceededError("the animation has too many frames",
                                           limit=MAX_ANIMATION_FRAMES)
        frames = []
        # Only the frames kept are decoded (seeking an animation decodes up to the frame).
        for i in sorted(set(np.linspace(0, count - 1, min(count, animation_frames))
                            .round().astype(int).tolist())):
            image.seek(i)
            frames.append((f"f{i}", _rgb(image)))
    except (UnreadableMediaError, MediaLimitsExceededError):
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableMediaError(f"the reference image does not decode: {exc}") from exc
    yield from frames


def _rgb(frame: Image.Image) -> np.ndarray:
    """RGB at most 512 px; transparency composited over white, as logos are usually shown."""
    frame = frame.copy()
    frame.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
    if frame.mode in ("RGBA", "LA", "P", "PA"):
        frame = frame.convert("RGBA")
        canvas = Image.new("RGBA", frame.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(canvas, frame)
    return np.asarray(frame.convert("RGB"))


@dataclass(frozen=True)
class FrameHashes:
    """A clip's sampled frames reduced to what matching needs: the distinct hashes (each
    compared once), which frame each came from, and how many frames could be hashed."""

    words: np.ndarray  # (U, 4) uint64, distinct
    row_of: np.ndarray  # (P,) index into words, one per (frame, hash) pair
    frame_of: np.ndarray  # (P,) index into seconds
    seconds: tuple[float, ...]  # the usable frames' times
    sampled: int
    frame_hex: tuple[str, ...] = ()  # each usable frame's own hash (not its trimmed one)

    @property
    def usable(self) -> int:
        return len(self.seconds)


def hash_frames(frames: Iterable[tuple[float, Any]]) -> FrameHashes:
    """PDQ of each sampled frame and of the frame without its flat borders, if any."""
    seconds: list[float] = []
    hexes: dict[str, int] = {}
    rows: list[int] = []
    owners: list[int] = []
    frame_hex: list[str] = []
    sampled = 0
    for time, frame in frames:
        sampled += 1
        image = _fit(as_rgb(frame))
        bits, quality = pdq_bits(image)
        if quality < MIN_QUALITY:
            continue
        found = [bits]
        trimmed = trim_borders(image)
        if trimmed is not None:
            trimmed_bits, trimmed_quality = pdq_bits(trimmed)
            if trimmed_quality >= MIN_QUALITY:
                found.append(trimmed_bits)
        for item in found:
            rows.append(hexes.setdefault(to_hex(item), len(hexes)))
            owners.append(len(seconds))
        seconds.append(float(time))
        frame_hex.append(to_hex(bits))
    words = _words(hexes) if hexes else np.zeros((0, 4), np.uint64)
    return FrameHashes(words, np.array(rows, np.intp), np.array(owners, np.intp),
                       tuple(seconds), sampled, tuple(frame_hex))


@dataclass(frozen=True)
class _Snapshot:
    columns: np.ndarray  # (4, M): word k of every reference hash in one contiguous row
    owner: np.ndarray  # (M,) index into keys
    keys: tuple[tuple[UUID, str], ...]  # (work id, reference digest)

    def distances(self, word: np.ndarray) -> np.ndarray:
        """Hamming distance of one (4,) query hash to every reference hash. Word by word
        over contiguous rows: 8x faster than popcounting an (M, 4) matrix and summing."""
        total = np.bitwise_count(self.columns[0] ^ word[0]).astype(np.uint16)
        for k in range(1, 4):
            total += np.bitwise_count(self.columns[k] ^ word[k])
        return total


_EMPTY = _Snapshot(np.zeros((4, 0), np.uint64), np.zeros(0, np.intp), ())


class PdqReferenceIndex:
    """Every live reference's PDQ hashes, searched all at once: XOR and popcount over the
    (4, M) uint64 words of all M reference hashes, per distinct query hash. Changes (a
    reference added, a work withdrawn) mark the matrix stale; it is rebuilt at the next
    search, off the writers' path. Thread-safe: a search works on an immutable snapshot."""

    def __init__(self, policy: PdqPolicy | None = None) -> None:
        self.policy = policy or PdqPolicy()
        self._references: dict[tuple[UUID, str], np.ndarray] = {}
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = _EMPTY

    def __len__(self) -> int:
        return len(self._references)

    def add(self, work_id: UUID, digest: str, hashes: Mapping[str, str]) -> None:
        values = [v for k, v in hashes.items() if k.split("/", 1)[0] == PDQ]
        with self._lock:
            if values:
                self._references[(work_id, digest)] = _words(values)
            else:
                self._references.pop((work_id, digest), None)
            self._snapshot = None

    def remove_work(self, work_id: UUID) -> None:
        with self._lock:
            for key in [k for k in self._references if k[0] == work_id]:
                del self._references[key]
            self._snapshot = None

    def rebuild(self, entries: Iterable[tuple[UUID, str, Mapping[str, str]]]) -> None:
        fresh = PdqReferenceIndex(self.policy)
        for work_id, digest, hashes in entries:
            fresh.add(work_id, digest, hashes)
        with self._lock:
            self._references = fresh._references
            self._snapshot = None

    def _current(self) -> _Snapshot:
        with self._lock:
            if self._snapshot is None:
                keys = tuple(self._references)
                blocks = [self._references[k] for k in keys]
                self._snapshot = _Snapshot(
                    np.ascontiguousarray(np.concatenate(blocks).T),
                    np.repeat(np.arange(len(keys)), [len(b) for b in blocks]),
                    keys) if keys else _EMPTY
            return self._snapshot

    def match(self, query: FrameHashes) -> list[WorkMatch]:
        """One `WorkMatch` per work that came within the review distance in any frame,
        strongest first; a frame's distance to a work is its best over all the work's
        references and hash variants."""
        snap = self._current()
        if not len(snap.owner) or not len(query.words):
            return []
        review = self.policy.review
        # best[(reference, distinct query hash)] over that reference's hashes
        best: dict[int, np.ndarray] = {}
        for row, word in enumerate(query.words):
            distance = snap.distances(word)
            for at in np.flatnonzero(distance <= review):
                ref = int(snap.owner[at])
                rows = best.setdefault(ref, np.full(len(query.words), HASH_BITS + 1))
                rows[row] = min(rows[row], int(distance[at]))
        by_work: dict[UUID, list[tuple[str, np.ndarray]]] = {}
        for ref, rows in best.items():
            work_id, digest = snap.keys[ref]
            per_frame = np.full(query.usable, HASH_BITS + 1)
            np.minimum.at(per_frame, query.frame_of, rows[query.row_of])
            by_work.setdefault(work_id, []).append((digest, per_frame))
        matches = [self._judge(work_id, refs, query) for work_id, refs in by_work.items()]
        return sorted(matches, key=lambda m: (m.decision != MatchDecision.MATCH,
                                              m.decision != MatchDecision.REVIEW, -m.score))

    def _judge(self, work_id: UUID, refs: list[tuple[str, np.ndarray]],
               query: FrameHashes) -> WorkMatch:
        per_frame = np.min([frames for _, frames in refs], axis=0)
        digest = min(refs, key=lambda r: int(r[1].min()))[0]
        matched = int((per_frame <= self.policy.match).sum())
        near = int(((per_frame > self.policy.match) & (per_frame <= self.policy.review)).sum())
        seen = np.flatnonzero(per_frame <= self.policy.review)
        return WorkMatch(work_id, digest, PDQ, 1.0 - int(per_frame.min()) / HASH_BITS,
                         self.policy.votes.decide(matched, near, query.usable), matched, near,
                         tuple(query.seconds[i] for i in seen))
