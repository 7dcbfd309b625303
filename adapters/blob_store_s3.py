"""Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2): the production
blob store, shared by every API process and worker, named by SHA-256 digest like the files
of the embedded store."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from domain.blobs import BlobNotFoundError, check_digest

_MISSING = ("404", "NoSuchKey", "NotFound")


class S3BlobStoreError(RuntimeError):
    """The bucket cannot be used (missing, forbidden, unreachable) or an object does not
    match its name: a configuration or integrity fault, never a missing blob."""


class S3BlobStore:
    """Keys are `prefix/ab/cdef...`, the local store's layout, so moving the blobs of an
    embedded install is one `aws s3 sync var/blobs s3://bucket/prefix`. Objects are
    immutable (content-addressed): `put` skips bytes that are already there, sends their
    SHA-256 so the server refuses a corrupted upload, and `get` checks the bytes against
    their name. Credentials come from the standard AWS chain (environment, shared config,
    instance role), never from consentry's settings."""

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self._s3 = client if client is not None else _client(endpoint_url, region)
        self._check_bucket(endpoint_url)

    def key(self, digest: str) -> str:
        check_digest(digest)
        return f"{self.prefix}{digest[:2]}/{digest[2:]}"

    def put(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        sha = hashlib.sha256(data)
        digest = sha.hexdigest()
        if self.exists(digest):
            return digest
        self._s3.put_object(Bucket=self.bucket, Key=self.key(digest), Body=data,
                            ContentType=media_type, ChecksumAlgorithm="SHA256",
                            ChecksumSHA256=base64.b64encode(sha.digest()).decode())
        return digest

    def get(self, digest: str) -> bytes:
        key = self.key(digest)
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if _error_code(e) in _MISSING:
                raise BlobNotFoundError("blob not found", digest=digest) from None
            raise
        data: bytes = response["Body"].read()
        if hashlib.sha256(data).hexdigest() != digest:
            raise S3BlobStoreError(f"s3://{self.bucket}/{key} does not hash to its name")
        return data

    def exists(self, digest: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=self.key(digest))
        except ClientError as e:
            if _error_code(e) in _MISSING:
                return False
            raise
        return True

    def delete(self, digest: str) -> bool:
        # S3 answers a DELETE of a missing key with success, so the HEAD tells which it was.
        if not self.exists(digest):
            return False
        self._s3.delete_object(Bucket=self.bucket, Key=self.key(digest))
        return True

    def _check_bucket(self, endpoint_url: str | None) -> None:
        """Fail at start, with the reason, rather than on the first upload."""
        where = f"s3://{self.bucket}" + (f" at {endpoint_url}" if endpoint_url else "")
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except ClientError as e:
            code = _error_code(e)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise S3BlobStoreError(f"blob store bucket {where} does not exist") from None
            if code in ("403", "AccessDenied", "Forbidden"):
                raise S3BlobStoreError(
                    f"blob store bucket {where}: access denied; check the AWS credentials "
                    "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a role)") from None
            raise S3BlobStoreError(f"blob store bucket {where}: {e}") from e
        except BotoCoreError as e:  # no credentials, endpoint unreachable, ...
            raise S3BlobStoreError(f"blob store bucket {where}: {e}") from e


def _client(endpoint_url: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    # Path-style addressing for other endpoints: MinIO and Ceph do not resolve bucket
    # subdomains unless configured to.
    config = Config(retries={"mode": "standard", "max_attempts": 5},
                    s3={"addressing_style": "path"} if endpoint_url else {})
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def _error_code(e: Exception) -> str:
    return str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))
