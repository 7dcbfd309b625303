"""One intake for every uploaded video (verification, reference clips, provenance lookups,
takedown copies): the file is decoded first in a sandboxed worker process, under the bounded
reader's limits, a memory cap and a time limit, at a lower CPU priority than the API. It is
accepted with what decoding found, or refused with a 4xx problem; a file that crashes or
exhausts its sandbox fails only its own request. Refused uploads are remembered by digest,
so a known-bad file is turned away before it is decoded again.

Why pebble: a crashed or killed worker of the standard library's process pool breaks the
whole pool (every request in flight fails); pebble replaces the worker and fails only the
task that killed it, and it enforces a per-task timeout by terminating the worker."""

from __future__ import annotations

import asyncio
import hashlib
import math
import multiprocessing
import os
import resource
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from domain.errors import DomainError, MediaLimitsExceededError
from inference.media_reader import MediaLimits, MediaSummary, read_frames, sampled

T = TypeVar("T")

# What an anonymous upload may cost to decode (provenance lookups, takedown copies).
PUBLIC_LIMITS = MediaLimits(max_bytes=100 * 1024 * 1024, max_seconds=120.0,
                            max_frame_pixels=1920 * 1088,
                            max_decoded_pixels=60 * 30 * 1920 * 1088, fit_lines=360)
REFERENCE_LIMITS = MediaLimits(max_bytes=64 * 1024 * 1024, max_seconds=180.0,
                               max_decoded_pixels=180 * 30 * 1920 * 1088)
VERIFICATION_LIMITS = MediaLimits(max_bytes=50 * 1024 * 1024, max_seconds=30.0,
                                  max_frame_pixels=1920 * 1088,
                                  max_decoded_pixels=30 * 60 * 1920 * 1088)


class IntakeBusyError(DomainError):
    """Every sandbox is busy and the wait line is full: come back shortly."""

    code = "media-intake-busy"
    status = 503


def _sandboxes() -> int:
    """One core is left to the API: decoding strangers' files never takes them all."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class IntakeSettings:
    workers: int = field(default_factory=_sandboxes)
    memory_mb: int = 1536  # address space of a sandbox process (FFmpeg threads included)
    timeout_s: float = 60.0
    max_in_hand: int = 2  # uploads received beyond one per sandbox, waiting for it
    max_queued: int = 64  # requests waiting for a place, their bodies not yet read
    queue_timeout_s: float = 30.0  # a request that waits longer gets 503 and Retry-After
    remember_refused: int = 10_000  # (digest, task, limits) of refused files


@dataclass(frozen=True)
class Sample:
    """What the sandbox hands back: frames (at most `keep` of them, evenly spaced, at most
    `fit_lines` on the short side) and what decoding found."""

    frames: np.ndarray
    fps: float
    summary: MediaSummary

    @property
    def seconds(self) -> float:
        return self.summary.seconds


def decode_sample(source: bytes | str, media_type: str | None, limits: MediaLimits,
                  keep: int = 0, luma: bool = False) -> Sample:
    """Runs in the sandbox: reads every frame under the limits, keeping a sample (no
    frames at all for `keep=0`, a validation pass). `source`: the bytes, or a file's path
    (an upload spooled to disk), read here, inside the sandbox."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    summary = MediaSummary()
    decoded = (frame for _, frame in read_frames(data, media_type, limits,
                                                 fmt="gray" if luma else "rgb24",
                                                 summary=summary))
    kept: list[np.ndarray] = []
    stride = 1
    if keep:
        kept, stride = sampled(decoded, keep)
    else:
        for _ in decoded:  # a validation pass: every frame is checked, none kept
            pass
    if keep and len(kept) > keep:  # exactly at most `keep`, evenly spaced
        step = math.ceil(len(kept) / keep)
        kept, stride = kept[::step], stride * step
    return Sample(np.stack(kept) if kept else np.zeros((0, 0, 0), np.uint8),
                  summary.rate / stride, summary)


