"""For demonstrations only (`CONSENTRY_DEMO_LEAK=1`, used with `consentry demo`): a
generator that misbehaves the way SPEC journey 3 fears, on request. A render whose prompt
holds "(leak)" also shows a face nobody asked for: scikit-image's astronaut photo, the face
the demo's first member verifies with. Every other render is the wrapped generator's own.
The post-generation face scan, not this wrapper, decides what happens to the video."""

from __future__ import annotations

import cv2
import numpy as np

from domain.generator import Generator, RenderedClip, RenderRequest
from inference.generators import LeakyGenerator

LEAK_MARKER = "(leak)"


def _astronaut_png() -> bytes:
    from skimage import data

    ok, png = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(data.astronaut()),
                                                cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("could not encode the astronaut photo")
    return bytes(png)


class LeakOnRequest:
    """The wrapped generator, leaking the astronaut's face into prompts marked "(leak)"."""

    def __init__(self, inner: Generator) -> None:
        self._inner = inner
        self._leaky = LeakyGenerator(inner, _astronaut_png(), leaked_handle="demo-leak")
        self.name = inner.name

    def render(self, request: RenderRequest) -> RenderedClip:
        if LEAK_MARKER in request.prompt.lower():
            return self._leaky.render(request)
        return self._inner.render(request)
