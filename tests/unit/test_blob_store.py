"""Contract of the BlobStore port on both adapters: local files, and an S3-compatible bucket
served over HTTP by moto's S3 server in this process (dummy credentials, random port)."""

from __future__ import annotations

import base64
import gc
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from adapters.blob_store import LocalFileBlobStore, build_blob_store
from adapters.blob_store_s3 import S3BlobStore, S3BlobStoreError
from adapters.settings import Settings
from domain.blobs import BlobNotFoundError, BlobStore
from domain.errors import ValidationError

REGION = "us-east-1"
NOT_DIGESTS = ["../../etc/passwd", "ab", "A" * 64, "g" * 64, "a" * 63 + "/", "a" * 65]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """The endpoint URL of an S3-compatible server on 127.0.0.1 and a free port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_endpoint(s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The server, with dummy credentials in the environment (the standard AWS chain) and
    none of this machine's AWS configuration."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return s3_server


def raw_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION)


def new_bucket(endpoint: str) -> str:
    bucket = f"blobs-{uuid.uuid4().hex[:12]}"
    raw_client(endpoint).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.unit),
                        pytest.param("s3", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalFileBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3BlobStore(new_bucket(endpoint), prefix="consentry/test", endpoint_url=endpoint,
                       region=REGION)


class TestBlobStoreContract:
    def test_bytes_come_back_under_their_sha256_digest(self, store: BlobStore):
        digest = store.put(b"reference image", "image/png")
        assert digest == hashlib.sha256(b"reference image").hexdigest()
        assert store.get(digest) == b"reference image" and store.exists(digest)

    def test_storing_the_same_bytes_twice_gives_the_same_name(self, store: BlobStore):
        assert store.put(b"same", "image/png") == store.put(b"same", "video/mp4")
        assert store.get(hashlib.sha256(b"same").hexdigest()) == b"same"

    def test_a_missing_blob_is_not_found_and_deleting_twice_is_harmless(
            self, store: BlobStore):
        digest = store.put(b"gone soon", "image/png")
        kept = store.put(b"kept", "image/png")
        assert store.delete(digest) is True
        assert store.delete(digest) is False and not store.exists(digest)
        with pytest.raises(BlobNotFoundError):
            store.get(digest)
        assert store.get(kept) == b"kept"

    def test_a_blob_never_stored_does_not_exist(self, store: BlobStore):
        digest = hashlib.sha256(b"never stored").hexdigest()
        assert store.exists(digest) is False and store.delete(digest) is False
        with pytest.raises(BlobNotFoundError):
            store.get(digest)

    @pytest.mark.parametrize("digest", NOT_DIGESTS)
    def test_names_that_are_not_sha256_digests_are_refused(self, store: BlobStore,
                                                          digest: str):
        for operation in (store.get, store.exists, store.delete):
            with pytest.raises(ValidationError):
                operation(digest)


@pytest.mark.unit
class TestLocalFileBlobStore:
    def test_files_are_fanned_out_by_the_first_two_hex_digits(self, tmp_path: Path):
        store = LocalFileBlobStore(tmp_path / "blobs")
        digest = store.put(b"x", "image/png")
        assert (store.root / digest[:2] / digest[2:]).read_bytes() == b"x"
        assert [p.name for p in (store.root / digest[:2]).iterdir()] == [digest[2:]]

    def test_storing_the_same_bytes_twice_keeps_one_copy(self, tmp_path: Path):
        store = LocalFileBlobStore(tmp_path / "blobs")
        store.put(b"same", "image/png")
        store.put(b"same", "video/mp4")
        assert sum(1 for p in store.root.rglob("*") if p.is_file()) == 1

    def test_a_temporary_store_disappears_with_it(self):
        store = LocalFileBlobStore.temporary()
        store.put(b"ephemeral", "image/png")
        root = store.root
        del store
        gc.collect()
        assert not root.exists()

    def test_the_settings_choose_files_under_the_data_dir_by_default(self, tmp_path: Path):
        store = build_blob_store(Settings(data_dir=tmp_path))
        assert isinstance(store, LocalFileBlobStore) and store.root == tmp_path / "blobs"


@pytest.mark.integration
class TestS3BlobStore:
    def test_objects_keep_the_local_layout_under_the_prefix_with_type_and_checksum(
            self, s3_endpoint: str):
        bucket = new_bucket(s3_endpoint)
        store = S3BlobStore(bucket, prefix="/tenant/blobs/", endpoint_url=s3_endpoint,
                            region=REGION)
        digest = store.put(b"\x00clip", "video/mp4")
        head = raw_client(s3_endpoint).head_object(
            Bucket=bucket, Key=f"tenant/blobs/{digest[:2]}/{digest[2:]}",
            ChecksumMode="ENABLED")
        assert head["ContentType"] == "video/mp4"
        assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(digest)).decode()

    def test_bytes_already_stored_are_not_uploaded_again(self, s3_endpoint: str):
        bucket = new_bucket(s3_endpoint)
        client = raw_client(s3_endpoint)
        uploads: list[str] = []
        client.meta.events.register("before-call.s3.PutObject",
                                    lambda params, **_: uploads.append(params["url_path"]))
        store = S3BlobStore(bucket, client=client)
        store.put(b"same", "image/png")
        store.put(b"same", "video/mp4")
        assert len(uploads) == 1
        listed = client.list_objects_v2(Bucket=bucket)["Contents"]
        assert len(listed) == 1
        assert client.head_object(Bucket=bucket, Key=listed[0]["Key"])["ContentType"] \
            == "image/png"

    def test_a_name_that_is_not_a_sha256_digest_is_refused_before_any_request(
            self, s3_endpoint: str):
        client = raw_client(s3_endpoint)
        store = S3BlobStore(new_bucket(s3_endpoint), client=client)
        requests: list[str] = []
        client.meta.events.register("before-send.s3",
                                    lambda request, **_: requests.append(request.url))
        for digest in NOT_DIGESTS:
            for operation in (store.get, store.exists, store.delete):
                with pytest.raises(ValidationError):
                    operation(digest)
        assert requests == []

    def test_an_object_that_does_not_hash_to_its_name_is_not_returned(
            self, s3_endpoint: str):
        bucket = new_bucket(s3_endpoint)
        store = S3BlobStore(bucket, endpoint_url=s3_endpoint, region=REGION)
        digest = store.put(b"original", "image/png")
        raw_client(s3_endpoint).put_object(Bucket=bucket, Key=f"{digest[:2]}/{digest[2:]}",
                                           Body=b"tampered")
        with pytest.raises(S3BlobStoreError, match="does not hash to its name"):
            store.get(digest)

    def test_a_bucket_that_does_not_exist_is_a_clear_error_at_start(self, s3_endpoint: str):
        with pytest.raises(S3BlobStoreError, match=r"s3://no-such-bucket at .* does not exist"):
            S3BlobStore("no-such-bucket", endpoint_url=s3_endpoint, region=REGION)

    def test_the_settings_choose_a_bucket_and_prefix_on_the_configured_endpoint(
            self, s3_endpoint: str, tmp_path: Path):
        bucket = new_bucket(s3_endpoint)
        settings = Settings.from_env({"CONSENTRY_DATA_DIR": str(tmp_path),
                                      "CONSENTRY_BLOB_STORE": f"s3://{bucket}/prod/blobs",
                                      "CONSENTRY_S3_ENDPOINT": s3_endpoint,
                                      "CONSENTRY_S3_REGION": REGION})
        store = build_blob_store(settings)
        digest = store.put(b"shared by every process", "image/png")
        assert isinstance(store, S3BlobStore)
        assert raw_client(s3_endpoint).get_object(
            Bucket=bucket, Key=f"prod/blobs/{digest[:2]}/{digest[2:]}")["Body"].read() \
            == b"shared by every process"
        assert not (tmp_path / "blobs").exists()


@pytest.mark.unit
class TestBlobStoreSettings:
    def test_local_files_are_the_default(self):
        assert Settings.from_env({}).s3_location() is None

    @pytest.mark.parametrize(("value", "location"), [
        ("s3://media", ("media", "")),
        ("s3://media/", ("media", "")),
        ("s3://media.example-1/consentry/blobs/", ("media.example-1", "consentry/blobs")),
    ])
    def test_an_s3_url_names_the_bucket_and_key_prefix(self, value: str,
                                                        location: tuple[str, str]):
        assert Settings.from_env({"CONSENTRY_BLOB_STORE": value}).s3_location() == location

    @pytest.mark.parametrize("value", ["s3", "files", "s3://", "gs://media", "s3://Media",
                                       "s3://ab", "s3://key:secret@media", "s3://media?x=1",
                                       "s3://media#x"])
    def test_anything_else_is_refused_at_start_with_the_expected_form(self, value: str):
        with pytest.raises(ValueError, match="CONSENTRY_BLOB_STORE must be `local` or"):
            Settings.from_env({"CONSENTRY_BLOB_STORE": value})

    @pytest.mark.parametrize("value", ["minio:9000", "ftp://minio", "https://"])
    def test_an_endpoint_must_be_an_http_url(self, value: str):
        with pytest.raises(ValueError, match="CONSENTRY_S3_ENDPOINT must look like"):
            Settings.from_env({"CONSENTRY_BLOB_STORE": "s3://media",
                               "CONSENTRY_S3_ENDPOINT": value})
