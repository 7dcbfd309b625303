"""Synthetic verification videos of real faces, for `consentry demo` and the tests: a photo
that ships inside an installed package (scikit-image's astronaut, a face cut from
insightface's group photo), head turns approximated by warps, and the challenge digits read
aloud by Debian's espeak-ng (a formant synthesiser: every voice is synthetic). Nothing here
runs in the service itself."""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from domain.faces import FaceAnalyzer

AUDIO_RATE = 16_000
FPS = 6
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ESPEAK_MISSING = ("espeak-ng is not installed: it reads the challenge digits aloud "
                  "(apt-get install espeak-ng)")


class SpeechUnavailableError(RuntimeError):
    """espeak-ng is missing."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def astronaut() -> np.ndarray:
    """Eileen Collins (scikit-image's `astronaut`, a public-domain NASA photo), RGB."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def group_photo() -> np.ndarray:
    """insightface's `t1.jpg`: six people side by side, RGB."""
    image = cv2.imread(str(_package_dir("insightface") / "data/images/t1.jpg"),
                       cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError("insightface's data/images/t1.jpg")
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def group_member(analyzer: FaceAnalyzer, index: int) -> np.ndarray:
    """The `index`th face from the left of the group photo, cut out with a margin and
    enlarged twice, as a close-up selfie would show them. For dlib, faces 2 and 3 sit at
    0.78 or more from each other and from the astronaut, and pass the head-turn checks of a
    synthetic verification video (faces 0, 1 and 4 do not)."""
    group = group_photo()
    face = sorted(analyzer.detect(group), key=lambda f: f.box.left)[index].box
    pad = int(face.width)
    top, left = max(0, int(face.top) - pad), max(0, int(face.left) - pad)
    crop = group[top:int(face.bottom) + pad, left:int(face.right) + pad]
    return cv2.resize(crop, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)


def clip(frames: list[np.ndarray], fps: float = 10, crf: int = 23,
         audio: np.ndarray | None = None, audio_rate: int = AUDIO_RATE) -> bytes:
    """An in-memory MP4 (H.264 yuv420p, optional mono AAC) of the given RGB frames."""
    height, width = frames[0].shape[0] & ~1, frames[0].shape[1] & ~1
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(crf), "preset": "veryfast"}
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=audio_rate)
            sound.layout = "mono"
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]),
                                               format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None and audio is not None:
            samples = np.ascontiguousarray(audio.astype(np.float32)[None, :])
            chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            chunk.sample_rate = audio_rate
            container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return buffer.getvalue()


def espeak() -> str:
    """The espeak-ng executable; `SpeechUnavailableError` when it is missing."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise SpeechUnavailableError(ESPEAK_MISSING)
    return found


def spoken(text: str, voice: str = "en-us", words_per_minute: int = 130
           ) -> tuple[np.ndarray, int]:
    """`text` spoken by espeak-ng: float32 mono samples in [-1, 1] and their rate."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        # An argument list (no shell): the text is the challenge's digit words.
        command = [espeak(), "-v", voice, "-s", str(words_per_minute), "-w", str(path), text]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603
        with wave.open(str(path)) as sound:
            rate = sound.getframerate()
            pcm = np.frombuffer(sound.readframes(sound.getnframes()), dtype="<i2")
    return (pcm.astype(np.float32) / 32768.0), rate


def digits_text(digits: str) -> str:
    """How a member reads the challenge: each digit as a word, with a pause after it."""
    return ". ".join(DIGIT_WORDS[int(d)] for d in digits) + "."


def reading(digits: str, voice: str = "en-us", seconds: float = 4.0,
            lead: float = 0.5) -> tuple[np.ndarray, int]:
    """A verification's audio track: `lead` seconds of quiet room noise, the digits read
    by `voice`, then more noise up to `seconds` (longer speech is kept whole)."""
    speech, rate = spoken(digits_text(digits), voice)
    total = max(int(seconds * rate), int(lead * rate) + speech.size + rate // 4)
    noise = np.random.default_rng(int(digits or "0")).normal(0, 0.002, total)
    audio = noise.astype(np.float32)
    start = int(lead * rate)
    audio[start:start + speech.size] += speech
    return audio, rate


def speech_noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise bursts at a syllable rate of four a second with pauses between them: the level
    rises and falls as speech does (no words in it)."""
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    bursts = (np.sin(2 * np.pi * 4 * t) > 0).astype(np.float32)
    noise = np.random.default_rng(seed).uniform(-1, 1, t.size).astype(np.float32)
    return 0.3 * bursts * noise


def turned(photo: np.ndarray, analyzer: FaceAnalyzer, direction: str,
           amount: float = 1.0) -> np.ndarray:
    """The photo with the head "turned": for left/right the part below the eyes is sheared
    and the nose region shifted sideways (the nose moves against the eyes, which is what
    `Landmarks.yaw` measures); for up/down the face is squeezed or stretched vertically
    about the eye line (`Landmarks.pitch`). Left is the person's own left, which moves
    their nose towards the image's right edge in an unmirrored recording."""
    face = analyzer.detect(photo)[0]
    marks = face.landmarks
    eye_distance = abs(marks.eye_right[0] - marks.eye_left[0])
    eye_y = (marks.eye_left[1] + marks.eye_right[1]) / 2
    nose_x, nose_y = marks.nose
    height, width = photo.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    map_x, map_y = xs.copy(), ys.copy()
    if direction in ("left", "right"):
        sign = amount * (1.0 if direction == "left" else -1.0)
        sigma = 0.6 * eye_distance
        nose_region = np.exp(-((xs - nose_x) ** 2 + (ys - nose_y) ** 2) / (2 * sigma ** 2))
        map_x = xs - sign * (0.16 * (ys - eye_y) + 0.3 * eye_distance * nose_region)
    elif direction in ("up", "down"):
        stretch = 1.0 - 0.25 * amount if direction == "up" else 1.0 + 0.45 * amount
        map_y = eye_y + (ys - eye_y) / stretch
    else:
        raise ValueError(direction)
    return cv2.remap(photo, map_x.astype(np.float32), map_y.astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def verification_video(photo: np.ndarray, analyzer: FaceAnalyzer,
                       directions: list[str] | tuple[str, ...], *, digits: str | None = None,
                       voice: str = "en-us", frames: int = 24, seed: int = 0) -> bytes:
    """An MP4 of the face looking ahead, turning as challenged (each turn held for four
    frames, a quarter of a second either side); its audio is `digits` read by the
    espeak-ng `voice`, or speech-like noise without `digits`. `seed` varies the pixels
    and the audio so that two videos of one face differ in their digest."""
    rng = np.random.default_rng(seed)
    jitter = rng.integers(-2, 3, size=photo.shape, dtype=np.int16)
    base = np.clip(photo.astype(np.int16) + jitter, 0, 255).astype(np.uint8)
    shots = [base] * frames
    first, second = frames // 4, frames // 4 * 2 + 2
    for start, direction in ((first, directions[0]), (second, directions[1])):
        pose = [turned(base, analyzer, direction, amount) for amount in (0.9, 1.0, 1.0, 0.9)]
        shots[start:start + 4] = pose
    if digits is None:
        return clip(shots, fps=FPS, crf=20, audio=speech_noise(frames / FPS, seed))
    audio, rate = reading(digits, voice, seconds=frames / FPS)
    audio = audio + rng.normal(0, 0.001, audio.size).astype(np.float32)
    return clip(shots, fps=FPS, crf=20, audio=audio, audio_rate=rate)
