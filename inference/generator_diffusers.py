"""The production generator: a text-to-video `diffusers` pipeline loaded from a local
directory (GPU when there is one), its frames stretched to the requested clip and the
cameos composited in. It never downloads: missing or partial weights stop the start-up."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from domain.generator import GeneratorNotConfiguredError, RenderedClip, RenderRequest
from inference.cameo_composite import cameo_faces
from inference.generators import even_size, frame_count
from inference.video_encode import encode_h264

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")


def check_model_dir(model_dir: Path) -> None:
    """Refuse a folder that cannot be a complete `save_pretrained` pipeline: no
    `model_index.json`, a component folder missing, a model without weights, or a sharded
    model with shards missing (an interrupted download)."""
    hint = ("put a diffusers text-to-video pipeline there first (e.g. `hf download "
            "<repo> --local-dir <dir>` on a machine with internet); it is never downloaded "
            "at run time")
    index_file = model_dir / "model_index.json"
    if not model_dir.is_dir():
        raise GeneratorNotConfiguredError(f"generator model directory {model_dir} does not "
                                          f"exist: {hint}")
    try:
        index = json.loads(index_file.read_text())
    except (OSError, ValueError) as exc:
        raise GeneratorNotConfiguredError(
            f"{index_file} is missing or unreadable ({exc}): {hint}") from exc
    problems: list[str] = []
    for component, spec in index.items():
        if component.startswith("_") or not isinstance(spec, list) or None in spec:
            continue
        folder = model_dir / component
        if not folder.is_dir() or not any(folder.iterdir()):
            problems.append(f"{component}/ is missing")
        elif (folder / "config.json").is_file():
            problems.extend(_missing_weights(folder, component))
    if problems:
        raise GeneratorNotConfiguredError(
            f"generator model directory {model_dir} is incomplete: {'; '.join(problems)}")


def _missing_weights(folder: Path, component: str) -> list[str]:
    files = [path for path in folder.iterdir() if path.is_file()]
    if not any(path.name.endswith(_WEIGHT_SUFFIXES) for path in files):
        return [f"{component}/ has a config but no weights"]
    missing: list[str] = []
    for shard_index in (path for path in files if path.name.endswith(".index.json")):
        try:
            shards = set(json.loads(shard_index.read_text())["weight_map"].values())
        except (OSError, ValueError, KeyError) as exc:
            return [f"{component}/{shard_index.name} is unreadable ({exc})"]
        missing += [f"{component}/{shard} is missing" for shard in sorted(shards)
                    if not (folder / shard).is_file()]
    return missing


def _as_frames(output: Any) -> np.ndarray:
    """A pipeline's `frames` (numpy, torch or PIL, batch first) as (N, H, W, 3) uint8."""
    frames = output.frames if hasattr(output, "frames") else output
    if isinstance(frames, list | tuple):
        frames = frames[0]
    if hasattr(frames, "detach"):
        frames = frames.detach().float().cpu().numpy()
    if isinstance(frames, list | tuple):
        array = np.stack([np.asarray(image.convert("RGB")) for image in frames])
    else:
        array = np.asarray(frames)
        if array.ndim == 5:
            array = array[0]
        if array.ndim != 4:
            raise ValueError(f"unexpected pipeline output of shape {array.shape}")
        if array.shape[-1] != 3 and array.shape[1] == 3:
            array = array.transpose(0, 2, 3, 1)
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(array)


def stretch(frames: np.ndarray, count: int) -> Iterator[np.ndarray]:
    """`count` frames spread evenly over the model's frames: each output frame is the
    cross-fade of the two model frames nearest in time (frames repeat when the model made
    more than needed, are interpolated when it made fewer)."""
    last = len(frames) - 1
    for index in range(count):
        at = index * last / (count - 1) if count > 1 else 0.0
        low = int(at)
        weight = at - low
        if weight < 1e-6 or low == last:
            yield frames[low]
        else:
            mixed = (1 - weight) * frames[low].astype(np.float32) \
                + weight * frames[low + 1].astype(np.float32)
            yield (mixed + 0.5).astype(np.uint8)


