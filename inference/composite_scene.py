"""Procedural scenes for the composite generator: a sky and a ground scrolling at two
speeds, clouds, a sun or moon, moving shapes and a caption, all chosen from the prompt and
the seed. Layers are built once per clip; a frame is two slices and a few small pastes."""

from __future__ import annotations

import hashlib
import math
import unicodedata

import cv2
import numpy as np

Colour = tuple[int, int, int]

# (sky top, sky at the horizon, far ground, near ground, cloud, sun or moon)
PALETTES: dict[str, tuple[Colour, ...]] = {
    "day": ((70, 130, 220), (180, 215, 245), (110, 160, 80), (60, 110, 45),
            (250, 250, 250), (255, 240, 170)),
    "sunset": ((60, 50, 120), (250, 150, 90), (120, 80, 70), (60, 40, 40),
               (250, 190, 170), (255, 200, 120)),
    "night": ((8, 12, 40), (40, 50, 100), (35, 45, 50), (15, 20, 25),
              (90, 100, 130), (230, 230, 210)),
    "sea": ((60, 140, 210), (190, 225, 240), (40, 110, 170), (20, 70, 130),
            (250, 250, 255), (255, 245, 190)),
    "forest": ((90, 150, 200), (200, 225, 220), (50, 110, 50), (25, 70, 30),
               (240, 245, 240), (255, 240, 180)),
    "snow": ((120, 160, 210), (225, 235, 245), (230, 235, 245), (200, 210, 225),
             (255, 255, 255), (255, 250, 220)),
}
KEYWORDS: dict[str, tuple[str, ...]] = {
    "night": ("night", "moon", "star", "dark", "midnight"),
    "sunset": ("sunset", "sunrise", "dusk", "dawn", "evening"),
    "sea": ("sea", "ocean", "beach", "lake", "river", "surf", "boat", "water"),
    "forest": ("forest", "wood", "jungle", "park", "garden", "tree"),
    "snow": ("snow", "winter", "ice", "mountain", "ski"),
}
CAPTION_WORDS = 6


def scene_rng(prompt: str, seed: int) -> np.random.Generator:
    """The clip's random stream: the same prompt and seed give the same clip everywhere."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def palette_name(prompt: str, rng: np.random.Generator) -> str:
    words = set(unicodedata.normalize("NFKC", prompt).casefold().replace(",", " ").split())
    for name, keys in KEYWORDS.items():
        if any(word.startswith(key) for word in words for key in keys):
            return name
    return str(rng.choice(sorted(PALETTES)))


def caption_text(prompt: str, words: int = CAPTION_WORDS) -> str:
    """The prompt's first words in ASCII (the Hershey font has no other glyphs)."""
    ascii_prompt = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    split = ascii_prompt.split()
    return " ".join(split[:words]) + (" ..." if len(split) > words else "")


