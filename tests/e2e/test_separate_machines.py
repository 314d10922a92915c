"""The deployed shape: an API and two workers that share nothing but the database.

Each service runs as a real ``navigator`` process with a ``NAVIGATOR_HOME`` and a
working folder of its own (as on three machines). They share only ``DATABASE_URL``,
``DATABASE_SCHEMA=upload_pipeline_staging``, ``ENVIRONMENT=staging`` and
``SUPABASE_JWT_SECRET`` and, for the object store, the bucket's settings. Real
policies go in over HTTP and must come out ``complete``; a document deleted through
the API must leave no bytes, chunks, job or history behind.

Run once with the default file store (PostgreSQL) and once with an S3-compatible
bucket (moto on 127.0.0.1). Before the file stores, every upload here ended
``failed``: the API kept the file in its own home, where no worker could read it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from adapters.s3_blobs import S3BlobStore
from tests.e2e.conftest import (
    FAST_WORKER,
    SECRET,
    START_TIMEOUT,
    Service,
    drop_schema,
    member_client,
    navigator_command,
    upload_and_follow,
    wait_for,
)
from tests.fakes.s3_server import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    S3Server,
    new_bucket_name,
)
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SCHEMA = "upload_pipeline_staging"
MEMBER = "member-staging-maria"
POLICIES = ("simulated_insurance_document.pdf", "scan_classic_hmo.pdf")


@attrs.define
class Machine:
    """One service's own home, working folder and environment."""

    name: str
    root: Path
    env: dict[str, str]

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def workdir(self) -> Path:
        return self.root / "work"


