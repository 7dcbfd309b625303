"""A `consentry worker` process for the e2e journeys on Redis: `python -m
tests.e2e.pipeline_worker_process`, configured through the same CONSENTRY_* variables, running
the same `adapters.worker.run_worker`. Differences from production, all test-only:

- the safety classifier is `ScriptedSafety` (always allow): none with real weights installs
  here, and an unconfigured one holds every video for review;
- CONSENTRY_TEST_JOB_TIMEOUT (seconds, every job kind) and short give-up and in-progress
  grace times, so a job whose worker was killed is delivered again within seconds (arq keeps
  a running job's in-progress key for its longest timeout plus the grace);
- CONSENTRY_TEST_LEAKED_FACE: a PNG the generator leaks into every clip (journey 3);
- CONSENTRY_TEST_SCAN_DELAY: seconds the safety scan waits, so that a test killing the
  worker once a render is recorded reliably kills it before the scan is;
- CONSENTRY_TEST_SPANS_FILE: the worker's spans, one JSON object a line (the SDK's console
  exporter writing to that file), for the test to assemble the trace with the API's.

`WorkerProcess` starts and stops such processes for the tests."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from adapters.tracing import configure_tracing
from adapters.worker import run_worker
from domain.generator import Generator
from domain.jobs import GENERATE, VERIFY_IDENTITY
from domain.media_scan import SafetyReport
from inference.generators import CompositeGenerator, LeakyGenerator
from tests.fakes import ScriptedSafety

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class DelayedSafety(ScriptedSafety):
    delay: float = 0.0

    def scan(self, frames: Any) -> SafetyReport:
        time.sleep(self.delay)
        return super().scan(frames)


def main() -> None:
    env = os.environ
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if env.get("CONSENTRY_TEST_SPANS_FILE"):
        spans = Path(env["CONSENTRY_TEST_SPANS_FILE"]).open("a")  # noqa: SIM115 - the process's life
        configure_tracing("consentry-worker", ConsoleSpanExporter(
            out=spans, formatter=lambda span: span.to_json(indent=None) + "\n"))
    safety = DelayedSafety(delay=float(env.get("CONSENTRY_TEST_SCAN_DELAY", "0")))
    container = bootstrap(Settings.from_env(), safety=safety)
    generator: Generator | None = None
    if env.get("CONSENTRY_TEST_LEAKED_FACE"):
        face = Path(env["CONSENTRY_TEST_LEAKED_FACE"]).read_bytes()
        generator = LeakyGenerator(CompositeGenerator(), face)
    timeout = float(env.get("CONSENTRY_TEST_JOB_TIMEOUT", "60"))
    try:
        run_worker(container, generator, in_progress_grace=1.0,
                   timeouts={GENERATE: timeout, VERIFY_IDENTITY: timeout},
                   backoff=(0.5,), give_up_timeout=5.0, poll_delay=0.1)
    finally:
        container.close()


class WorkerProcess:
    """One worker process at a time, its output appended to `log`."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, **extra_env: str) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.pipeline_worker_process"], cwd=ROOT,
                env={**os.environ, **self.env, **extra_env}, stdout=out,
                stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, its job's in-progress key left in Redis."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (arq's clean stop), then SIGKILL if it does not end."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def check_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the worker exited with {self.process.returncode}:\n"
                                 f"{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


if __name__ == "__main__":
    main()
