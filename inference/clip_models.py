"""open_clip behind the media-scan ports: image embeddings of reference media and sampled
frames (protected-work similarity) and zero-shot safety labels.

Only a local checkpoint file is ever loaded (`pretrained=<path>`): never a pretrained tag,
which would download, and never random weights, which would answer with confidence and
recognise nothing. Without a checkpoint the composition root uses the not-configured ports
of `domain.media_scan` instead."""

from __future__ import annotations

import hashlib
import logging
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import open_clip
import torch
from PIL import Image

from domain.faces import MatchDecision
from domain.media_scan import (
    EMBEDDING,
    Frames,
    FrameVotePolicy,
    SafetyDecision,
    SafetyReport,
    ScanModelUnavailableError,
    WorkMatch,
)
from inference.face_quality import as_rgb
from inference.perceptual import reference_frames

log = logging.getLogger(__name__)

_MAGIC = b"CLE1"
_HEADER = struct.Struct("<4sHII")  # magic, model id length, rows, dimension


def pack_embeddings(model_id: str, matrix: np.ndarray) -> bytes:
    """A blob for the blob store: the model id travels with the vectors, because embeddings
    of two checkpoints never compare."""
    rows = np.ascontiguousarray(matrix, dtype="<f4")
    name = model_id.encode()
    return _HEADER.pack(_MAGIC, len(name), rows.shape[0], rows.shape[1]) + name + rows.tobytes()


def unpack_embeddings(data: bytes) -> tuple[str, np.ndarray]:
    magic, name_len, rows, dim = _HEADER.unpack_from(data)
    start = _HEADER.size + name_len
    if magic != _MAGIC or len(data) != start + 4 * rows * dim:
        raise ValueError("not a serialised embedding matrix")
    matrix = np.frombuffer(data, dtype="<f4", offset=start).reshape(rows, dim)
    return data[_HEADER.size:start].decode(), matrix.astype(np.float32)


def _file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class OpenClipModel:
    """One open_clip model loaded from a local checkpoint, on CUDA when available.

    `model_id` names the architecture and the checkpoint's content digest, so embeddings
    stored under another checkpoint are recognised as incomparable. Images are
    preprocessed with the model's own evaluation transform (PIL, as in training) and
    embedded in batches of `batch_size`; every vector returned has unit length."""

    def __init__(self, model_name: str, checkpoint: str | Path, *, device: str | None = None,
                 batch_size: int = 32) -> None:
        path = Path(checkpoint).expanduser().resolve()  # an absolute path is never a tag
        if not path.is_file():
            raise ScanModelUnavailableError(f"open_clip checkpoint {path} does not exist")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                model_name, pretrained=str(path), device=self.device)
            self._tokenizer = open_clip.get_tokenizer(model_name)
        except Exception as exc:  # open_clip also asserts on mismatched shapes
            raise ScanModelUnavailableError(
                f"{path} is not a loadable {model_name} checkpoint: {exc}") from exc
        self._model: Any = model.eval()
        self._preprocess = preprocess
        self.model_name = model_name
        self.model_id = f"open_clip/{model_name}/{_file_digest(path)[:16]}"
        self.batch_size = batch_size
        self.logit_scale = float(model.logit_scale.exp().item())
        self._lock = threading.Lock()  # one forward pass at a time: bounded device memory

    def embed_images(self, images: Sequence[Any]) -> np.ndarray:
        """(N, D) float32 unit rows for (H, W, 3) uint8 RGB images."""
        out = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start:start + self.batch_size]
            batch = torch.stack([self._preprocess(Image.fromarray(as_rgb(i))) for i in chunk])
            out.append(self._encode(self._model.encode_image, batch))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(N, D) float32 unit rows, in the order of `texts`."""
        return self._encode(self._model.encode_text, self._tokenizer(list(texts)))

    @property
    def dim(self) -> int:
        return int(self._model.text_projection.shape[1]) \
            if getattr(self._model, "text_projection", None) is not None \
            else int(self.embed_texts(["x"]).shape[1])

    def _encode(self, encoder: Any, batch: torch.Tensor) -> np.ndarray:
        with self._lock, torch.inference_mode():
            features = encoder(batch.to(self.device)).float()
            features = torch.nn.functional.normalize(features, dim=-1)
            return np.asarray(features.cpu().numpy(), dtype=np.float32)


class OpenClipReferenceEmbedder:
    """`ReferenceEmbedder`: an image's embedding, or a clip's frames at one per second (at
    most `max_frames`), packed with the model id for the blob store."""

    configured = True

    def __init__(self, model: OpenClipModel, *, max_frames: int = 32) -> None:
        self.model = model
        self.max_frames = max_frames

    def embed_reference(self, media: bytes, media_type: str) -> bytes | None:
        frames = []
        for _, frame in reference_frames(media, media_type, fps=1.0):
            frames.append(frame)
            if len(frames) >= self.max_frames:
                break
        if not frames:
            return None
        return pack_embeddings(self.model.model_id, self.model.embed_images(frames))


@dataclass(frozen=True)
class EmbeddingPolicy:
    """Cosine similarities between image embeddings: `match` and above is the same work,
    down to `review` a person looks. Defaults suit CLIP ViT-B image-to-image similarity
    (near-duplicates score above 0.9); calibrate them for the checkpoint in use."""

    match: float = 0.92
    review: float = 0.85
    votes: FrameVotePolicy = field(default_factory=FrameVotePolicy)


class ClipWorkMatcher:
    """The embedding half of the protected-work scan: every live reference's embeddings in
    one matrix, compared with the frames' embeddings by one matrix product."""

    def __init__(self, model: OpenClipModel, policy: EmbeddingPolicy | None = None) -> None:
        self.model = model
        self.policy = policy or EmbeddingPolicy()
        self._references: dict[tuple[UUID, str], np.ndarray] = {}
        self._lock = threading.Lock()
        self._snapshot: tuple[np.ndarray, np.ndarray, tuple[tuple[UUID, str], ...]] | None \
            = None

    def __len__(self) -> int:
        return len(self._references)

    def add(self, work_id: UUID, digest: str, blob: bytes) -> bool:
        """Indexes a reference's packed embeddings; False if another model made them."""
        model_id, matrix = unpack_embeddings(blob)
        if model_id != self.model.model_id:
            log.warning("reference %s of work %s was embedded by %s, not %s: skipped",
                        digest, work_id, model_id, self.model.model_id)
            return False
        with self._lock:
            self._references[(work_id, digest)] = matrix
            self._snapshot = None
        return True

    def remove_work(self, work_id: UUID) -> None:
        with self._lock:
            for key in [k for k in self._references if k[0] == work_id]:
                del self._references[key]
            self._snapshot = None

    def rebuild(self, entries: Iterable[tuple[UUID, str, bytes]]) -> None:
        with self._lock:
            self._references = {}
            self._snapshot = None
        for work_id, digest, blob in entries:
            self.add(work_id, digest, blob)

    def _current(self) -> tuple[np.ndarray, np.ndarray, tuple[tuple[UUID, str], ...]]:
        with self._lock:
            if self._snapshot is None:
                keys = tuple(self._references)
                blocks = [self._references[k] for k in keys]
                matrix = np.concatenate(blocks) if blocks else np.zeros((0, 1), np.float32)
                owner = np.repeat(np.arange(len(keys)), [len(b) for b in blocks])
                self._snapshot = (matrix, owner, keys)
            return self._snapshot

    def match(self, frames: Sequence[tuple[float, Any]]) -> list[WorkMatch]:
        matrix, owner, keys = self._current()
        if not keys or not frames:
            return []
        seconds = [float(s) for s, _ in frames]
        similarity = self.model.embed_images([f for _, f in frames]) @ matrix.T  # (F, M)
        best_by_work: dict[UUID, dict[str, np.ndarray]] = {}
        for ref in np.unique(owner[(similarity >= self.policy.review).any(axis=0)]):
            work_id, digest = keys[ref]
            per_frame = similarity[:, owner == ref].max(axis=1)
            best_by_work.setdefault(work_id, {})[digest] = per_frame
        matches = []
        for work_id, refs in best_by_work.items():
            per_frame = np.max(list(refs.values()), axis=0)
            digest = max(refs, key=lambda d: float(refs[d].max()))
            matched = int((per_frame >= self.policy.match).sum())
            near = int(((per_frame < self.policy.match)
                        & (per_frame >= self.policy.review)).sum())
            decision = self.policy.votes.decide(matched, near, len(frames))
            seen = np.flatnonzero(per_frame >= self.policy.review)
            matches.append(WorkMatch(work_id, digest, EMBEDDING, float(per_frame.max()),
                                     decision, matched, near,
                                     tuple(seconds[i] for i in seen)))
        return sorted(matches, key=lambda m: (m.decision != MatchDecision.MATCH, -m.score))