def periodic_noise(rng: np.random.Generator, height: int, width: int,
                   cutoff: float) -> np.ndarray:
    """Smooth noise in [-1, 1] that wraps around horizontally (built in the frequency
    domain), so a scrolling layer shows no seam. `cutoff` is in cycles per pixel."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    envelope = np.exp(-(fy ** 2 + fx ** 2) / cutoff ** 2)
    envelope[0, 0] = 0.0
    spectrum = (rng.standard_normal(envelope.shape)
                + 1j * rng.standard_normal(envelope.shape)) * envelope
    noise = np.fft.irfft2(spectrum, s=(height, width))
    return (noise / (np.abs(noise).max() or 1.0)).astype(np.float32)


def _gradient(top: np.ndarray, bottom: np.ndarray, rows: int) -> np.ndarray:
    weight = np.linspace(0.0, 1.0, rows, dtype=np.float32)[:, None, None]
    return (1 - weight) * top + weight * bottom


def _jitter(colour: Colour, rng: np.random.Generator, amount: int = 18) -> np.ndarray:
    return np.clip(np.asarray(colour, np.float32) + rng.uniform(-amount, amount, 3), 0, 255)


class _Sprite:
    """A disc or a box of one colour with soft edges, moving at constant speed across the
    frame (wrapping round) and bobbing up and down."""

    def __init__(self, rng: np.random.Generator, width: int, top: int, bottom: int) -> None:
        size = int(rng.integers(max(6, width // 40), max(8, width // 12)))
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) - (size - 1) / 2
        if rng.random() < 0.5:
            edge = size / 2 - np.hypot(xs, ys)
        else:
            edge = size / 2 - np.maximum(np.abs(xs), np.abs(ys) * 1.6)
        self.alpha = np.clip(edge, 0.0, 1.0)[:, :, None]
        self.colour = rng.uniform(20, 235, 3).astype(np.float32)
        self.size = size
        self.x0 = rng.uniform(0, width)
        self.y0 = rng.uniform(top, max(top + 1, bottom - size))
        self.speed = rng.uniform(-0.25, 0.25) * width  # pixels per second
        self.bob = rng.uniform(0, size / 2)
        self.phase = rng.uniform(0, 2 * math.pi)
        self.span = width + size

    def draw(self, frame: np.ndarray, t: float) -> None:
        x = int((self.x0 + self.speed * t) % self.span) - self.size
        y = int(self.y0 + self.bob * math.sin(2 * math.pi * 0.5 * t + self.phase))
        _paste(frame, x, y, self.alpha, self.colour)


def _paste(frame: np.ndarray, x: int, y: int, alpha: np.ndarray, colour: np.ndarray) -> None:
    height, width = frame.shape[:2]
    h, w = alpha.shape[:2]
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + w, width), min(y + h, height)
    if right <= left or bottom <= top:
        return
    a = alpha[top - y:bottom - y, left - x:right - x]
    region = frame[top:bottom, left:right].astype(np.float32)
    frame[top:bottom, left:right] = (region + (colour - region) * a).astype(np.uint8)


class ProceduralScene:
    """A landscape chosen by the prompt's words (a palette per keyword family, else one
    picked by the seed), jittered by the seed, with texture at two scales so that encoders,
    perceptual hashes and face detectors see real content rather than flat colour."""

    def __init__(self, prompt: str, seed: int, width: int, height: int) -> None:
        rng = scene_rng(prompt, seed)
        self.palette = palette_name(prompt, rng)
        top, horizon, far, near, cloud, sun = (_jitter(c, rng) for c in PALETTES[self.palette])
        self.width, self.height = width, height
        self.horizon = int(height * rng.uniform(0.55, 0.68))
        sky_rows, ground_rows = self.horizon, height - self.horizon

        clouds = periodic_noise(rng, sky_rows, width, cutoff=0.012)
        cover = np.clip((clouds - rng.uniform(0.0, 0.3)) * 2.5, 0.0, 0.85)[:, :, None]
        sky = _gradient(top, horizon, sky_rows)
        sky = sky + (cloud - sky) * cover
        ground = _gradient(far, near, ground_rows)
        ground = (ground + 28 * periodic_noise(rng, ground_rows, width, 0.03)[:, :, None]
                  + rng.normal(0, 7, (ground_rows, width, 1)).astype(np.float32))
        # Each layer twice side by side: a frame is one slice at the layer's scroll offset.
        self._sky = np.tile(np.clip(sky, 0, 255).astype(np.uint8), (1, 2, 1))
        self._ground = np.tile(np.clip(ground, 0, 255).astype(np.uint8), (1, 2, 1))
        self._sky_speed = rng.uniform(4, 14) * width / 640   # pixels per second
        self._ground_speed = rng.uniform(30, 70) * width / 640

        radius = max(4, height // 14)
        ys, xs = np.mgrid[-2 * radius:2 * radius, -2 * radius:2 * radius].astype(np.float32)
        distance = np.hypot(xs, ys)
        glow = np.clip(radius + 1 - distance, 0, 1) + 0.35 * np.exp(-((distance / radius) ** 2))
        self._sun = (np.clip(glow, 0, 1)[:, :, None], sun)
        self._sun_at = (rng.uniform(0.1, 0.8) * width, rng.uniform(0.05, 0.3) * height)
        self._sprites = [_Sprite(rng, width, int(0.1 * height), height - 2)
                         for _ in range(int(rng.integers(3, 7)))]
        self._caption = _Caption(caption_text(prompt), width, height)

    def frame(self, t: float) -> np.ndarray:
        frame = np.empty((self.height, self.width, 3), np.uint8)
        sky_at = int(self._sky_speed * t) % self.width
        ground_at = int(self._ground_speed * t) % self.width
        frame[:self.horizon] = self._sky[:, sky_at:sky_at + self.width]
        frame[self.horizon:] = self._ground[:, ground_at:ground_at + self.width]
        alpha, colour = self._sun
        x, y = self._sun_at
        _paste(frame, int(x + 3 * t) - alpha.shape[1] // 2, int(y) - alpha.shape[0] // 2,
               alpha, colour)
        for sprite in self._sprites:
            sprite.draw(frame, t)
        return frame

    def caption(self, frame: np.ndarray) -> None:
        self._caption.draw(frame)


class _Caption:
    """A translucent band at the bottom with the prompt's first words, drawn once."""

    def __init__(self, text: str, width: int, height: int) -> None:
        band = max(12, int(height * 0.11))
        scale = band / 60
        while scale > 0.2 and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] \
                > width - 16:
            scale *= 0.9
        thickness = max(1, round(scale * 2))
        (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        ink = np.zeros((band, width), np.uint8)
        cv2.putText(ink, text, (max(4, (width - text_w) // 2), (band + text_h) // 2),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thickness, cv2.LINE_AA)
        text_alpha = ink.astype(np.float32)[:, :, None] / 255
        self._alpha = 0.45 + 0.55 * text_alpha
        self._colour = 255 * text_alpha  # black band, white letters
        self._top = height - band

    def draw(self, frame: np.ndarray) -> None:
        region = frame[self._top:].astype(np.float32)
        frame[self._top:] = (region + (self._colour - region) * self._alpha).astype(np.uint8)
