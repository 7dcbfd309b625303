"""Invisible video watermark under re-encoding, rescaling, cropping and colour attacks, with
invisible-watermark's dwtDct and RivaGAN run as peers on the same clips in the same run.

Run from the repository root:
    python -m benchmarks.watermark [--video PATH] [--quick] [--extra N] [--attack NAME ...]
The last line printed is `RESULT key=value ...`.
"""

# ruff: noqa: E402 - thread limits must be set before numpy and OpenCV are imported

from __future__ import annotations

import os

# One core, as the goal is stated per core; set before numpy and OpenCV load their pools.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse
import importlib.util
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from skimage import data as images
from skimage.metrics import structural_similarity

from adapters.video_io import PyAvVideoCodec, encode_video
from inference.watermark import DctSpreadSpectrumWatermarker

cv2.setNumThreads(1)

KEY = b"benchmark-watermark-key-not-a-secret"
PEER_BITS = 32
CODEC = PyAvVideoCodec()


@dataclass
class Clip:
    name: str
    frames: np.ndarray
    fps: float

    @property
    def size(self) -> str:
        return f"{self.frames.shape[2]}x{self.frames.shape[1]}"


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


# --- clips -------------------------------------------------------------------------------


def camera_move(
    image: np.ndarray, size: tuple[int, int], frames: int, pan: float, zoom: float, grain: float,
    seed: int,
) -> np.ndarray:
    """A clip of a natural image under a camera move: `pan` pixels per frame (at 360p
    scale), `zoom` total over the clip, plus Gaussian sensor grain."""
    height, width = size
    scale = height / 360
    canvas = cv2.resize(image, (int(width * 1.3), int(height * 1.3)), interpolation=cv2.INTER_AREA)
    canvas = canvas.astype(np.float32)
    rng = np.random.default_rng(seed)
    out = []
    for t in range(frames):
        magnify = 1 + zoom * t / max(1, frames - 1)
        centre_x = canvas.shape[1] / 2 + pan * scale * (t - frames / 2)
        centre_y = canvas.shape[0] / 2
        step = 1 / magnify
        warp = np.array(
            [[step, 0, centre_x - step * width / 2], [0, step, centre_y - step * height / 2]],
            dtype=np.float32,
        )
        frame = cv2.warpAffine(
            canvas, warp, (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT,
        )
        if grain:
            frame += rng.normal(0, grain, frame.shape[:2]).astype(np.float32)[..., None]
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
    return np.stack(out)


# Camera moves for the clips built from scikit-image's natural images: static with grain,
# a slow pan, a zoom-in, and a faster pan (the hardest case for a static mark under H.264).
MOVES = (
    ("astronaut", images.astronaut, 0.0, 0.0, 1.5),
    ("coffee", images.coffee, 1.0, 0.0, 0.0),
    ("chelsea", images.chelsea, 0.0, 0.06, 0.0),
    ("rocket", images.rocket, 2.0, 0.02, 1.0),
)
# More 640x360 clips for `--extra`: other images and moves (pans of 0.5-3 pixels a frame,
# zooms, grain), for recovery rates over more than a handful of videos.
EXTRA_MOVES = (
    ("coffee_pan2", images.coffee, 2.0, 0.0, 0.5),
    ("astronaut_pan1", images.astronaut, 1.0, 0.0, 0.0),
    ("camera_pan1", lambda: np.stack([images.camera()] * 3, axis=-1), 1.0, 0.0, 0.5),
    ("ihc_drift", images.immunohistochemistry, 0.5, 0.03, 1.0),
    ("hubble_pan", images.hubble_deep_field, 1.5, 0.0, 0.0),
    ("coffee_zoom", images.coffee, 0.0, 0.05, 1.0),
    ("chelsea_pan3", images.chelsea, 3.0, 0.0, 1.0),
    ("rocket_static", images.rocket, 0.0, 0.0, 0.0),
    ("moon_pan1", lambda: np.stack([images.moon()] * 3, axis=-1), 1.0, 0.02, 0.5),
    ("astronaut_zoom_out", images.astronaut, 0.5, -0.05, 1.0),
)


def build_clips(video: Path | None, quick: bool, extra: int = 0) -> list[Clip]:
    clips = []
    sizes = [(360, 640)] if quick else [(360, 640), (720, 1280)]
    if video is not None:
        decoded = CODEC.decode(video)
        real = decoded.frames[:90] if quick else decoded.frames
        for height, width in sizes:
            frames = real
            if frames.shape[1:3] != (height, width):
                # The 720p version is the real clip upscaled (bicubic), 5 s of it to bound
                # the run time.
                real = real[:150]
                frames = np.stack(
                    [cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC) for f in real]
                )
            clips.append(Clip(f"{video.stem}", frames, decoded.fps))
    for index, (name, loader, pan, zoom, grain) in enumerate(MOVES[:2] if quick else MOVES):
        for size in sizes:
            hd = size[0] >= 720
            # Two of the four moves at 720p, 2 s each, to bound the run time.
            if hd and index % 2:
                continue
            count = 60 if quick or hd else 90
            frames = camera_move(loader(), size, count, pan, zoom, grain, index)
            clips.append(Clip(name, frames, 30.0))
    for index in range(extra):
        name, loader, pan, zoom, grain = EXTRA_MOVES[index % len(EXTRA_MOVES)]
        frames = camera_move(loader(), (360, 640), 60, pan, zoom, grain, 100 + index)
        repeat = index // len(EXTRA_MOVES)  # the same move again, other grain and payload
        clips.append(Clip(f"{name}#{repeat + 1}" if repeat else name, frames, 30.0))
    return clips


