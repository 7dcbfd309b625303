"""Helpers shared by the benchmarks: percentiles, tables, and throwaway services."""

from __future__ import annotations

import os
import statistics
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def mean(samples: Sequence[float]) -> float:
    return statistics.fmean(samples) if samples else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


@contextmanager
def postgres_dsn() -> Iterator[str]:
    """CONSENTRY_PG_DSN if set, else a throwaway server from .ci/services.sh."""
    if os.environ.get("CONSENTRY_PG_DSN"):
        yield os.environ["CONSENTRY_PG_DSN"]
        return
    subprocess.run([str(ROOT / ".ci/services.sh"), "start"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        env_file = (ROOT / ".ci/tmp/services.env").read_text()
        dsn = next(line.split("=", 1)[1].strip() for line in env_file.splitlines()
                   if "CONSENTRY_PG_DSN=" in line)
        yield dsn
    finally:
        subprocess.run([str(ROOT / ".ci/services.sh"), "stop"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