@attrs.define
class Topology:
    dsn: str
    port: int
    shared: dict[str, str]
    machines: dict[str, Machine] = attrs.Factory(dict)
    services: list[Service] = attrs.Factory(list)
    bucket: S3BlobStore | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def machine(self, name: str, root: Path, **own: str) -> Machine:
        machine = Machine(name, root / name, {})
        machine.home.mkdir(parents=True)
        machine.workdir.mkdir(parents=True)
        base = {key: value for key, value in os.environ.items()
                if not key.startswith(("OPENAI_", "LLAMAPARSE_", "DATABASE_", "SUPABASE_",
                                       "WORKER_", "RAG_", "SERVICE_", "NAVIGATOR_", "S3_",
                                       "FILE_STORE", "BLOB_", "UPLOAD_"))}
        machine.env = {**base, **self.shared, "NAVIGATOR_HOME": str(machine.home),
                       "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", **own}
        self.machines[name] = machine
        return machine

    def run(self, machine: Machine, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*navigator_command(), *args], env=machine.env,
                              cwd=machine.workdir, capture_output=True, text=True,
                              timeout=120, check=False)

    def start(self, machine: Machine, *args: str) -> Service:
        log = machine.root / f"{machine.name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([*navigator_command(), *args], env=machine.env,
                                       cwd=machine.workdir, stdout=out,
                                       stderr=subprocess.STDOUT)
        service = Service(machine.name, process, log)
        self.services.append(service)
        return service

    def logs(self) -> str:
        return "\n".join(service.tail() for service in self.services)

    def sql(self, query: str, *args: object) -> list[Any]:
        from adapters.postgres.connection import connect

        async def fetch() -> list[Any]:
            conn = await connect(self.dsn)
            try:
                return list(await conn.fetch(query.replace("{s}", f'"{SCHEMA}"'), *args))
            finally:
                await conn.close()

        return asyncio.run(fetch())


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module", params=["postgres", "s3"])
def topology(request: pytest.FixtureRequest, postgres_dsn: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """Migrate, then start the API and two workers, each on its own "machine"."""
    shared = {"DATABASE_URL": postgres_dsn, "DATABASE_SCHEMA": SCHEMA,
              "ENVIRONMENT": "staging", "SUPABASE_JWT_SECRET": SECRET}
    bucket = None
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        name = new_bucket_name()
        shared.update(server.settings(name))
        bucket = S3BlobStore(name, endpoint_url=server.endpoint_url, region=REGION,
                             access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY)
        asyncio.run(_create_bucket(bucket))
    root = tmp_path_factory.mktemp(f"machines-{request.param}")
    topology = Topology(postgres_dsn, free_port(), shared, bucket=bucket)
    drop_schema(postgres_dsn, SCHEMA)  # a schema left by an interrupted run
    try:
        api = topology.machine("api", root, SERVICE_HOST="127.0.0.1",
                               SERVICE_PORT=str(topology.port))
        migrated = topology.run(api, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        api_service = topology.start(api, "api")
        wait_for(lambda: _answers(topology.url) or not api_service.alive(),
                 "the API to answer", 3 * START_TIMEOUT, interval=0.5, logs=topology.logs)
        assert api_service.alive(), topology.logs()
        for name in ("worker-a", "worker-b"):
            topology.start(topology.machine(name, root, **FAST_WORKER), "worker")
        # Two processes importing at once on a busy machine: give them room.
        wait_for(lambda: len(topology.sql("SELECT 1 FROM {s}.workers")) == 2,
                 "both workers to register", 3 * START_TIMEOUT, interval=0.5,
                 logs=topology.logs)
        yield topology
    finally:
        for service in topology.services:
            service.stop()
        drop_schema(postgres_dsn, SCHEMA)
        shutil.rmtree(root, ignore_errors=True)


async def _create_bucket(bucket: S3BlobStore) -> None:
    try:
        await bucket.create_bucket()
    finally:
        await bucket.aclose()


async def _bucket_keys(bucket: S3BlobStore) -> list[str]:
    try:
        return await bucket.keys()
    finally:
        await bucket.aclose()


@pytest.fixture(scope="module")
def member(topology: Topology) -> Iterator[httpx.Client]:
    with member_client(topology.url, MEMBER) as client:
        yield client


@pytest.fixture(scope="module")
def finished(topology: Topology, member: httpx.Client) -> dict[str, dict[str, Any]]:
    """Each real policy uploaded over HTTP and followed to its end."""
    return upload_and_follow(member, POLICIES, topology.logs, 120)


def test_real_policies_uploaded_to_the_api_are_completed_by_workers_on_other_machines(
    topology: Topology, finished: dict[str, dict[str, Any]],
) -> None:
    for name, job in finished.items():
        assert job["status"] == "complete", (name, job["last_error"], topology.logs())
        workers = {event["worker"] for event in job["history"] if event["worker"]}
        assert workers and workers <= {row["worker_id"] for row in
                                       topology.sql("SELECT worker_id FROM {s}.workers")}


def test_no_service_kept_an_uploaded_file_in_its_own_home(
    topology: Topology, finished: dict[str, dict[str, Any]],
) -> None:
    for machine in topology.machines.values():
        assert not (machine.home / "blobs").exists(), machine.name
        assert not any(machine.workdir.iterdir()), machine.name


def test_a_document_deleted_through_the_api_leaves_no_bytes_chunks_or_job(
    topology: Topology, member: httpx.Client, finished: dict[str, dict[str, Any]],
) -> None:
    job = finished["scan_classic_hmo.pdf"]
    document_id = job["document_id"]
    (row,) = topology.sql("SELECT blob_key FROM {s}.documents WHERE document_id = $1::uuid",
                          document_id)
    assert topology.sql("SELECT 1 FROM {s}.document_chunks WHERE document_id = $1::uuid",
                        document_id)

    deleted = member.delete(f"/api/v1/documents/{document_id}")

    assert deleted.status_code == 204
    for table in ("documents", "document_files", "document_chunks", "upload_jobs"):
        assert topology.sql(f"SELECT 1 FROM {{s}}.{table} WHERE document_id = $1::uuid",
                            document_id) == [], table
    assert topology.sql("SELECT 1 FROM {s}.job_events WHERE job_id = $1::uuid",
                        job["id"]) == []
    if topology.bucket is not None:
        keys = asyncio.run(_bucket_keys(topology.bucket))
        assert row["blob_key"] not in keys
        assert len(keys) == 1  # the other policy's file, and nothing else
    assert member.get(f"/api/v1/documents/{document_id}").status_code == 404
