"""prometheus-client's multiprocess mode, set up by our entry points: the directory where every
process of one server (uvicorn workers) or worker writes its samples. Imports nothing of
prometheus_client: the mode is chosen when its first metric is made."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(role: str) -> Path:
    """Uses PROMETHEUS_MULTIPROC_DIR when the operator set it (shared by several processes
    on purpose; they must clear it before starting), else a fresh directory of this run,
    which the child processes inherit through the environment."""
    if "adapters.metrics" in sys.modules:
        raise RuntimeError("prepare the metrics directory before adapters.metrics is imported")
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = Path(tempfile.mkdtemp(prefix=f"consentry-metrics-{role}-"))
    os.environ[ENV] = str(path)
    return path


def remove_own_dir(path: Path) -> None:
    """Removes a directory `prepare_multiprocess_dir` made (not one the operator gave)."""
    if path.name.startswith("consentry-metrics-") and path.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(path, ignore_errors=True)
