"""The verification video checks on 5 s videos of a real face (scikit-image's astronaut, head
turns by warps) reading the challenge digits in espeak-ng voices (synthetic speech): time
per check (decode, faces, head turns, audio decode, VAD, digits, voice) and the accuracy of
the digits check on right- and wrong-digit challenges. Baseline in the same run: the same
checker without the speech models (digits and voice unchecked).

    python -m benchmarks.verification [--videos 12] [--threads 1]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict

import torch

from benchmarks._common import mean, table
from inference.face_scan import sample_frames
from inference.faces_dlib import DlibFaceAnalyzer
from inference.liveness import VerificationVideoChecker
from inference.speech import (
    AUDIO_RATE,
    PocketsphinxDigitsChecker,
    SileroSpeechDetector,
    decode_audio,
)
from inference.voice import ResemblyzerSpeakerEmbedder
from tests import face_media
from tests.verification_media import FPS, verification_video

VOICES = ("en-us", "en-us+m3", "en-us+f3", "en+m1", "en-gb-x-rp+m7", "en+f2")
DIRECTIONS = (("left", "up"), ("right", "down"), ("up", "left"), ("down", "right"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = random.Random(11)
    analyzer = DlibFaceAnalyzer()
    vad = SileroSpeechDetector()
    digits = PocketsphinxDigitsChecker(vad)
    speaker = ResemblyzerSpeakerEmbedder(vad)
    full = VerificationVideoChecker(analyzer, digits=digits, voice=speaker)
    bare = VerificationVideoChecker(analyzer)
    photo = face_media.astronaut()

    stages: dict[str, list[float]] = defaultdict(list)
    totals, bare_totals = [], []
    right = wrong = near = 0
    per_voice: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i in range(args.videos):
        challenge = "".join(str(rng.randrange(10)) for _ in range(3))
        other = "".join(str((int(d) + rng.randrange(1, 10)) % 10) for d in challenge)
        one_off = challenge[:2] + str((int(challenge[2]) + rng.randrange(1, 10)) % 10)
        voice = VOICES[i % len(VOICES)]
        directions = DIRECTIONS[i % len(DIRECTIONS)]
        media = verification_video(photo, analyzer, directions, digits=challenge,
                                   voice=voice, frames=5 * FPS, seed=i)

        started = time.perf_counter()
        frames = list(sample_frames(media, full.settings.sample_fps))
        stages["decode video (6 fps)"].append(time.perf_counter() - started)
        started = time.perf_counter()
        audio = decode_audio(media)
        stages["decode audio"].append(time.perf_counter() - started)
        assert audio is not None and frames
        started = time.perf_counter()
        spans = vad.segments(audio)
        stages["VAD (silero)"].append(time.perf_counter() - started)
        region = audio[max(0, spans[0][0] - 2400):spans[-1][1] + 2400] if spans else audio
        started = time.perf_counter()
        digits.transcribe(region, len(challenge))
        stages["digits ASR (pocketsphinx)"].append(time.perf_counter() - started)
        speech = audio[spans[0][0]:spans[-1][1]] if spans else audio
        started = time.perf_counter()
        speaker.embed_samples(speech)
        stages["voice embedding (resemblyzer)"].append(time.perf_counter() - started)

        started = time.perf_counter()
        outcome = full.check(media, directions, challenge, identity_id="bench")
        totals.append(time.perf_counter() - started)
        timed = dict(outcome.stage_seconds)
        stages["faces (dlib, incl. video decode)"].append(timed.get("faces", 0.0))
        stages["head turns"].append(timed.get("head_turns", 0.0))
        heard = "spoken_digits_mismatch" not in outcome.reasons and \
            "no_speech" not in outcome.reasons
        mismatch = full.check(media, directions, other, identity_id="bench")
        rejected = "spoken_digits_mismatch" in mismatch.reasons or \
            "no_speech" in mismatch.reasons
        right += heard
        wrong += rejected
        near += digits.check(media, one_off).status != "heard"
        per_voice[voice][0] += heard
        per_voice[voice][1] += 1
        started = time.perf_counter()
        bare.check(media, directions, challenge, identity_id="bench")
        bare_totals.append(time.perf_counter() - started)

    n = args.videos
    accuracy = (right + wrong) / (2 * n)
    seconds = mean(totals)
    print(f"{n} videos of 5 s ({photo.shape[1]}x{photo.shape[0]} astronaut, {FPS} fps), "
          f"espeak-ng voices {VOICES} "
          f"(synthetic speech), torch threads {args.threads}, audio at {AUDIO_RATE} Hz")
    print(table(["check", "mean ms", "share of a verification"],
                [(name, mean(v) * 1000, mean(v) / seconds) for name, v in stages.items()]))
    print(table(["verification", "seconds", "vs without speech models"], [
        ("faces, turns, audio level (digits and voice unchecked)", mean(bare_totals), 1.0),
        ("every check (digits heard, voice enrolled)", seconds, seconds / mean(bare_totals)),
    ]))
    print(table(["digits", "count", "rate"], [
        ("right digits heard", f"{right}/{n}", right / n),
        ("wrong digits refused", f"{wrong}/{n}", wrong / n),
        ("one digit off refused (last digit changed)", f"{near}/{n}", near / n),
        *((f"right digits heard, voice {v}", f"{h}/{c}", h / c)
          for v, (h, c) in per_voice.items()),
    ]))
    print(f"RESULT digits_accuracy={accuracy:.3f} seconds_per_verification={seconds:.2f} "
          f"right_digits_heard={right / n:.3f} wrong_digits_refused={wrong / n:.3f} "
          f"one_digit_off_refused={near / n:.3f} "
          f"seconds_without_speech={mean(bare_totals):.2f} videos={n}")


if __name__ == "__main__":
    main()
