"""One server per embedded data directory. The embedded store caches aggregates without
re-reading them (it assumes it is the only writer), so a second server on the same files
must not start."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class DataDirInUseError(RuntimeError):
    pass


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "server.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DataDirInUseError(
                f"another Consentry server uses {self.path.parent}; stop it or set "
                "CONSENTRY_DATA_DIR to another directory") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
