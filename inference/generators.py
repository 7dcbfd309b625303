"""The composite generator (the embedded default, no model) and the leaky test generator
(SPEC journey 3). Both are named for what they are in every event and piece of evidence."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from domain.generator import CameoReference, Generator, RenderedClip, RenderRequest
from inference.cameo_composite import cameo_faces
from inference.composite_scene import ProceduralScene
from inference.video_encode import encode_h264


def frame_count(request: RenderRequest) -> int:
    """Frames of a clip: the requested seconds at the requested rate, at least one."""
    if request.seconds <= 0 or request.fps <= 0 or request.width < 2 or request.height < 2:
        raise ValueError("a render needs positive seconds, fps and size")
    return max(1, math.floor(request.seconds * request.fps + 0.5))


def even_size(request: RenderRequest) -> tuple[int, int]:
    """H.264 yuv420p needs even sides: an odd one loses its last pixel."""
    return request.width & ~1, request.height & ~1


class CompositeGenerator:
    """Not a generative model: a procedural scene picked and coloured by the prompt and the
    seed, a caption with the prompt's first words, and the cameo owners' reference faces
    pasted in, one per cameo side by side. It lets the embedded deployment and the tests
    run the whole gate (face, work and safety scans, watermark, C2PA) on real video with
    real faces, offline and in seconds. Deterministic: one request, one byte-identical MP4.
    """

    name = "composite-v1"

    def __init__(self, *, crf: int = 18, preset: str = "veryfast") -> None:
        self._crf = crf
        self._preset = preset

    def render(self, request: RenderRequest) -> RenderedClip:
        count = frame_count(request)
        width, height = even_size(request)
        scene = ProceduralScene(request.prompt, request.seed, width, height)
        faces = cameo_faces(request.cameos, width, height, request.seed)

        def frames() -> Iterator[np.ndarray]:
            for index in range(count):
                t = index / request.fps
                frame = scene.frame(t)
                for face in faces:
                    face.draw(frame, t)
                scene.caption(frame)
                yield frame

        mp4, encoded = encode_h264(frames(), width=width, height=height, fps=request.fps,
                                   crf=self._crf, preset=self._preset)
        return RenderedClip(mp4=mp4, frames=encoded, seconds=encoded / request.fps,
                            width=width, height=height, generator=self.name)


class LeakyGenerator:
    """A test generator that misbehaves the way SPEC journey 3 fears: it shows a face the
    request never named (an unconsented, verified person) beside the requested cameos.
    It hands the wrapped generator one extra cameo, so the wrapped one must composite
    cameo references (the composite and the diffusers generators do)."""

    name = "leaky-test"

    def __init__(self, inner: Generator, leaked_face_png: bytes, *,
                 leaked_handle: str = "unconsented") -> None:
        self._inner = inner
        self._leaked = CameoReference(owner_id="", handle=leaked_handle,
                                      face_png=leaked_face_png)

    def render(self, request: RenderRequest) -> RenderedClip:
        leaky = replace(request, cameos=(*request.cameos, self._leaked))
        return replace(self._inner.render(leaky), generator=self.name)

