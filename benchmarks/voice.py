"""VOICE-NOT-OTHERS on synthetic speakers: each espeak-ng voice (tests/speech_media.VOICES,
all synthetic) enrols from what a verification hears (three challenge digits read in a 4 s
MP4, by default) or, with `--enrol sentence`, from the digits and a sentence; then every
other sentence it speaks is scanned against all enrolled voices. FAR: another
speaker's speech within the match distance; FRR: the speaker's own speech beyond it. Beside
it, the same scan on plain MFCC means (no speaker model) as the baseline.

    python -m benchmarks.voice [--voices 12] [--threads 1] [--enrol digits|sentence]

The default is what the product does (the worker enrols from the verification's digits);
`--enrol sentence` shows what a longer enrolment reading would give.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmarks._common import percentile, table
from domain.faces import FaceTemplate, Metric
from domain.voice import judge_voices
from inference.face_index import TieredFaceIndex
from inference.voice import ResemblyzerSpeakerEmbedder
from tests import face_media
from tests.speech_media import SENTENCES, VOICES, digits_text, reading, spoken


def mp4(audio: np.ndarray, rate: int) -> bytes:
    frames = [np.zeros((64, 64, 3), np.uint8)] * max(2, int(audio.size / rate * 2))
    return face_media.clip(frames, fps=2, audio=audio, audio_rate=rate)


def mfcc_template(audio: np.ndarray, rate: int) -> FaceTemplate:
    import librosa

    mfcc = librosa.feature.mfcc(y=audio, sr=rate, n_mfcc=20)
    vector = np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])
    vector = vector - vector.mean()
    return FaceTemplate("mfcc", Metric.COSINE, tuple(float(v) for v in vector))


def rates(genuine: list[float], impostor: list[float], match: float, review: float
          ) -> dict[str, float]:
    return {"far": sum(d <= match for d in impostor) / len(impostor),
            "frr": sum(d > match for d in genuine) / len(genuine),
            "impostor_review": sum(match < d <= review for d in impostor) / len(impostor),
            "genuine_review": sum(match < d <= review for d in genuine) / len(genuine)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voices", type=int, default=len(VOICES))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--enrol", choices=("sentence", "digits"), default="digits",
                        help="enrol, as a verification does, from three digits only "
                             "(default), or from the digits and a sentence")
    parser.add_argument("--sweep", action="store_true",
                        help="also print FAR/FRR at other match distances")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    voices = VOICES[:args.voices]
    embedder = ResemblyzerSpeakerEmbedder()
    thresholds = embedder.thresholds

    index = TieredFaceIndex(embedder.model_id, Metric.COSINE)
    baseline = TieredFaceIndex("mfcc", Metric.COSINE)
    probes: list[tuple[str, bytes, np.ndarray, int]] = []
    enrol_times = []
    for voice in voices:
        audio, rate = spoken(f"{digits_text('472')} {SENTENCES[0]}", voice) \
            if args.enrol == "sentence" else reading("472", voice, seconds=4.0)
        started = time.perf_counter()
        template = embedder.enrol(mp4(audio, rate))
        enrol_times.append(time.perf_counter() - started)
        assert template is not None, voice
        index.add(voice, template)
        baseline.add(voice, mfcc_template(audio, rate))
        for sentence in SENTENCES[1:]:
            audio, rate = spoken(sentence, voice)
            probes.append((voice, mp4(audio, rate), audio, rate))

    genuine, impostor, base_genuine, base_impostor = [], [], [], []
    wrong_verdicts = 0
    scan_times = []
    for voice, media, audio, rate in probes:
        started = time.perf_counter()
        segments = embedder.segments(media)
        scan_times.append(time.perf_counter() - started)
        for segment in segments:
            for match in index.search(segment.template, len(voices)):
                (genuine if match.subject_id == voice else impostor).append(match.distance)
            alone = judge_voices([segment], index, thresholds, frozenset())
            mine = judge_voices([segment], index, thresholds, frozenset({voice}))
            wrong_verdicts += alone.outcome == "pass" or mine.outcome == "fail"
        for match in baseline.search(mfcc_template(audio, rate), len(voices)):
            (base_genuine if match.subject_id == voice else base_impostor).append(
                match.distance)

    model = rates(genuine, impostor, thresholds.match, thresholds.review)
    # The baseline gets its own best match distance: the one with the fewest errors.
    best = min(sorted(base_genuine + base_impostor),
               key=lambda t: sum(rates(base_genuine, base_impostor, t, t)[k]
                                 for k in ("far", "frr")))
    base = rates(base_genuine, base_impostor, best, best)
    print(f"{len(voices)} espeak-ng voices (synthetic), {len(probes)} probe sentences, "
          f"{len(genuine)} genuine and {len(impostor)} impostor comparisons; thresholds "
          f"match <= {thresholds.match}, review <= {thresholds.review} (cosine distance)")
    print(f"genuine distance p50 {percentile(genuine, 50):.3f} max {max(genuine):.3f}; "
          f"impostor min {min(impostor):.3f} p1 {percentile(impostor, 1):.3f} "
          f"p50 {percentile(impostor, 50):.3f}")
    print(table(["scan", "FAR", "FRR", "impostor review", "genuine review", "errors vs MFCC"], [
        ("MFCC means, best single threshold", base["far"], base["frr"], 0.0, 0.0, 1.0),
        (embedder.model_id, model["far"], model["frr"], model["impostor_review"],
         model["genuine_review"],
         (model["far"] + model["frr"]) / max(base["far"] + base["frr"], 1e-9)),
    ]))
    if args.sweep:
        print(table(["match distance", "FAR", "FRR"], [
            (t, rates(genuine, impostor, t, t)["far"], rates(genuine, impostor, t, t)["frr"])
            for t in (0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12, 0.13, 0.15)]))
    print(f"enrol p50 {percentile(enrol_times, 50) * 1000:.0f} ms, scan of a ~4 s clip "
          f"p50 {percentile(scan_times, 50) * 1000:.0f} ms; rule verdicts wrong "
          f"(other's voice passed, own voice failed): {wrong_verdicts}")
    print(f"RESULT far={model['far']:.4f} frr={model['frr']:.4f} "
          f"impostor_review={model['impostor_review']:.4f} "
          f"genuine_review={model['genuine_review']:.4f} baseline_far={base['far']:.4f} "
          f"baseline_frr={base['frr']:.4f} voices={len(voices)} enrol={args.enrol}")


if __name__ == "__main__":
    main()
