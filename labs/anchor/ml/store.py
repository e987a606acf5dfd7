"""Versioned model artifacts in S3: ``{prefix}/v{N}/model.joblib`` + ``metadata.json``, and ``latest``.

Publishing writes the version's two objects first and moves the ``latest`` pointer last, so a
reader that follows the pointer never finds half a version. Versions are never overwritten: a
rollback is moving ``latest`` back to an older ``v{N}``. A model file is a pickle, and unpickling
runs code, so the store checks the file's SHA-256 against its metadata before loading it — the
bucket is private and only the training job may write to it (see ``deploy/stack.yaml``), and the
hash catches a half-copied or swapped file besides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        """Every published version number, ascending (from the keys, not from the pointer).

        ``list_objects_v2`` with ``Prefix=f"{prefix}/v"`` and ``Delimiter="/"`` lists one common
        prefix per version; use the paginator, a bucket may hold more than a page of them.
        """
        raise NotImplementedError("versions: see weeks/15-anchor-ship/README.md, "
                                  "section 'Versioned artifacts'")

    def publish(self, model: Any, metadata: dict[str, Any]) -> int:
        """Write the next version and point ``latest`` at it; returns its number.

        The next number is one past the highest in :meth:`versions`. ``joblib.dump`` the model into
        bytes; put ``v{N}/model.joblib``, then ``v{N}/metadata.json`` (the metadata plus
        ``version`` and the model bytes' ``sha256``), then move the pointer — last, so a reader
        following it never finds half a version. Never write into an existing version.
        """
        raise NotImplementedError("publish: see weeks/15-anchor-ship/README.md, "
                                  "section 'Versioned artifacts'")

    def point_to(self, version: int) -> None:
        """Move ``latest`` (publishing, or rolling back to a version that exists).

        Check the version's metadata exists (``head_object``), then put ``{"version": N}`` at
        ``{prefix}/latest``.
        """
        raise NotImplementedError("point_to: see weeks/15-anchor-ship/README.md, "
                                  "section 'Versioned artifacts'")

    def latest(self, *, unless_etag: str | None = None) -> Pointer | None:
        """The pointer, or None when it is unchanged since ``unless_etag`` (a 304: no body sent).

        ``get_object`` with ``IfNoneMatch=unless_etag``: botocore raises ``ClientError`` with code
        ``304`` when the pointer has not changed. Raises :class:`NoModelPublished` while there is no
        pointer at all (code ``NoSuchKey``)."""
        raise NotImplementedError("latest: see weeks/15-anchor-ship/README.md, "
                                  "section 'Versioned artifacts'")

    def load(self, version: int) -> tuple[Any, dict[str, Any]]:
        """The model and its metadata, after checking the file against the metadata's hash.

        Unpickling runs code: compare ``hashlib.sha256(blob)`` with the metadata's ``sha256`` and
        raise :class:`ModelIntegrityError` on a mismatch, before ``joblib.load``.
        """
        raise NotImplementedError("load: see weeks/15-anchor-ship/README.md, "
                                  "section 'Versioned artifacts'")


def s3_client(*, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 S3 client; credentials come from the task role (or the environment), never settings."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
