"""Provenance key material: the watermark key from configuration or generated once into the
data directory, and the C2PA development chain beside it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from adapters.provenance_keys import KEY_FILE, signing_credentials, watermark_key
from adapters.settings import Settings

pytestmark = pytest.mark.unit


def test_a_configured_key_is_used_as_given(tmp_path: Path):
    settings = Settings.from_env({"CONSENTRY_DATA_DIR": str(tmp_path),
                                  "CONSENTRY_WATERMARK_KEY": "k" * 32})
    assert watermark_key(settings) == b"k" * 32
    assert not (tmp_path / KEY_FILE).exists()
    assert "k" * 32 not in repr(settings)


def test_a_key_shorter_than_16_bytes_is_refused_at_start():
    with pytest.raises(ValueError, match="CONSENTRY_WATERMARK_KEY"):
        Settings.from_env({"CONSENTRY_WATERMARK_KEY": "short"})


def test_the_embedded_default_generates_one_private_key_and_keeps_it(tmp_path: Path):
    settings = Settings(store="sqlite", data_dir=tmp_path)
    first = watermark_key(settings)
    assert len(first) == 32 and watermark_key(settings) == first
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_the_in_memory_store_gets_a_fresh_key_and_writes_nothing(tmp_path: Path):
    settings = Settings(store="memory", data_dir=tmp_path)
    assert watermark_key(settings) != watermark_key(settings)
    assert list(tmp_path.iterdir()) == []


def test_without_a_configured_chain_an_untrusted_development_chain_is_made(tmp_path: Path):
    credentials = signing_credentials(Settings(store="sqlite", data_dir=tmp_path))
    assert credentials.development
    assert (tmp_path / "c2pa" / "README-UNTRUSTED.txt").exists()


def test_a_chain_without_its_key_is_refused_at_start():
    with pytest.raises(ValueError, match="CONSENTRY_C2PA_KEY"):
        Settings.from_env({"CONSENTRY_C2PA_CHAIN": "/etc/chain.pem"})
