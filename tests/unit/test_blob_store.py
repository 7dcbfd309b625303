"""Contract of the BlobStore port on the local-file adapter."""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path

import pytest

from adapters.blob_store import LocalFileBlobStore
from domain.blobs import BlobNotFoundError
from domain.errors import ValidationError

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> LocalFileBlobStore:
    return LocalFileBlobStore(tmp_path / "blobs")


class TestLocalFileBlobStore:
    def test_bytes_come_back_under_their_sha256_digest(self, store: LocalFileBlobStore):
        digest = store.put(b"reference image", "image/png")
        assert digest == hashlib.sha256(b"reference image").hexdigest()
        assert store.get(digest) == b"reference image" and store.exists(digest)

    def test_files_are_fanned_out_by_the_first_two_hex_digits(self, store: LocalFileBlobStore):
        digest = store.put(b"x", "image/png")
        assert (store.root / digest[:2] / digest[2:]).read_bytes() == b"x"
        assert [p.name for p in (store.root / digest[:2]).iterdir()] == [digest[2:]]

    def test_storing_the_same_bytes_twice_keeps_one_copy(self, store: LocalFileBlobStore):
        assert store.put(b"same", "image/png") == store.put(b"same", "video/mp4")
        assert sum(1 for p in store.root.rglob("*") if p.is_file()) == 1

    def test_a_missing_blob_is_not_found_and_deleting_twice_is_harmless(
            self, store: LocalFileBlobStore):
        digest = store.put(b"gone soon", "image/png")
        assert store.delete(digest) is True
        assert store.delete(digest) is False and not store.exists(digest)
        with pytest.raises(BlobNotFoundError):
            store.get(digest)

    @pytest.mark.parametrize("digest", ["../../etc/passwd", "ab", "A" * 64, "g" * 64,
                                        "a" * 63 + "/", "a" * 65])
    def test_names_that_are_not_sha256_digests_are_refused(self, store: LocalFileBlobStore,
                                                          digest: str):
        for operation in (store.get, store.exists, store.delete):
            with pytest.raises(ValidationError):
                operation(digest)

    def test_a_temporary_store_disappears_with_it(self):
        store = LocalFileBlobStore.temporary()
        store.put(b"ephemeral", "image/png")
        root = store.root
        del store
        gc.collect()
        assert not root.exists()