def _sandbox(memory_mb: int) -> None:
    """Each sandbox process: a cap on its address space, and a lower CPU priority so that
    a busy decoder slows uploads before it slows the API."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.nice(10)


@dataclass
class MediaIntake:
    settings: IntakeSettings = field(default_factory=IntakeSettings)

    def __post_init__(self) -> None:
        self._pool: Any = None
        self._lock = threading.Lock()
        self._queued = 0
        self._places: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self._refused: OrderedDict[str, DomainError] = OrderedDict()

    def start(self) -> None:
        """Starts the sandbox processes now (a server does at start; else on first use)."""
        self._started()

    def _started(self) -> Any:
        with self._lock:
            if self._pool is None:
                from pebble import ProcessPool  # started on first use: tests rarely need it

                self._pool = ProcessPool(
                    max_workers=self.settings.workers, initializer=_sandbox,
                    initargs=(self.settings.memory_mb,),
                    context=multiprocessing.get_context("spawn"))
            return self._pool

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Holds one of the intake's places (one per sandbox, and `max_in_hand` more) while
        an upload is received and decoded. A request waits for a place before a byte of
        its body is read, so uploads arrive only as fast as they are decoded and a flood
        fills neither memory nor the event loop; past `max_queued` waiting, or after
        `queue_timeout_s`, it gets 503 `media-intake-busy` with Retry-After."""
        settings = self.settings
        busy = IntakeBusyError("too many uploads are being checked; retry shortly",
                               retry_after=max(1, math.ceil(settings.timeout_s / 4)))
        if self._queued >= settings.max_queued:
            raise busy
        loop = asyncio.get_running_loop()
        places = self._places.setdefault(
            loop, asyncio.Semaphore(settings.workers + settings.max_in_hand))
        self._queued += 1
        try:
            await asyncio.wait_for(places.acquire(), settings.queue_timeout_s)
        except TimeoutError:
            raise busy from None
        finally:
            self._queued -= 1
        try:
            yield
        finally:
            places.release()

    async def sample(self, data: bytes | Path, media_type: str | None, limits: MediaLimits,
                     keep: int = 0, luma: bool = False, digest: str | None = None) -> Sample:
        """Decodes `data` (bytes, or a spooled upload's path with its `digest`) in a
        sandbox (see `decode_sample`); raises the media errors (413, 415, 422)."""
        source = data if isinstance(data, bytes) else str(data)
        sample: Sample = await self.run(decode_sample, source, media_type, limits, keep, luma,
                                        digest=digest)
        return sample

    async def run(self, task: Callable[..., T], source: bytes | str, *args: Any,
                  digest: str | None = None) -> T:
        """`task(source, *args)` in a sandbox. A refusal (a domain error), a timeout or a
        sandbox that died is remembered against the source's digest and the task with its
        limits, and raised again for the same content under the same limits without
        running it (another endpoint's wider limits decode it afresh)."""
        if digest is None:
            if not isinstance(source, bytes):
                raise ValueError("a file's digest is computed while it is received")
            digest = await asyncio.to_thread(lambda: hashlib.sha256(source).hexdigest())
        digest = f"{digest}:{getattr(task, '__qualname__', task)}:{args!r}"
        known = self._refused.get(digest)
        if known is not None:
            raise known
        try:
            future = self._started().schedule(task, args=(source, *args),
                                              timeout=self.settings.timeout_s)
            result: T = await asyncio.wrap_future(future)
            return result
        except DomainError as refused:
            self._remember(digest, refused)
            raise
        except TimeoutError:
            overran = MediaLimitsExceededError(
                f"decoding took longer than {self.settings.timeout_s:g} s", sandbox="timeout")
            self._remember(digest, overran)
            raise overran from None
        except Exception as exc:  # the sandbox died: out of memory, or a crashing decoder
            from pebble import ProcessExpired

            if not isinstance(exc, ProcessExpired | MemoryError):
                raise
            exhausted = MediaLimitsExceededError(
                "decoding exceeded its memory budget or crashed its sandbox",
                sandbox="crashed")
            self._remember(digest, exhausted)
            raise exhausted from None

    def _remember(self, digest: str, error: DomainError) -> None:
        self._refused[digest] = error
        while len(self._refused) > self.settings.remember_refused:
            self._refused.popitem(last=False)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.stop()
                self._pool.join(timeout=10)
                self._pool = None
