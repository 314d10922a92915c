"""Uploaded files in S3-compatible object storage (``FILE_STORE=s3``).

Works with AWS S3, Supabase Storage's S3 endpoint, Cloudflare R2 and MinIO: path-style
addressing (the only style Supabase and MinIO always accept) and checksums only where
the operation requires them (R2 and Supabase refuse some of the newer default ones).

The client is ``aiobotocore``: the asyncio port of botocore maintained by aio-libs.
It is the engine under ``aioboto3`` and ``s3fs``, so it follows botocore's request
signing, retries and error types release by release, without a second wrapper layer
between us and the S3 API.

Files are streamed: a file up to ``part_bytes`` is one ``PutObject``; a larger one
is a multipart upload of ``part_bytes`` parts (at least 5 MiB, S3's minimum), read
one at a time from the upload's temporary file, aborted if anything fails, so no
half-written object is ever visible under the key. The store keeps no bytes that a
document does not name: ``SubmitUpload`` puts the object before it records the
document, and deletes it again if the document is not recorded.

Errors reaching the store (connection refused, timeouts, 5xx) are ``TransientError``
(the API answers 503, a worker retries); a missing object is ``NotFound``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from adapters.blob_keys import check_blob_key
from domain.errors import NotFound, TransientError
from domain.files import UploadedFile, read_all
from domain.units import MIB

#: S3 refuses multipart parts under 5 MiB (except the last).
MIN_PART_BYTES = 5 * MIB
#: How much of a file's body is read at a time when it is streamed out.
_READ_BYTES = MIB


# botocore's DEBUG lines carry request bodies (members' documents): entrypoints/logs.py
# holds them at INFO whatever LOG_LEVEL says.


class S3BlobStore:
    """``BlobStore`` on an S3-compatible bucket. Call ``aclose()`` at shutdown."""

    kept_with_jobs = False

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        key_prefix: str = "",
        part_bytes: int = 8 * MIB,
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"parts must be at least {MIN_PART_BYTES} bytes (S3's minimum)")
        self._bucket = bucket
        self._endpoint_url = endpoint_url
        self._region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._prefix = key_prefix.strip("/")
        self._part_bytes = part_bytes
        self._client: Any = None
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:  # no keys
        return f"S3BlobStore(bucket={self._bucket!r}, endpoint={self._endpoint_url!r})"

    # -- the port ------------------------------------------------------------------

    async def put(self, key: str, file: UploadedFile) -> None:
        name = self._name(key)
        client = await self._open()
        with _store_errors(f"storing {key!r}"):
            if file.size <= self._part_bytes:
                data = await read_all(file)
                await client.put_object(Bucket=self._bucket, Key=name, Body=data,
                                        ContentLength=len(data))
                return
            await self._multipart(client, name, file)

    async def get(self, key: str) -> bytes:
        name = self._name(key)
        client = await self._open()
        with _store_errors(f"reading {key!r}"):
            try:
                response = await client.get_object(Bucket=self._bucket, Key=name)
            except client.exceptions.NoSuchKey:
                raise NotFound(f"no stored file {key!r}") from None
            async with response["Body"] as body:
                return bytes(await body.read())

    async def read(self, key: str, start: int = 0, end: int | None = None
                   ) -> AsyncIterator[bytes]:
        """One ranged GET, its body read a part at a time (never the whole file)."""
        name = self._name(key)
        client = await self._open()
        wanted = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
        with _store_errors(f"reading {key!r}"):
            try:
                response = await client.get_object(Bucket=self._bucket, Key=name, Range=wanted)
            except client.exceptions.NoSuchKey:
                raise NotFound(f"no stored file {key!r}") from None
        async with response["Body"] as body:
            while True:
                with _store_errors(f"reading {key!r}"):
                    part = await body.read(_READ_BYTES)
                if not part:
                    return
                yield bytes(part)

    async def delete(self, key: str) -> None:
        name = self._name(key)
        client = await self._open()
        with _store_errors(f"deleting {key!r}"):
            await client.delete_object(Bucket=self._bucket, Key=name)

    # -- operators and tests ----------------------------------------------------------

    async def keys(self) -> list[str]:
        """Every stored key, sorted (for operators and tests)."""
        client = await self._open()
        found: list[str] = []
        prefix = f"{self._prefix}/" if self._prefix else ""
        with _store_errors("listing the bucket"):
            paginator = client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                found.extend(item["Key"][len(prefix):] for item in page.get("Contents", ()))
        return sorted(found)

    async def create_bucket(self) -> None:
        """Create the bucket if it does not exist (tests, local MinIO)."""
        client = await self._open()
        exists = (client.exceptions.BucketAlreadyOwnedByYou,
                  client.exceptions.BucketAlreadyExists)
        with _store_errors("creating the bucket"), contextlib.suppress(*exists):
            await client.create_bucket(Bucket=self._bucket)

    async def aclose(self) -> None:
        if self._exit_stack is not None:
            stack, self._exit_stack, self._client = self._exit_stack, None, None
            await stack.aclose()

    # -- internals ----------------------------------------------------------------------

    def _name(self, key: str) -> str:
        check_blob_key(key)
        return f"{self._prefix}/{key}" if self._prefix else key

    async def _open(self) -> Any:
        async with self._opening:
            if self._client is None:
                from aiobotocore.config import AioConfig
                from aiobotocore.session import get_session

                config = AioConfig(
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(get_session().create_client(
                    "s3",
                    endpoint_url=self._endpoint_url,
                    region_name=self._region,
                    aws_access_key_id=self._access_key_id,
                    aws_secret_access_key=self._secret_access_key,
                    config=config,
                ))
                self._exit_stack = stack
            return self._client

    async def _multipart(self, client: Any, name: str, file: UploadedFile) -> None:
        started = await client.create_multipart_upload(Bucket=self._bucket, Key=name)
        upload_id = started["UploadId"]
        try:
            done = []
            number = 0
            async for part in file.parts(self._part_bytes):
                number += 1
                sent = await client.upload_part(Bucket=self._bucket, Key=name,
                                                UploadId=upload_id, PartNumber=number,
                                                Body=part, ContentLength=len(part))
                done.append({"PartNumber": number, "ETag": sent["ETag"]})
            await client.complete_multipart_upload(Bucket=self._bucket, Key=name,
                                                   UploadId=upload_id,
                                                   MultipartUpload={"Parts": done})
        except BaseException:
            with contextlib.suppress(Exception):
                await client.abort_multipart_upload(Bucket=self._bucket, Key=name,
                                                    UploadId=upload_id)
            raise


@contextlib.contextmanager
def _store_errors(doing: str) -> Any:
    """botocore's errors as the domain's: the store is unreachable or refused us."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        code = error.get("Code", "error")
        raise TransientError(f"the file store answered {code} ({status}) while {doing}"
                             ) from None
    except BotoCoreError as exc:
        raise TransientError(f"the file store cannot be reached while {doing}: "
                             f"{type(exc).__name__}") from None
    except OSError as exc:
        raise TransientError(f"the file store cannot be reached while {doing}: "
                             f"{type(exc).__name__}") from None