def negative_prompt(request: RenderRequest) -> str:
    """The cameo owners' instructions, as what the model should steer away from."""
    return "; ".join(c.instructions.strip() for c in request.cameos if c.instructions.strip())


class DiffusersGenerator:
    """A `diffusers` text-to-video pipeline (any that takes `prompt`, `num_frames`, `height`,
    `width`, `num_inference_steps`, `guidance_scale`, `generator` and `output_type`, e.g.
    Wan 2.1 T2V 1.3B or ModelScope's TextToVideoSDPipeline) from a local folder.

    Time: the model makes `num_frames` frames (a few seconds at most, model-specific: Wan
    needs 4k+1); they are spread over the requested duration and cross-faded to the
    requested frame rate. Size: the model renders at the request's size rounded down to a
    multiple of 16 (or `model_size`) and frames are resized to the request's size.

    Cameos: a text-to-video model cannot take a reference face, so the reference faces are
    composited in exactly as the composite generator does. Refusing cameo requests would
    switch off the product's central feature in production; compositing keeps every
    requested cameo visibly present for the face scan, which then checks the very faces
    the pre-gate allowed. An identity-conditioned model would replace this step.
    """

    def __init__(self, model_dir: Path, *, num_frames: int = 16, steps: int = 25,
                 guidance_scale: float = 7.5, model_size: tuple[int, int] | None = None,
                 device: str | None = None, crf: int = 18, preset: str = "veryfast") -> None:
        model_dir = Path(model_dir)
        check_model_dir(model_dir)
        # Belt and braces: the hub library must not even try (local_files_only does the rest).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from diffusers import DiffusionPipeline

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        try:
            pipeline = DiffusionPipeline.from_pretrained(
                str(model_dir), local_files_only=True, dtype=dtype)
        except Exception as exc:  # any library's reason: the weights are not usable
            raise GeneratorNotConfiguredError(
                f"generator model directory {model_dir} does not load: {exc}") from exc
        pipeline.set_progress_bar_config(disable=True)
        self._pipeline = pipeline.to(self.device)
        self._torch = torch
        self._lock = threading.Lock()  # one render at a time per loaded model
        self.name = f"diffusers:{type(pipeline).__name__}:{model_dir.name}"
        self._num_frames = num_frames
        self._steps = steps
        self._guidance = guidance_scale
        self._model_size = model_size
        self._crf, self._preset = crf, preset

    def render(self, request: RenderRequest) -> RenderedClip:
        count = frame_count(request)
        width, height = even_size(request)
        model_w, model_h = self._model_size or (max(16, width // 16 * 16),
                                                max(16, height // 16 * 16))
        # A CPU generator gives the same noise on every device for one seed.
        seed = self._torch.Generator(device="cpu").manual_seed(request.seed)
        steer = negative_prompt(request)
        with self._lock, self._torch.inference_mode():
            output = self._pipeline(
                prompt=request.prompt, num_frames=self._num_frames, height=model_h,
                width=model_w, num_inference_steps=self._steps,
                guidance_scale=self._guidance, generator=seed, output_type="np",
                **({"negative_prompt": steer} if steer else {}))
        made = _as_frames(output)
        faces = cameo_faces(request.cameos, width, height, request.seed)

        def frames() -> Iterator[np.ndarray]:
            for index, made_frame in enumerate(stretch(made, count)):
                if made_frame.shape[:2] != (height, width):
                    frame = cv2.resize(made_frame, (width, height),
                                       interpolation=cv2.INTER_CUBIC)
                else:
                    frame = made_frame.copy()  # the faces are drawn in place
                for face in faces:
                    face.draw(frame, index / request.fps)
                yield frame

        mp4, encoded = encode_h264(frames(), width=width, height=height, fps=request.fps,
                                   crf=self._crf, preset=self._preset)
        return RenderedClip(mp4=mp4, frames=encoded, seconds=encoded / request.fps,
                            width=width, height=height, generator=self.name)
