"""invisible-watermark's dwtDct and RivaGAN, the peers benchmarks.watermark runs on the same
clips and attacks (installed with --no-deps; see README)."""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from skimage.metrics import structural_similarity

PEER_BITS = 32


@dataclass
class Tally:
    """Per (method, attack): frame bit accuracies and per-video recoveries."""

    accuracies: list[float] = field(default_factory=list)
    recovered: list[bool] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def accuracy(self) -> float:
        return float(np.mean(self.accuracies)) if self.accuracies else float("nan")

    def recovery(self) -> float:
        return float(np.mean(self.recovered)) if self.recovered else float("nan")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b) ** 2).mean())
    return 10 * math.log10(255**2 / mse) if mse else float("inf")


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    picks = range(0, a.shape[0], max(1, a.shape[0] // 8))
    luma = np.array([0.299, 0.587, 0.114])
    return float(
        np.mean(
            [structural_similarity(a[i] @ luma, b[i] @ luma, data_range=255.0) for i in picks]
        )
    )


class InvisibleWatermarkPeers:
    """invisible-watermark's dwtDct and RivaGAN. The package imports torch at import time
    only for RivaGAN's tensor glue, so dwtDct's module is loaded on its own and RivaGAN's
    shipped ONNX encoder/decoder run through onnxruntime with the same pre/post-processing
    done in numpy. Both take BGR frames; bits are voted per video over frames."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("imwatermark")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("invisible-watermark is not installed")
        folder = Path(next(iter(spec.submodule_search_locations)))
        module_spec = importlib.util.spec_from_file_location("_peer_maxdct", folder / "maxDct.py")
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        self._max_dct = module.EmbedMaxDct
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._riva_encoder = onnxruntime.InferenceSession(
            str(folder / "rivagan_encoder.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._riva_decoder = onnxruntime.InferenceSession(
            str(folder / "rivagan_decoder.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, method: str, frame: np.ndarray, bits: np.ndarray) -> np.ndarray:
        bgr = np.ascontiguousarray(frame[..., ::-1])
        if method == "dwtDct":
            out = self._max_dct(list(bits), wmLen=PEER_BITS).encode(bgr)
        else:
            tensor = (bgr.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None, :, None]
            marked = self._riva_encoder.run(
                None, {"frame": tensor, "data": bits.astype(np.float32)[None]}
            )[0]
            out = ((np.clip(marked[0, :, 0], -1, 1).transpose(1, 2, 0) + 1) * 127.5).astype(
                np.uint8
            )
        return np.ascontiguousarray(out[..., ::-1])

    def soft_bits(self, method: str, frame: np.ndarray) -> np.ndarray:
        """Per-bit scores in [0, 1] for one frame (dwtDct only gives hard bits)."""
        bgr = np.ascontiguousarray(frame[..., ::-1])
        if method == "dwtDct":
            return np.asarray(self._max_dct([], wmLen=PEER_BITS).decode(bgr), dtype=np.float32)
        tensor = (bgr.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None, :, None]
        return np.asarray(self._riva_decoder.run(None, {"frame": tensor})[0][0], np.float32)


def run_peers(
    peers: InvisibleWatermarkPeers,
    frames_all: np.ndarray,
    fps: float,
    index: int,
    hd: bool,
    peer_frames: dict[str, int],
    tally: Callable[[str, str], Tally],
    quality: dict[str, list[tuple[float, float]]],
    speed: dict[str, list[tuple[int, float]]],
    attacks: dict[str, Callable[[np.ndarray, float], np.ndarray]],
) -> None:
    bits = np.unpackbits(np.frombuffer((0xC0FFEE00 + index).to_bytes(4, "big"), np.uint8))
    for method, count in peer_frames.items():
        if method == "rivaGan" and hd:
            continue
        frames = frames_all[:count]
        begin = time.perf_counter()
        marked = np.stack([peers.embed(method, frame, bits) for frame in frames])
        if not hd:
            speed.setdefault(f"{method}_embed_360p", []).append(
                (count, time.perf_counter() - begin)
            )
        quality[method].append((psnr(frames, marked), ssim(frames, marked)))
        for attack, apply in attacks.items():
            attacked = apply(marked, fps)
            soft = np.stack([peers.soft_bits(method, frame) for frame in attacked])
            entry = tally(method, attack)
            entry.accuracies.extend(((soft > 0.5) == bits[None, :]).mean(axis=1).tolist())
            entry.recovered.append(bool(np.array_equal(soft.mean(axis=0) > 0.5, bits == 1)))


