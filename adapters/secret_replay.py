"""A newly issued secret that a retry may need again (a lost registration response): sealed
with AES-GCM under a key of the current time window, kept in the key store apart from the
event log. Only the last two windows' keys exist; older ones are destroyed as new ones are
made, so the sealed copy in the log becomes unreadable after one to two windows."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.faces import KeyStore

WINDOW = timedelta(minutes=10)
_AD = b"consentry/replayed-secret/v1\x00"


class WindowedSecretSealer:
    """`SecretSealer` on the key store: keys named `replay-window:<n>`, one per window."""

    def __init__(self, keys: KeyStore, clock: Callable[[], datetime],
                 window: timedelta = WINDOW, kept: int = 2,
                 first_sweep: timedelta = timedelta(days=1)) -> None:
        self.keys = keys
        self.clock = clock
        self.window = window
        self.kept = kept
        # The revocation process's first sweep looks this far back (keys that a server
        # stopped meanwhile left); a seal sweeps only the last few windows.
        self._first_sweep = int(first_sweep / window)
        self._swept_to: int | None = None

    def _window(self) -> int:
        return int(self.clock().timestamp() // self.window.total_seconds())

    def sweep(self, deep: bool = True) -> None:
        """Destroys the keys of windows past the replay period, from where this process's
        last sweep stopped (the revocation process sweeps every half minute; every seal
        sweeps the last few windows)."""
        last = self._window() - self.kept
        start = self._swept_to if self._swept_to is not None else last - (
            self._first_sweep if deep else 8)
        for old in range(start, last + 1):
            self.keys.destroy(f"replay-window:{old}")
        if deep or self._swept_to is not None:
            self._swept_to = max(self._swept_to or start, last + 1)

    def seal(self, secret: str) -> str:
        self.sweep(deep=False)
        now = self._window()
        key = self.keys.create(f"replay-window:{now}")
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, secret.encode(), _AD + str(now).encode())
        return f"{now}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str) -> str | None:
        """The secret, or None once its window's key is gone (or the token is not ours)."""
        window, _, data = token.partition(":")
        if not window.isdigit() or int(window) <= self._window() - self.kept:
            return None
        key = self.keys.get(f"replay-window:{window}")
        if key is None:
            return None
        raw = base64.urlsafe_b64decode(data.encode())
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], _AD + window.encode()).decode()
        except InvalidTag:
            return None
