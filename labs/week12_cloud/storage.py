"""Object storage through the S3 API: presigned URLs and a multipart upload in bounded memory.

A presigned URL is a request the server signed in advance: whoever holds it may do exactly that
one operation (PUT this key, GET this key) until it expires, without AWS credentials. The
bytes go straight between the client and S3, never through the API's memory or bandwidth.

``s3`` is a boto3 S3 client (the tests hand you one pointed at a moto server on loopback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIN_PART_SIZE_BYTES = 5 * 1024 * 1024      # S3 refuses smaller parts (except the last one)
MAX_PARTS = 10_000                          # S3's limit on parts per upload
MAX_PRESIGN_EXPIRY_S = 7 * 24 * 3600        # SigV4 presigned URLs live at most 7 days


def presigned_put_url(s3: Any, bucket: str, key: str, *, expires_in_s: int,
                      content_type: str) -> str:
    """A URL that lets its holder PUT ``key`` (with this ``Content-Type``) for ``expires_in_s``.

    Sign ``ContentType`` into the URL so the object is stored with it. ``expires_in_s`` outside
    1..MAX_PRESIGN_EXPIRY_S (604800) raises ``ValueError``.
    """
    raise NotImplementedError(
        "presigned_put_url — see weeks/12-cloud/README.md, section 'Presigned URLs'")


def presigned_get_url(s3: Any, bucket: str, key: str, *, expires_in_s: int) -> str:
    """A URL that lets its holder GET ``key`` for exactly ``expires_in_s`` seconds, and no longer.

    The URL carries ``X-Amz-Expires=<expires_in_s>``. ``expires_in_s`` outside
    1..MAX_PRESIGN_EXPIRY_S (604800) raises ``ValueError``.
    """
    raise NotImplementedError(
        "presigned_get_url — see weeks/12-cloud/README.md, section 'Presigned URLs'")


def upload_multipart(s3: Any, bucket: str, key: str, path: Path, *,
                     part_size_bytes: int = 8 * 1024 * 1024) -> str:
    """Upload ``path`` in parts of ``part_size_bytes``, holding one part in memory; return the ETag.

    - ``part_size_bytes`` below MIN_PART_SIZE_BYTES (5 MiB) raises ``ValueError``;
    - a 64 MiB file in 5 MiB parts must peak under 15 MiB of Python memory (tracemalloc);
    - the returned ETag is S3's multipart one, ending in ``-<number of parts>``;
    - a failed upload (e.g. ``path`` cannot be read: the ``OSError`` propagates) leaves no
      unfinished upload behind: abort it.
    """
    raise NotImplementedError(
        "upload_multipart — see weeks/12-cloud/README.md, section 'Multipart uploads'")
