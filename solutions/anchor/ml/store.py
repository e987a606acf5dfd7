"""Versioned model artifacts in S3: ``{prefix}/v{N}/model.joblib`` + ``metadata.json``, and ``latest``.

Publishing writes the version's two objects first and moves the ``latest`` pointer last, so a
reader that follows the pointer never finds half a version. Versions are never overwritten: a
rollback is moving ``latest`` back to an older ``v{N}``. A model file is a pickle, and unpickling
runs code, so the store checks the file's SHA-256 against its metadata before loading it — the
bucket is private and only the training job may write to it (see ``deploy/stack.yaml``), and the
hash catches a half-copied or swapped file besides.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import joblib
from botocore.exceptions import ClientError

POINTER = "latest"


class NoModelPublished(Exception):
    """There is no ``latest`` pointer yet: the training job has not published a version."""


class ModelIntegrityError(Exception):
    """The model file's hash does not match its metadata: refuse to unpickle it."""


@dataclass(frozen=True)
class Pointer:
    version: int
    etag: str


class ModelStore:
    """One model's versions under ``prefix`` in ``bucket``, through a boto3 S3 client."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix.strip("/")

    def key(self, version: int, name: str) -> str:
        return f"{self.prefix}/v{version}/{name}"

    def versions(self) -> list[int]:
        """Every published version number, ascending (from the keys, not from the pointer)."""
        found: set[int] = set()
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/v", Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                match = re.fullmatch(rf"{re.escape(self.prefix)}/v(\d+)/", common["Prefix"])
                if match:
                    found.add(int(match[1]))
        return sorted(found)

    def publish(self, model: Any, metadata: dict[str, Any]) -> int:
        """Write the next version and point ``latest`` at it; returns its number."""
        version = max(self.versions(), default=0) + 1
        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=3)
        blob = buffer.getvalue()
        metadata = {**metadata, "version": version, "sha256": hashlib.sha256(blob).hexdigest()}
        self.s3.put_object(Bucket=self.bucket, Key=self.key(version, "model.joblib"), Body=blob)
        self.s3.put_object(Bucket=self.bucket, Key=self.key(version, "metadata.json"),
                           Body=json.dumps(metadata, indent=2).encode(), ContentType="application/json")
        self.point_to(version)
        return version

    def point_to(self, version: int) -> None:
        """Move ``latest`` (publishing, or rolling back to a version that exists)."""
        self.s3.head_object(Bucket=self.bucket, Key=self.key(version, "metadata.json"))
        self.s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{POINTER}",
                           Body=json.dumps({"version": version}).encode(), ContentType="application/json")

    def latest(self, *, unless_etag: str | None = None) -> Pointer | None:
        """The pointer, or None when it is unchanged since ``unless_etag`` (a 304: no body sent).

        Raises :class:`NoModelPublished` while there is no pointer at all."""
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": f"{self.prefix}/{POINTER}"}
        if unless_etag:
            request["IfNoneMatch"] = unless_etag
        try:
            answer = self.s3.get_object(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in {"304", "NotModified"}:
                return None
            if code in {"NoSuchKey", "404"}:
                where = f"s3://{self.bucket}/{self.prefix}/{POINTER}"
                raise NoModelPublished(f"{where} does not exist") from error
            raise
        return Pointer(version=int(json.loads(answer["Body"].read())["version"]), etag=answer["ETag"])

    def load(self, version: int) -> tuple[Any, dict[str, Any]]:
        """The model and its metadata, after checking the file against the metadata's hash."""
        metadata = json.loads(self.s3.get_object(
            Bucket=self.bucket, Key=self.key(version, "metadata.json"))["Body"].read())
        blob = self.s3.get_object(Bucket=self.bucket, Key=self.key(version, "model.joblib"))["Body"].read()
        if hashlib.sha256(blob).hexdigest() != metadata.get("sha256"):
            raise ModelIntegrityError(f"{self.key(version, 'model.joblib')} does not match the SHA-256 "
                                      "in its metadata.json; not loading it")
        return joblib.load(io.BytesIO(blob)), metadata


def s3_client(*, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 S3 client; credentials come from the task role (or the environment), never settings."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