# --- attacks -------------------------------------------------------------------------------


def _h264(frames: np.ndarray, fps: float, crf: int) -> np.ndarray:
    return CODEC.decode(encode_video(frames, fps, crf=crf, preset="medium")).frames


def _resize_each(frames: np.ndarray, make: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.stack([make(frame) for frame in frames])


def _down_up(frames: np.ndarray, _fps: float) -> np.ndarray:
    height, width = frames.shape[1:3]
    return _resize_each(
        frames,
        lambda f: cv2.resize(
            cv2.resize(f, (width // 2, height // 2), interpolation=cv2.INTER_AREA),
            (width, height), interpolation=cv2.INTER_LINEAR,
        ),
    )


def _crop_resize(frames: np.ndarray, _fps: float) -> np.ndarray:
    height, width = frames.shape[1:3]
    top, left = round(height * 0.05), round(width * 0.05)
    return _resize_each(
        frames,
        lambda f: cv2.resize(
            f[top : height - top, left : width - left], (width, height),
            interpolation=cv2.INTER_LINEAR,
        ),
    )


def _jpeg(frames: np.ndarray, _fps: float) -> np.ndarray:
    def once(frame: np.ndarray) -> np.ndarray:
        _, buffer = cv2.imencode(".jpg", frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 50])
        decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        assert decoded is not None
        return np.ascontiguousarray(decoded[..., ::-1])

    return _resize_each(frames, once)


def _vp9(frames: np.ndarray, fps: float) -> np.ndarray:
    webm = encode_video(frames, fps, codec="libvpx-vp9", crf=36, container_format="webm")
    return CODEC.decode(webm).frames


def _trim(frames: np.ndarray, fps: float) -> np.ndarray:
    length = round(2 * fps)
    start = max(0, (frames.shape[0] - length) // 2)
    return _h264(frames[start : start + length], fps, 23)


ATTACKS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "none": lambda f, _fps: f,
    "h264_crf23": lambda f, fps: _h264(f, fps, 23),
    "h264_crf28": lambda f, fps: _h264(f, fps, 28),
    "h264_crf33": lambda f, fps: _h264(f, fps, 33),
    "vp9_crf36": _vp9,
    "down50_up": _down_up,
    "crop90_resize": _crop_resize,
    "jpeg_q50": _jpeg,
    "bright+20%": lambda f, _fps: np.clip(f.astype(np.float32) * 1.2, 0, 255).astype(np.uint8),
    "h264_x2_chain": lambda f, fps: _h264(_h264(f, fps, 23), fps, 28),
    "trim_2s_h264": _trim,
}
FP_ATTACKS = ("none", "h264_crf28", "down50_up", "crop90_resize")


# --- peers: invisible-watermark ------------------------------------------------------------


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


# --- measurement ---------------------------------------------------------------------------


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


def run(video: Path | None, quick: bool, extra: int = 0,
        attacks: dict[str, Callable[[np.ndarray, float], np.ndarray]] | None = None) -> None:
    started = time.perf_counter()
    attacks = attacks or ATTACKS
    clips = build_clips(video, quick, extra)
    marker = DctSpreadSpectrumWatermarker(KEY)
    try:
        peers: InvisibleWatermarkPeers | None = InvisibleWatermarkPeers()
    except (ImportError, RuntimeError) as exc:
        print(f"peers unavailable ({exc}); install invisible-watermark --no-deps, onnxruntime")
        peers = None
    peer_frames = {"dwtDct": 12 if quick else 24, "rivaGan": 4 if quick else 6}
    print(
        f"clips: {len(clips)} "
        + ", ".join(f"{c.name}@{c.size}x{c.frames.shape[0]}f" for c in clips)
    )
    print(
        f"peers run on the first {peer_frames['dwtDct']} (dwtDct) / {peer_frames['rivaGan']}"
        " (rivaGan, 640x360 clips only) frames of each clip: RivaGAN embeds at about"
        " 1 frame/s here, so its speed is measured on those frames and scaled."
    )

    tallies: dict[tuple[str, str], Tally] = {}
    quality: dict[str, list[tuple[float, float]]] = {"ours": [], "dwtDct": [], "rivaGan": []}
    speed: dict[str, list[tuple[int, float]]] = {}
    false_positives, null_trials = 0, 0

    def tally(method: str, attack: str) -> Tally:
        return tallies.setdefault((method, attack), Tally())

    for index, clip in enumerate(clips):
        payload = (0x5EED00000000 + index * 7919).to_bytes(6, "big")
        hd = clip.frames.shape[1] >= 720
        begin = time.perf_counter()
        marked = marker.embed(clip.frames, payload)
        speed.setdefault("ours_embed_720p" if hd else "ours_embed_360p", []).append(
            (clip.frames.shape[0], time.perf_counter() - begin)
        )
        quality["ours"].append((psnr(clip.frames, marked), ssim(clip.frames, marked)))
        for attack, apply in attacks.items():
            attacked = apply(marked, clip.fps)
            begin = time.perf_counter()
            reading = marker.detect(attacked)
            if attack == "none":
                speed.setdefault("ours_detect_720p" if hd else "ours_detect_360p", []).append(
                    (reading.frames_examined, time.perf_counter() - begin)
                )
            entry = tally("ours", attack)
            entry.recovered.append(reading.payload == payload)
            if reading.payload != payload:
                entry.missed.append(f"{clip.name}@{clip.size}")
            entry.accuracies.extend(marker.frame_bit_accuracy(attacked, payload).tolist())
            if attack in FP_ATTACKS:
                null = marker.detect(apply(clip.frames, clip.fps))
                false_positives += null.payload is not None
                null_trials += 1
        if peers is not None:
            run_peers(peers, clip, index, hd, peer_frames, tally, quality, speed, attacks)
        print(f"  done {clip.name}@{clip.size} ({time.perf_counter() - started:.0f} s)", flush=True)

    extra_trials, extra_fp = null_clips(marker, 40 if quick else 100)
    false_positives += extra_fp
    null_trials += extra_trials
    report(tallies, quality, speed, false_positives, null_trials, peers is not None, marker,
           attacks)
    print(f"total time {time.perf_counter() - started:.0f} s")


def run_peers(
    peers: InvisibleWatermarkPeers,
    clip: Clip,
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
        frames = clip.frames[:count]
        begin = time.perf_counter()
        marked = np.stack([peers.embed(method, frame, bits) for frame in frames])
        if not hd:
            speed.setdefault(f"{method}_embed_360p", []).append(
                (count, time.perf_counter() - begin)
            )
        quality[method].append((psnr(frames, marked), ssim(frames, marked)))
        for attack, apply in attacks.items():
            attacked = apply(marked, clip.fps)
            soft = np.stack([peers.soft_bits(method, frame) for frame in attacked])
            entry = tally(method, attack)
            entry.accuracies.extend(((soft > 0.5) == bits[None, :]).mean(axis=1).tolist())
            entry.recovered.append(bool(np.array_equal(soft.mean(axis=0) > 0.5, bits == 1)))


def null_clips(marker: DctSpreadSpectrumWatermarker, count: int) -> tuple[int, int]:
    """Unmarked clips from random crops of more natural images: trials and payloads read."""
    sources = [
        images.astronaut(), images.coffee(), images.chelsea(), images.rocket(),
        images.immunohistochemistry(), images.hubble_deep_field(),
        np.stack([images.camera()] * 3, axis=-1), np.stack([images.moon()] * 3, axis=-1),
    ]
    rng = np.random.default_rng(7)
    found = 0
    for index in range(count):
        image = sources[index % len(sources)]
        height, width = image.shape[:2]
        crop_h, crop_w = int(height * rng.uniform(0.4, 0.9)), int(width * rng.uniform(0.4, 0.9))
        top, left = rng.integers(0, height - crop_h), rng.integers(0, width - crop_w)
        clip = camera_move(
            image[top : top + crop_h, left : left + crop_w], (360, 640), 8, 2.0, 0.0, 1.0, index
        )
        found += marker.detect(clip).payload is not None
    return count, found


def _rate(samples: list[tuple[int, float]]) -> float:
    frames = sum(n for n, _ in samples)
    seconds = sum(s for _, s in samples)
    return frames / seconds if seconds else float("nan")


def report(
    tallies: dict[tuple[str, str], Tally],
    quality: dict[str, list[tuple[float, float]]],
    speed: dict[str, list[tuple[int, float]]],
    false_positives: int,
    null_trials: int,
    with_peers: bool,
    marker: DctSpreadSpectrumWatermarker,
    attacks: dict[str, Callable[[np.ndarray, float], np.ndarray]],
) -> None:
    methods = ["ours", "dwtDct", "rivaGan"] if with_peers else ["ours"]
    print()
    print(
        f"Per attack: bit accuracy per frame (ours: {marker.codeword_symbols * 6} coded bits"
        f" of a 48-bit payload; peers: {PEER_BITS} raw bits) and payload recovery per video."
    )
    header = f"{'attack':<15}" + "".join(f"{m + ' bit acc':>16}{m + ' recov':>16}" for m in methods)
    if with_peers:
        header += f"{'recov vs dwtDct':>17}{'recov vs riva':>15}"
    print(header)
    for attack in attacks:
        row = f"{attack:<15}"
        for method in methods:
            entry = tallies.get((method, attack), Tally())
            counts = f"({sum(entry.recovered)}/{len(entry.recovered)})"
            row += f"{entry.accuracy():>16.3f}{entry.recovery():>8.2f} {counts:>7}"
        if with_peers:
            ours = tallies[("ours", attack)].recovery()
            for peer in ("dwtDct", "rivaGan"):
                other = tallies[(peer, attack)].recovery()
                row += f"{(ours / other if other else float('inf')):>15.2f}x"
        print(row)
    for attack in attacks:
        missed = tallies[("ours", attack)].missed
        if missed:
            print(f"ours missed under {attack}: {', '.join(missed)}")
    print()
    for method in methods:
        values = quality[method]
        if values:
            print(
                f"{method:<8} PSNR mean {np.mean([p for p, _ in values]):.2f} dB"
                f" (min {min(p for p, _ in values):.2f}), SSIM mean"
                f" {np.mean([s for _, s in values]):.4f}"
            )
    rates = {name: _rate(samples) for name, samples in speed.items()}
    for name in sorted(rates):
        print(f"{name:<22} {rates[name]:8.1f} frames/s (one core)")
    embed_360 = rates.get("ours_embed_360p", float("nan"))
    riva = rates.get("rivaGan_embed_360p", float("nan"))
    dwt = rates.get("dwtDct_embed_360p", float("nan"))
    if with_peers:
        print(f"embed speed ratio: {embed_360 / dwt:.1f}x dwtDct, {embed_360 / riva:.1f}x rivaGan")
    fp_rate = false_positives / null_trials if null_trials else float("nan")
    print(
        f"false positives (ours): {false_positives}/{null_trials} unmarked clips; the detector's"
        f" bound per clip is <= 1e-6 ({marker.hypotheses} crop hypotheses, 2^48 codewords)."
        " Peers have no detection threshold: they always output bits (n/a)."
    )
    min_recovery = min(tallies[("ours", attack)].recovery() for attack in attacks)
    psnr_mean = float(np.mean([p for p, _ in quality["ours"]]))
    print(
        f"RESULT min_recovery={min_recovery:.3f} false_positive_rate={fp_rate:.4g}"
        f" psnr_db={psnr_mean:.2f} embed_fps_360p={embed_360:.1f}"
        f" ratio_vs_rivagan={embed_360 / riva:.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--video",
        type=Path,
        default=None,
        help="real clip to include, e.g. ../shared/data/video/short_hamilton_clip.mp4",
    )
    parser.add_argument("--quick", action="store_true", help="fewer clips, frames and sizes")
    parser.add_argument("--extra", type=int, default=0,
                        help="this many more 640x360 clips (other images and moves)")
    parser.add_argument("--attack", action="append", choices=sorted(ATTACKS),
                        help="only this attack (repeatable; 'none' is always run)")
    args = parser.parse_args(argv)
    video: Path | None = args.video
    if video is not None and not video.exists():
        print(f"{video} not found: using only clips built from scikit-image's images")
        video = None
    chosen = {name: ATTACKS[name] for name in ATTACKS
              if not args.attack or name == "none" or name in args.attack}
    run(video, args.quick, args.extra, chosen)


if __name__ == "__main__":
    main()