@dataclass(frozen=True)
class SafetyLabel:
    """A zero-shot label: the text it is scored against, and the probability (softmax over
    every label and the neutral one) at which a video is held for review or blocked."""

    name: str
    prompt: str
    review: float = 0.35
    block: float = 0.8


DEFAULT_SAFETY_LABELS = (
    SafetyLabel("violence", "a photo of violence, people fighting or attacking someone"),
    SafetyLabel("gore", "a photo of gore, blood and injured bodies"),
    SafetyLabel("sexual", "a photo of sexual content or nudity"),
    SafetyLabel("weapons", "a photo of a gun, a knife or another weapon"),
    SafetyLabel("self_harm", "a photo of self-harm"),
    SafetyLabel("hate_symbols", "a photo of hate symbols or extremist propaganda"),
)
NEUTRAL_PROMPT = "an ordinary, harmless photo"


class OpenClipSafetyClassifier:
    """`SafetyClassifier` by zero-shot open_clip: each frame's softmax over the labels'
    prompts and a neutral prompt; a label's score is its highest over the frames (a
    moment of gore in a long clip still counts)."""

    configured = True

    def __init__(self, model: OpenClipModel,
                 labels: Sequence[SafetyLabel] = DEFAULT_SAFETY_LABELS,
                 neutral: str = NEUTRAL_PROMPT) -> None:
        self.model = model
        self.labels = tuple(labels)
        self._texts = model.embed_texts([label.prompt for label in self.labels] + [neutral])

    @property
    def categories(self) -> tuple[str, ...]:
        """The safety categories its labels cover (a `CategorySafetyClassifier`)."""
        return tuple(label.name for label in self.labels)

    def scan(self, frames: Frames) -> SafetyReport:
        images = [frame for _, frame in frames]
        if not images:
            return SafetyReport((), SafetyDecision.REVIEW, True, self.model.model_id,
                                "no frames to classify")
        logits = self.model.logit_scale * (self.model.embed_images(images) @ self._texts.T)
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        scores = probabilities[:, :len(self.labels)].max(axis=0)
        decision = SafetyDecision.ALLOW
        for label, score in zip(self.labels, scores, strict=True):
            if score >= label.block:
                decision = SafetyDecision.BLOCK
                break
            if score >= label.review:
                decision = SafetyDecision.REVIEW
        return SafetyReport(tuple((label.name, float(score)) for label, score
                                  in zip(self.labels, scores, strict=True)),
                            decision, True, self.model.model_id)
