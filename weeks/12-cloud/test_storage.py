"""Lab cloud/storage: presigned URLs and a bounded-memory multipart upload, against moto_server.

The S3 API here is a real ``moto_server`` process on loopback (see conftest.py): boto3 signs real
requests and urllib sends them over real sockets, as a browser or ``curl`` would.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from labs.week12_cloud import storage

LESSON = "weeks/12-cloud/README.md"
BUCKET = "week12-uploads"
MIB = 1024 * 1024
PART_BYTES = 5 * MIB
FILE_BYTES = 64 * MIB           # the file is over four times the memory budget below
BUDGET_BYTES = 3 * PART_BYTES   # one part in hand, plus what boto3 copies while signing


@pytest.fixture(scope="module")
def s3(aws: Callable[[str], Any]) -> Any:
    client = aws("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("upload") / "big.bin"
    with path.open("wb") as out:
        for _ in range(FILE_BYTES // MIB):
            out.write(os.urandom(MIB))
    return path


def _http(method: str, url: str, data: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_presigned_put_lets_a_client_upload_without_credentials(s3: Any) -> None:
    url = storage.presigned_put_url(s3, BUCKET, "avatars/1.png", expires_in_s=300,
                                    content_type="image/png")
    status, body = _http("PUT", url, b"\x89PNG fake", {"Content-Type": "image/png"})
    assert status == 200, (f"expected the presigned PUT to answer 200; got {status}: {body[:200]!r}. "
                           f"Look at {LESSON}, section 'Presigned URLs'.")
    stored = s3.get_object(Bucket=BUCKET, Key="avatars/1.png")
    assert stored["Body"].read() == b"\x89PNG fake"
    assert stored["ContentType"] == "image/png", (
        f"expected the upload to keep Content-Type image/png (sign it into the URL); got "
        f"{stored['ContentType']!r}")


def test_presigned_get_downloads_the_object(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="reports/q1.csv", Body=b"a,b\n1,2\n")
    url = storage.presigned_get_url(s3, BUCKET, "reports/q1.csv", expires_in_s=60)
    assert "X-Amz-Signature=" in url, f"expected a SigV4-signed URL; got {url}"
    status, body = _http("GET", url)
    assert (status, body) == (200, b"a,b\n1,2\n"), (
        f"expected 200 and the object's bytes; got {status}: {body[:200]!r}")


def test_presigned_get_expires_when_asked(s3: Any) -> None:
    before_s = time.time()
    url = storage.presigned_get_url(s3, BUCKET, "reports/q1.csv", expires_in_s=90)
    query = parse_qs(urlsplit(url).query)
    expires = query.get("X-Amz-Expires", ["(none)"])[0]
    assert expires == "90", (
        f"expected the URL to be signed for exactly expires_in_s=90 seconds (X-Amz-Expires=90); "
        f"got X-Amz-Expires={expires}. A link that lives an hour by default is an hour-long leak. "
        f"Look at {LESSON}, section 'Presigned URLs'.")
    signed_at = time.mktime(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")) - time.timezone
    assert abs(signed_at - before_s) < 120, "expected the URL to be signed now, not earlier"


@pytest.mark.parametrize("expires_in_s", [0, -5, 7 * 24 * 3600 + 1])
def test_presigned_urls_refuse_an_expiry_s3_would_not_honour(s3: Any, expires_in_s: int) -> None:
    for make in (lambda: storage.presigned_get_url(s3, BUCKET, "k", expires_in_s=expires_in_s),
                 lambda: storage.presigned_put_url(s3, BUCKET, "k", expires_in_s=expires_in_s,
                                                   content_type="text/plain")):
        with pytest.raises(ValueError):
            make()
            pytest.fail(f"expected ValueError for expires_in_s={expires_in_s} (valid: 1..604800, "
                        "seven days); got a URL")


def test_multipart_upload_round_trips_a_large_file(s3: Any, big_file: Path) -> None:
    etag = storage.upload_multipart(s3, BUCKET, "big/round-trip.bin", big_file,
                                    part_size_bytes=PART_BYTES)
    parts = math.ceil(FILE_BYTES / PART_BYTES)
    assert etag.strip('"').endswith(f"-{parts}"), (
        f"expected a multipart ETag ending in -{parts} ({parts} parts of 5 MiB); got {etag}. "
        f"Look at {LESSON}, section 'Multipart uploads'.")
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=BUCKET, Key="big/round-trip.bin")["Body"].iter_chunks(MIB):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(big_file.read_bytes()).hexdigest(), (
        "expected the stored object to be byte-for-byte the file; parts are out of order or lost")


def test_multipart_upload_memory_stays_within_budget(s3: Any, big_file: Path) -> None:
    tracemalloc.start()
    try:
        storage.upload_multipart(s3, BUCKET, "big/bounded.bin", big_file, part_size_bytes=PART_BYTES)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_bytes < BUDGET_BYTES, (
        f"expected peak Python memory under {BUDGET_BYTES / MIB:.0f} MiB (three 5 MiB parts) for a "
        f"{FILE_BYTES / MIB:.0f} MiB file; got {peak_bytes / MIB:.1f} MiB. Read one part at a time "
        f"— never the whole file. Look at {LESSON}, section 'Multipart uploads'.")


def test_multipart_refuses_parts_s3_would_reject(s3: Any, big_file: Path) -> None:
    with pytest.raises(ValueError):
        storage.upload_multipart(s3, BUCKET, "big/tiny-parts.bin", big_file,
                                 part_size_bytes=1 * MIB)
        pytest.fail("expected ValueError for 1 MiB parts (S3's minimum is 5 MiB); got an upload")


def test_a_failed_upload_leaves_no_parts_behind(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(OSError):
        storage.upload_multipart(s3, BUCKET, "big/broken.bin", tmp_path, part_size_bytes=PART_BYTES)
    pending = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert not [u for u in pending if u["Key"] == "big/broken.bin"], (
        "expected no unfinished upload after a failure; S3 keeps (and bills) orphaned parts "
        f"until someone aborts them. Call abort_multipart_upload. Look at {LESSON}, section "
        "'Multipart uploads'.")
