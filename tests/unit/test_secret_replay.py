"""A secret kept for a retry: readable within its replay window, then its key is destroyed
and the sealed copy is unreadable for good."""

from __future__ import annotations

import pytest

from adapters.key_store import SqliteKeyStore
from adapters.secret_replay import WindowedSecretSealer
from tests.fakes import FakeClock

pytestmark = pytest.mark.unit


def test_a_sealed_secret_opens_within_the_window_and_never_after():
    keys, clock = SqliteKeyStore.temporary(), FakeClock()
    sealer = WindowedSecretSealer(keys, clock)
    token = sealer.seal("ck.abc.def.secret")
    assert "secret" not in token
    clock.advance(minutes=9)
    assert sealer.open(token) == "ck.abc.def.secret"
    window = token.split(":")[0]
    clock.advance(minutes=21)  # two windows on
    assert sealer.open(token) is None
    sealer.sweep()
    assert keys.get(f"replay-window:{window}") is None  # the key itself is gone
    keys.close()


def test_a_token_that_is_not_ours_opens_to_nothing():
    keys = SqliteKeyStore.temporary()
    sealer = WindowedSecretSealer(keys, FakeClock())
    assert sealer.open("not a token") is None
    window = sealer.seal("s").split(":")[0]
    assert sealer.open(f"{window}:AAAAAAAAAAAAAAAAAAAAAAAAAAAA") is None  # fails authentication
    keys.close()
