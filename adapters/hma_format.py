"""The signal file HMA (Meta's hasher-matcher-actioner, through python-threatexchange's
`LocalFileSignalExchangeAPI`, the "file" exchange) reads and writes: one signal a line,
`<signal type> <signal>`, e.g. `pdq 8a7c...` (64 hex digits); a line may also be the bare
signal when the exchange is configured with a signal type. An HMA instance loads such a file
as an exchange into a bank; `POST /c/bank/<bank>/signal` with `{"pdq": "<hex>"}` adds one."""

from __future__ import annotations

SIGNAL_TYPE = "pdq"


def format_signals(hashes: list[str]) -> str:
    return "".join(f"{SIGNAL_TYPE} {h}\n" for h in hashes)


def parse_signals(text: str) -> tuple[list[str], int]:
    """(the PDQ signals, how many lines of other signal types were skipped)."""
    found: list[str] = []
    skipped = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, value = line.partition(" ")
        if not value:  # a bare signal
            kind, value = SIGNAL_TYPE, kind
        if kind.strip().lower() != SIGNAL_TYPE:
            skipped += 1
            continue
        found.append(value.strip())
    return found, skipped
