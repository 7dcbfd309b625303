"""The worker's composition: the job handlers (a verification to decide, a generation to
render, scan, mark and publish) built from the container's components. The API process runs
them through the in-process queue; `consentry worker` runs them for arq on Redis."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from adapters.video_io import DecodeLimits, PyAvVideoCodec
from domain.faces import FaceScanReport, FaceTemplate
from domain.generator import Generator
from domain.jobs import GENERATE, VERIFY_IDENTITY, GiveUpHandler, Job, JobHandler
from domain.pipeline_ports import PipelinePorts
from domain.services.pipeline import GenerationPipeline, PipelineSettings
from inference.face_scan import sample_frames

if TYPE_CHECKING:
    from adapters.bootstrap import Container


class PyAvVideoTools:
    """Sampling, decoding and encoding for the pipeline through PyAV, with the decode
    limits of a generated clip. Publication is H.264 CRF 20 (`veryfast`: the watermark is
    read back from this very file before it is stored)."""

    def __init__(self, crf: int = 20, preset: str = "veryfast") -> None:
        self.codec = PyAvVideoCodec(DecodeLimits(max_seconds=60.0))
        self.crf = crf
        self.preset = preset

    def sample(self, mp4: bytes, fps: float) -> list[tuple[float, np.ndarray]]:
        return list(sample_frames(mp4, fps))

    def decode(self, mp4: bytes) -> tuple[np.ndarray, float]:
        video = self.codec.decode(mp4)
        return video.frames, video.fps

    def decode_luma(self, mp4: bytes) -> np.ndarray:
        return self.codec.decode(mp4, luma_only=True).frames

    def encode(self, frames: Any, fps: float, audio_from: bytes | None = None) -> bytes:
        return self.codec.encode_h264(np.asarray(frames), fps, crf=self.crf,
                                      preset=self.preset, audio_from=audio_from)

    def jpeg(self, frame: Any) -> bytes:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise ValueError("could not encode an evidence frame")
        return bytes(data)


def build_generator(container: Container) -> Generator:
    """The diffusers pipeline when a model directory is configured (it refuses to start
    without its weights), else the composite generator of the embedded default; for
    demonstrations (CONSENTRY_DEMO_LEAK), one that leaks a face when a prompt asks it to."""
    model_dir = container.settings.generator_model_dir
    generator: Generator
    if model_dir:
        from inference.generator_diffusers import DiffusersGenerator

        generator = DiffusersGenerator(Path(model_dir))
    else:
        from inference.generators import CompositeGenerator

        generator = CompositeGenerator()
    if container.settings.demo_leak:
        from adapters.demo_generator import LeakOnRequest

        generator = LeakOnRequest(generator)
    return generator


def build_pipeline(container: Container, generator: Generator | None = None,
                   settings: PipelineSettings | None = None) -> GenerationPipeline:
    from inference.face_scan import FaceScanService, ScanSettings
    from inference.visible_mark import MovingOverlayMarker

    c = container
    assert c.work_scanner is not None and c.safety is not None
    assert c.watermarker is not None and c.signer is not None
    faces = FaceScanService(c.face_analyzer, c.face_index, ScanSettings())
    ports = PipelinePorts(
        generator=generator or build_generator(c), blobs=c.blobs,
        cameo_faces=c.cameo_faces, faces=_FollowingFaceScanner(faces, c.face_index),
        works=c.work_scanner, safety=c.safety, video=PyAvVideoTools(),
        watermarker=c.watermarker, signer=c.signer, marker=MovingOverlayMarker(),
        voices=c.voices, sealer=c.vault)
    from adapters.observability import PipelineTelemetry

    return GenerationPipeline(c.app, ports, settings, observer=PipelineTelemetry())


class _FollowingFaceScanner:
    """The face scan with the 1:N index brought up to date from the log first, so that a
    person verified (or erased) a moment ago is known to this worker."""

    def __init__(self, scan: Any, index: Any) -> None:
        self.scan = scan
        self.index = index

    @property
    def configured(self) -> bool:
        return bool(self.scan.configured)

    def scan_frames(self, frames: Any, cameos: Mapping[str, FaceTemplate]) -> FaceScanReport:
        self.index.catch_up()
        return self.scan.scan_frames(frames, cameos)


def build_handlers(container: Container, generator: Generator | None = None
                   ) -> tuple[dict[str, JobHandler], GiveUpHandler]:
    pipeline = build_pipeline(container, generator)
    verification = container.verification_handler

    def give_up(job: Job, error: BaseException) -> None:
        if job.kind == GENERATE:
            pipeline.give_up(job, error)
        else:
            verification.give_up(job, error)

    from adapters.observability import traced_handler

    return {GENERATE: traced_handler(GENERATE, pipeline.handle),
            VERIFY_IDENTITY: traced_handler(VERIFY_IDENTITY, verification.handle)}, give_up


def run_worker(container: Container, generator: Generator | None = None, *, jobs: int = 1,
               burst: bool = False, in_progress_grace: float = 10.0, **options: Any) -> None:
    """What `consentry worker` runs: the handlers above, as an arq worker on the container's
    Redis and queue, until SIGINT/SIGTERM (or, with `burst`, until the queue is empty).
    `options` go to `worker_settings` (timeouts, backoff...). The caller closes the
    container."""
    from adapters.jobs_arq import create_worker, worker_settings

    settings = container.settings
    handlers, give_up = build_handlers(container, generator)
    config = worker_settings(handlers, give_up, settings.redis_url, max_jobs=jobs,
                             queue_name=settings.queue_name, **options)
    create_worker(config, in_progress_grace=in_progress_grace, burst=burst).run()
