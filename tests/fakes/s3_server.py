"""A real S3-compatible server on 127.0.0.1 for tests: moto in server mode.

It speaks the S3 REST API over HTTP, so the store is exercised through aiobotocore
exactly as against AWS, Supabase Storage, R2 or MinIO, with no internet. moto keeps
the objects in memory and accepts any credentials.
"""

from __future__ import annotations

import logging
import time
import uuid

import attrs
import httpx
from moto.server import ThreadedMotoServer

from tests.ports import free_port

ACCESS_KEY_ID = "navigator-test-key"
SECRET_ACCESS_KEY = "navigator-test-secret-" + "7d1c" * 8
REGION = "us-east-1"


@attrs.frozen
class S3Server:
    endpoint_url: str

    def settings(self, bucket: str) -> dict[str, str]:
        """The environment that points the services at this server and ``bucket``."""
        return {
            "FILE_STORE": "s3",
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_BUCKET": bucket,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }


def new_bucket_name() -> str:
    return f"navigator-test-{uuid.uuid4().hex[:12]}"


class RunningS3Server:
    """``with RunningS3Server() as server:`` a moto S3 server until the block ends."""

    def __init__(self) -> None:
        self._port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port,
                                          verbose=False)

    def __enter__(self) -> S3Server:
        # werkzeug logs every request line (bucket and key) at INFO: keep test output clean.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        url = f"http://127.0.0.1:{self._port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        return S3Server(url)

    def __exit__(self, *_exc: object) -> None:
        self._server.stop()
