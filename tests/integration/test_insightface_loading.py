"""Loading of insightface model packs, exercised with tiny ONNX models built here that have
the input and output signatures of SCRFD (9 outputs: scores, boxes and keypoints at strides
8/16/32) and ArcFace (112x112 input, 512-D output): no real pack can be installed here."""

from __future__ import annotations

from pathlib import Path

import insightface.utils.storage
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from domain.faces import FaceModelUnavailableError, IncomparableTemplatesError, Metric
from inference.faces_dlib import DlibFaceAnalyzer
from inference.faces_insightface import InsightFaceAnalyzer, execution_providers

pytestmark = [pytest.mark.integration,
              # insightface's alignment still calls a scikit-image API deprecated in 0.26
              pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning")]

STRIDES = (8, 16, 32)
# Keypoints around an anchor, in strides: two eyes, the nose, two mouth corners.
KEYPOINTS = [-0.6, -0.5, 0.6, -0.5, 0.0, 0.1, -0.5, 0.7, 0.5, 0.7]


def _const(name: str, values: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(values, name))


def tiny_scrfd(path: Path) -> None:
    """A detector that 'sees a face' wherever a 32x32 cell of the image is bright: its
    stride-32 score is high there, boxes span two strides each way, keypoints are fixed."""
    nodes = [_const("zero", np.array(0.0, np.float32)),
             _const("gain", np.array(10.0, np.float32)),
             _const("bias", np.array(-5.0, np.float32)),
             _const("off", np.array(-10.0, np.float32)),
             _const("flat", np.array([-1, 1], np.int64)),
             _const("box", np.full((1, 4), 2.0, np.float32)),
             _const("kps", np.array([KEYPOINTS], np.float32)),
             _const("c0", np.array([0], np.int64)), _const("c1", np.array([1], np.int64))]
    scores, boxes, keypoints = [], [], []
    for s in STRIDES:
        nodes += [
            helper.make_node("AveragePool", ["input.1"], [f"pool{s}"], kernel_shape=[s, s],
                             strides=[s, s]),
            helper.make_node("Slice", [f"pool{s}", "c0", "c1", "c1"], [f"red{s}"]),
        ]
        if s == 32:
            nodes += [helper.make_node("Mul", [f"red{s}", "gain"], [f"g{s}"]),
                      helper.make_node("Add", [f"g{s}", "bias"], [f"logit{s}"])]
        else:
            nodes += [helper.make_node("Mul", [f"red{s}", "zero"], [f"g{s}"]),
                      helper.make_node("Add", [f"g{s}", "off"], [f"logit{s}"])]
        nodes += [
            helper.make_node("Concat", [f"logit{s}", f"logit{s}"], [f"two{s}"], axis=1),
            helper.make_node("Transpose", [f"two{s}"], [f"hw{s}"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", [f"hw{s}", "flat"], [f"col{s}"]),
            helper.make_node("Sigmoid", [f"col{s}"], [f"score_{s}"]),
            helper.make_node("Mul", [f"col{s}", "zero"], [f"nil{s}"]),
            helper.make_node("Add", [f"nil{s}", "box"], [f"bbox_{s}"]),
            helper.make_node("Add", [f"nil{s}", "kps"], [f"kps_{s}"]),
        ]
        scores.append(helper.make_tensor_value_info(f"score_{s}", TensorProto.FLOAT, ["n", 1]))
        boxes.append(helper.make_tensor_value_info(f"bbox_{s}", TensorProto.FLOAT, ["n", 4]))
        keypoints.append(helper.make_tensor_value_info(f"kps_{s}", TensorProto.FLOAT, ["n", 10]))
    image = helper.make_tensor_value_info("input.1", TensorProto.FLOAT,
                                          [1, 3, "height", "width"])
    graph = helper.make_graph(nodes, "tiny_scrfd", [image], scores + boxes + keypoints)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def tiny_arcface(path: Path, seed: int = 0) -> None:
    """A 'recogniser': 8x8 average pooling of the aligned 112x112 crop, then a fixed random
    projection to 512 dimensions. Same crop, same vector; another crop, another vector."""
    projection = np.random.default_rng(seed).normal(size=(3 * 14 * 14, 512)).astype(np.float32)
    nodes = [
        helper.make_node("AveragePool", ["data"], ["pooled"], kernel_shape=[8, 8],
                         strides=[8, 8], name="pool"),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1, name="flatten"),
        helper.make_node("MatMul", ["features", "projection"], ["fc1"], name="project"),
    ]
    graph = helper.make_graph(
        nodes, "tiny_arcface",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["batch", 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["batch", 512])],
        initializer=[numpy_helper.from_array(projection, "projection")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny_pack"
    folder.mkdir()
    tiny_scrfd(folder / "det_tiny.onnx")
    tiny_arcface(folder / "w_tiny.onnx")
    return folder


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model download was attempted")

    for name in ("download", "download_onnx", "ensure_available", "download_file"):
        if hasattr(insightface.utils.storage, name):
            monkeypatch.setattr(insightface.utils.storage, name, refuse)


def scene(bright: tuple[int, int] = (256, 192), texture: int = 0) -> np.ndarray:
    """A dark 640x360 frame with one bright cell of the detector's 32 px grid at `bright`,
    optionally inside random texture (which the aligned crop, hence the template, sees)."""
    image = np.full((360, 640, 3), 10, np.uint8)
    x, y = bright
    if texture:
        rng = np.random.default_rng(texture)
        coarse = rng.integers(0, 120, (8, 8, 3), dtype=np.uint8)  # survives the pooling
        image[y - 60:y + 92, x - 60:x + 92] = np.kron(coarse, np.ones((19, 19, 1), np.uint8))
    image[y:y + 32, x:x + 32] = 250
    return image


def test_a_pack_with_a_detector_and_a_recogniser_finds_and_embeds_a_face(pack: Path):
    analyzer = InsightFaceAnalyzer(pack)
    [face] = analyzer.detect(scene())
    centre = ((face.box.left + face.box.right) / 2, (face.box.top + face.box.bottom) / 2)
    assert centre == pytest.approx((256, 192), abs=2)
    assert face.box.size == pytest.approx(128, abs=2)
    assert face.landmarks.eye_left[0] < face.landmarks.eye_right[0]
    assert face.landmarks.pitch > 0
    [template] = analyzer.embed(scene(), [face])
    assert template.metric is Metric.COSINE and len(template.vector) == 512
    assert np.linalg.norm(template.vector) == pytest.approx(1.0, abs=1e-5)


def test_the_same_face_gives_the_same_template_and_another_face_another(pack: Path):
    analyzer = InsightFaceAnalyzer(pack)
    first, again, other = (scene(texture=1), scene(texture=1), scene(texture=2))
    a, b, c = (analyzer.embed(img, analyzer.detect(img))[0] for img in (first, again, other))
    assert a.distance(b) == pytest.approx(0.0, abs=1e-6)
    assert a.distance(c) > 0.01


def test_the_model_id_names_the_recogniser_weights(pack: Path, tmp_path: Path):
    analyzer = InsightFaceAnalyzer(pack)
    assert analyzer.model_id.startswith("insightface:w_tiny:")
    assert analyzer.thresholds.model_id == analyzer.model_id
    retrained = tmp_path / "retrained"
    retrained.mkdir()
    tiny_scrfd(retrained / "det_tiny.onnx")
    tiny_arcface(retrained / "w_tiny.onnx", seed=1)
    other = InsightFaceAnalyzer(retrained)
    assert other.model_id != analyzer.model_id
    image = scene(texture=1)
    mine = analyzer.embed(image, analyzer.detect(image))[0]
    theirs = other.embed(image, other.detect(image))[0]
    with pytest.raises(IncomparableTemplatesError):
        mine.distance(theirs)


def test_templates_of_insightface_and_dlib_are_never_compared(pack: Path):
    image = scene(texture=3)
    arcface = InsightFaceAnalyzer(pack)
    mine = arcface.embed(image, arcface.detect(image))[0]
    dlib = DlibFaceAnalyzer()
    from tests import face_media

    photo = face_media.astronaut()
    theirs = dlib.embed(photo, dlib.detect(photo))[0]
    with pytest.raises(IncomparableTemplatesError):
        mine.distance(theirs)


def test_a_missing_pack_folder_is_a_clear_startup_error_and_not_a_download(tmp_path: Path):
    with pytest.raises(FaceModelUnavailableError, match="does not exist"):
        InsightFaceAnalyzer(tmp_path / "buffalo_l")


def test_a_pack_without_a_detector_is_a_clear_startup_error(tmp_path: Path):
    tiny_arcface(tmp_path / "w600k_r50.onnx")
    with pytest.raises(FaceModelUnavailableError, match="no detection model"):
        InsightFaceAnalyzer(tmp_path)


def test_a_pack_without_a_recogniser_is_a_clear_startup_error(tmp_path: Path):
    tiny_scrfd(tmp_path / "det_10g.onnx")
    with pytest.raises(FaceModelUnavailableError, match="no recognition model"):
        InsightFaceAnalyzer(tmp_path)


def test_an_empty_pack_folder_is_a_clear_startup_error(tmp_path: Path):
    with pytest.raises(FaceModelUnavailableError, match=r"no \.onnx files"):
        InsightFaceAnalyzer(tmp_path)


def test_a_truncated_model_file_is_a_clear_startup_error(pack: Path):
    data = (pack / "w_tiny.onnx").read_bytes()
    (pack / "w_tiny.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(FaceModelUnavailableError, match="not a loadable ONNX model"):
        InsightFaceAnalyzer(pack)


def test_cuda_is_preferred_when_present_and_cpu_remains_the_fallback(pack: Path):
    assert execution_providers(["CUDAExecutionProvider", "CPUExecutionProvider"]) \
        == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert execution_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    analyzer = InsightFaceAnalyzer(pack)
    assert analyzer.active_providers[-1] == "CPUExecutionProvider"
