"""The open_clip adapter's plumbing with a randomly initialised model (open_clip's smallest
built-in architecture) saved here as a checkpoint: loading from the file, preprocessing,
batching, normalisation, device, label order, serialisation. Random weights recognise
nothing, so no test asserts what an image shows; such a model is never a configured scanner."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from domain.faces import MatchDecision
from domain.media_scan import EMBEDDING, SafetyDecision, ScanModelUnavailableError
from inference.clip_models import (
    DEFAULT_SAFETY_LABELS,
    ClipWorkMatcher,
    OpenClipModel,
    OpenClipReferenceEmbedder,
    OpenClipSafetyClassifier,
    SafetyLabel,
    pack_embeddings,
    unpack_embeddings,
)
from tests.work_media import clip, filled, photo, png

pytestmark = pytest.mark.integration

ARCH = "ViT-S-32-alt"  # the fewest parameters of open_clip's built-in configs (43 M)
DIM = 256


@pytest.fixture(scope="module")
def random_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module, object]:
    """A random model, its checkpoint file and its evaluation transform."""
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(ARCH, pretrained=None)
    path = tmp_path_factory.mktemp("clip") / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path, model.eval(), preprocess


@pytest.fixture(scope="module")
def loaded(random_clip) -> OpenClipModel:
    return OpenClipModel(ARCH, random_clip[0], batch_size=4)


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [photo(name) for name in ("astronaut", "coffee", "chelsea", "rocket")] \
        + [np.zeros((90, 160, 3), np.uint8)]


def test_the_adapter_loads_the_checkpoint_file_not_fresh_random_weights(random_clip, loaded,
                                                                         images):
    _, original, preprocess = random_clip
    with torch.inference_mode():
        expected = original.encode_image(preprocess(Image.fromarray(images[0]))[None])
    expected = torch.nn.functional.normalize(expected, dim=-1).numpy()
    np.testing.assert_allclose(loaded.embed_images(images[:1]), expected, atol=1e-5)
    assert loaded.model_id.startswith(f"open_clip/{ARCH}/")
    assert loaded.device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_image_embeddings_are_unit_rows_the_same_batched_or_one_by_one(loaded, images):
    batched = loaded.embed_images(images)  # batches of 4: one full, one partial
    assert batched.shape == (len(images), DIM) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    single = np.concatenate([loaded.embed_images([image]) for image in images])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert loaded.embed_images([]).shape == (0, DIM)


def test_text_embeddings_are_unit_rows_in_the_order_given(loaded):
    texts = ["a photo of a cat", "a photo of a rocket", "a cup of coffee"]
    forward, backward = loaded.embed_texts(texts), loaded.embed_texts(texts[::-1])
    assert forward.shape == (3, DIM)
    np.testing.assert_allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)
    assert not np.allclose(forward[0], forward[1])  # the tokeniser sees different text


def test_a_missing_file_or_another_architecture_is_refused(random_clip, tmp_path):
    with pytest.raises(ScanModelUnavailableError, match="does not exist"):
        OpenClipModel(ARCH, tmp_path / "nothing.safetensors")
    with pytest.raises(ScanModelUnavailableError, match="not a loadable"):
        OpenClipModel("ViT-S-32", random_clip[0])


def test_safety_scores_follow_the_label_order_and_thresholds_decide(loaded, images):
    frames = [(i / 2, image) for i, image in enumerate(images[:3])]
    report = OpenClipSafetyClassifier(loaded).scan(frames)
    assert [name for name, _ in report.labels] == [label.name for label in
                                                   DEFAULT_SAFETY_LABELS]
    assert report.configured and report.model_id == loaded.model_id
    assert all(0.0 <= score <= 1.0 for _, score in report.labels)

    def decide(review: float, block: float) -> SafetyDecision:
        labels = [SafetyLabel("violence", "a photo of violence", review, block),
                  SafetyLabel("weapons", "a photo of a weapon", 2.0, 2.0)]
        return OpenClipSafetyClassifier(loaded, labels).scan(frames).decision

    # Softmax scores lie in (0, 1): a threshold of 0 is always crossed, 2 never.
    assert decide(0.0, 2.0) is SafetyDecision.REVIEW
    assert decide(0.0, 0.0) is SafetyDecision.BLOCK
    assert decide(2.0, 2.0) is SafetyDecision.ALLOW
    empty = OpenClipSafetyClassifier(loaded).scan([])
    assert empty.decision is SafetyDecision.REVIEW and "no frames" in empty.reason


def test_reference_embeddings_travel_as_blobs_that_name_their_model(loaded):
    embedder = OpenClipReferenceEmbedder(loaded)
    model_id, image = unpack_embeddings(embedder.embed_reference(png(photo("rocket")),
                                                                 "image/png") or b"")
    assert model_id == loaded.model_id and image.shape == (1, DIM)
    frames_clip = clip([(filled(photo("rocket")), 1.0), (filled(photo("chelsea")), 1.0)])
    _, clip_rows = unpack_embeddings(embedder.embed_reference(frames_clip, "video/mp4") or b"")
    assert clip_rows.shape == (2, DIM)
    matrix = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert unpack_embeddings(pack_embeddings("m", matrix))[0] == "m"
    np.testing.assert_array_equal(unpack_embeddings(pack_embeddings("m", matrix))[1], matrix)


def test_the_matcher_indexes_references_and_refuses_another_models_vectors(loaded):
    """Plumbing only: a frame identical to the reference has cosine 1 under any weights."""
    rocket = photo("rocket")
    matcher = ClipWorkMatcher(loaded)
    work_id = uuid4()
    blob = OpenClipReferenceEmbedder(loaded).embed_reference(png(rocket), "image/png") or b""
    assert matcher.add(work_id, "a" * 64, blob)
    assert not matcher.add(uuid4(), "b" * 64, pack_embeddings("open_clip/other/0", np.ones(
        (1, DIM), np.float32)))
    found = matcher.match([(0.0, rocket), (0.5, rocket)])
    assert [(m.work_id, m.method, m.decision, m.frames_matched) for m in found] == \
        [(work_id, EMBEDDING, MatchDecision.MATCH, 2)]
    assert found[0].score == pytest.approx(1.0, abs=1e-3)
    matcher.remove_work(work_id)
    assert matcher.match([(0.0, rocket)]) == [] and len(matcher) == 0
