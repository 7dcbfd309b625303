"""A worker process for the kill test: `python -m tests.integration.arq_worker_process URL
QUEUE FILE`. Its handler is idempotent the way the pipeline's steps are: it records its
start, skips work already recorded as done, and takes a while before recording it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from adapters.jobs_arq import create_worker, worker_settings
from domain.jobs import Job

WORK_SECONDS = 1.5


def main(redis_url: str, queue_name: str, path: str) -> None:
    log = Path(path)

    def write(line: str) -> None:
        with log.open("a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def slow_once(job: Job, attempt: int) -> None:
        write(f"start {job.id} {attempt} {os.getpid()}")
        if any(line.startswith("done ") for line in log.read_text().splitlines()):
            return
        time.sleep(WORK_SECONDS)
        write(f"done {job.id} {attempt} {os.getpid()}")

    settings = worker_settings({"slow": slow_once}, None, redis_url, queue_name=queue_name,
                               timeouts={"slow": 3.0}, give_up_timeout=0.5, poll_delay=0.05)
    create_worker(settings, in_progress_grace=0.5).run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
