"""Object storage through the S3 API: presigned URLs and a multipart upload in bounded memory.

A presigned URL is a request the server signed in advance: whoever holds it may do exactly that
one operation (PUT this key, GET this key) until it expires, without AWS credentials. The
bytes go straight between the client and S3, never through the API's memory or bandwidth.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

MIN_PART_SIZE_BYTES = 5 * 1024 * 1024      # S3 refuses smaller parts (except the last one)
MAX_PARTS = 10_000                          # S3's limit on parts per upload
MAX_PRESIGN_EXPIRY_S = 7 * 24 * 3600        # SigV4 presigned URLs live at most 7 days


def _check_expiry(expires_in_s: int) -> None:
    if not 1 <= expires_in_s <= MAX_PRESIGN_EXPIRY_S:
        raise ValueError(f"expires_in_s must be 1..{MAX_PRESIGN_EXPIRY_S} (7 days); "
                         f"got {expires_in_s}")


def presigned_put_url(s3: Any, bucket: str, key: str, *, expires_in_s: int,
                      content_type: str) -> str:
    """A URL that lets its holder PUT ``key`` (with this ``Content-Type``) for ``expires_in_s``."""
    _check_expiry(expires_in_s)
    return str(s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
        ExpiresIn=expires_in_s, HttpMethod="PUT"))


def presigned_get_url(s3: Any, bucket: str, key: str, *, expires_in_s: int) -> str:
    """A URL that lets its holder GET ``key`` for ``expires_in_s`` seconds, and no longer."""
    _check_expiry(expires_in_s)
    return str(s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in_s))


def upload_multipart(s3: Any, bucket: str, key: str, path: Path, *,
                     part_size_bytes: int = 8 * 1024 * 1024) -> str:
    """Upload ``path`` in parts of ``part_size_bytes``, holding one part in memory; return the ETag.

    A failed upload is aborted: S3 keeps (and bills) the parts of an unfinished upload forever.
    """
    if part_size_bytes < MIN_PART_SIZE_BYTES:
        raise ValueError(f"part_size_bytes must be at least {MIN_PART_SIZE_BYTES} (5 MiB); "
                         f"got {part_size_bytes}")
    size_bytes = path.stat().st_size
    if math.ceil(size_bytes / part_size_bytes) > MAX_PARTS:
        raise ValueError(f"{size_bytes} bytes in parts of {part_size_bytes} is over "
                         f"{MAX_PARTS} parts; use larger parts")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        parts = []
        with path.open("rb") as source:
            number = 1
            while chunk := source.read(part_size_bytes):
                answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                        PartNumber=number, Body=chunk)
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                number += 1
        done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                            MultipartUpload={"Parts": parts})
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return str(done["ETag"])
