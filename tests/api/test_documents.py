"""Uploading, listing, showing and deleting documents over HTTP."""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from tests.api.conftest import MEMBER, OTHER_MEMBER, Api, MakeApi, bearer
from tests.corpus import corpus_bytes

POLICY = (
    b"# Summary of benefits 2025\n\n## Deductible\n\nYour yearly deductible is $500 per "
    b"member.\n\n## Maximum out-of-pocket\n\nThe most you pay in a year is $4,900.\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def is_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status
    assert str(body["type"]).startswith("urn:insurance-navigator:problem:")
    assert body["instance"] == response.request.url.path
    return body


# -- upload --------------------------------------------------------------------------


async def test_a_new_upload_is_accepted_with_its_document_and_waiting_job(api: Api) -> None:
    response = await api.upload("benefits.md", POLICY)

    assert response.status_code == 202
    body = response.json()
    assert body["duplicate"] is False
    document, job = body["document"], body["job"]
    assert document["filename"] == "benefits.md"
    assert document["media_type"] == "text/markdown"
    assert document["size_bytes"] == len(POLICY)
    assert job["status"] == "uploaded"
    assert job["progress"] == 0.0
    assert job["attempts"] == 0
    assert document["links"] == {"self": f"/api/v1/documents/{document['id']}",
                                 "job": f"/api/v1/jobs/{job['id']}"}
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"


async def test_the_server_computes_the_sha256_of_the_bytes(api: Api) -> None:
    import hashlib

    response = await api.upload("benefits.md", POLICY)

    assert response.json()["document"]["sha256"] == hashlib.sha256(POLICY).hexdigest()


async def test_the_same_file_again_returns_the_existing_document_as_a_duplicate(
    api: Api,
) -> None:
    first = (await api.upload("benefits.md", POLICY)).json()

    again = await api.upload("renamed copy.md", POLICY)

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["document"]["id"] == first["document"]["id"]
    assert again.json()["job"]["id"] == first["job"]["id"]
    assert len(api.memory.store.jobs) == 1


async def test_two_members_uploading_the_same_bytes_get_separate_documents(api: Api) -> None:
    mine = (await api.upload("benefits.md", POLICY, member=MEMBER)).json()
    theirs = await api.upload("benefits.md", POLICY, member=OTHER_MEMBER)

    assert theirs.status_code == 202
    assert theirs.json()["document"]["id"] != mine["document"]["id"]


async def test_an_empty_file_is_refused_with_422(api: Api) -> None:
    body = is_problem(await api.upload("empty.pdf", b""), 422)

    assert "empty" in str(body["detail"])


async def test_a_png_renamed_pdf_is_refused_by_its_content_with_415(api: Api) -> None:
    body = is_problem(await api.upload("scan.pdf", PNG, content_type="application/pdf"), 415)

    assert "PNG" in str(body["detail"])


async def test_plain_text_wearing_a_docx_name_is_refused_with_415(api: Api) -> None:
    data = corpus_bytes("fake_docx_plain_text.docx")

    body = is_problem(await api.upload("fake_docx_plain_text.docx", data), 415)

    assert "Word" in str(body["detail"]) or "docx" in str(body["detail"]).lower()


async def test_a_real_pdf_is_accepted_whatever_the_declared_type(api: Api) -> None:
    data = corpus_bytes("simulated_insurance_document.pdf")

    response = await api.upload("policy.bin", data, content_type="application/octet-stream")

    assert response.status_code == 202
    assert response.json()["document"]["media_type"] == "application/pdf"


async def test_a_file_over_the_size_limit_is_refused_with_413(api: Api) -> None:
    body = is_problem(await api.upload("big.txt", b"a" * (64 * 1024 + 1)), 413)

    assert "largest file we accept" in str(body["detail"])
    assert api.memory.store.documents == {}


async def test_a_file_exactly_at_the_size_limit_is_accepted(api: Api) -> None:
    response = await api.upload("limit.txt", b"a" * (64 * 1024))

    assert response.status_code == 202


async def test_an_oversized_stream_is_refused_before_it_is_read_to_the_end(api: Api) -> None:
    sent = 0
    piece = b"x" * 16 * 1024
    total_pieces = 10_000  # 160 MiB if it were all read

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (b"--cut\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.txt\""
               b"\r\nContent-Type: text/plain\r\n\r\n")
        for _ in range(total_pieces):
            sent += 1
            yield piece

    response = await api.client.post(
        "/api/v1/documents", content=body(),
        headers={**bearer(), "Content-Type": "multipart/form-data; boundary=cut"},
    )

    is_problem(response, 413)
    assert sent <= 6  # the 64 KiB cap is passed within the fifth piece


async def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(
    api: Api,
) -> None:
    async def body() -> AsyncIterator[bytes]:
        raise AssertionError("the body should not be read")
        yield b""  # pragma: no cover

    response = await api.client.post(
        "/api/v1/documents", content=body(),
        headers={**bearer(), "Content-Type": "multipart/form-data; boundary=cut",
                 "Content-Length": str(500 * 1024 * 1024)},
    )

    is_problem(response, 413)


async def test_uploads_over_the_members_quota_are_refused_with_429(make_api: MakeApi) -> None:
    api = await make_api(UPLOAD_MAX_DOCUMENTS_PER_MEMBER="2")
    for n in range(2):
        assert (await api.upload(f"doc{n}.txt", f"document {n}".encode())).status_code == 202

    body = is_problem(await api.upload("doc3.txt", b"document 3"), 429)

    assert "Delete documents" in str(body["detail"])
    assert (await api.upload("doc3.txt", b"document 3", member=OTHER_MEMBER)).status_code == 202


async def test_a_body_that_is_not_multipart_is_refused_with_415(api: Api) -> None:
    response = await api.client.post("/api/v1/documents", content=POLICY,
                                      headers={**bearer(), "Content-Type": "text/markdown"})

    body = is_problem(response, 415)
    assert "multipart/form-data" in str(body["detail"])


async def test_a_form_without_the_file_field_is_refused_with_422(api: Api) -> None:
    response = await api.client.post("/api/v1/documents", files={"document": ("a.md", POLICY)},
                                      headers=bearer())

    body = is_problem(response, 422)
    assert "'file'" in str(body["detail"])


async def test_an_upload_whose_connection_drops_is_the_members_400_not_a_500(
    api: Api, caplog: pytest.LogCaptureFixture,
) -> None:
    # a phone losing signal mid-upload: nothing stored, and no 5xx to raise an alert
    head = (b"--cut\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.md\"\r\n"
            b"Content-Type: text/markdown\r\n\r\n" + POLICY[:40])
    messages = [{"type": "http.request", "body": head, "more_body": True},
                {"type": "http.disconnect"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = {**bearer(), "content-type": "multipart/form-data; boundary=cut"}
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v1/documents", "raw_path": b"/api/v1/documents",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("navigator.test", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    await api.app(scope, receive, send)  # type: ignore[arg-type]

    [start] = [m for m in sent if m["type"] == "http.response.start"]
    assert start["status"] == 400
    assert api.memory.store.jobs == {}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert 'status="500"' not in api.container.metrics().render().decode()


async def test_a_full_temporary_folder_is_a_503_to_come_back_and_stores_nothing(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    from adapters import spooled_upload

    api = await make_api(UPLOAD_MAX_BYTES=str(1024 * 1024))

    def disk_full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    large = POLICY + b"\n" + b"Covered in full. " * 4_500  # past what stays in memory
    with monkeypatch.context() as patched:
        patched.setattr(spooled_upload.os, "write", disk_full)
        refused = await api.upload("benefits.md", large)

    body = is_problem(refused, 503)
    assert "no room to receive files" in str(body["detail"])
    assert refused.headers["retry-after"] == "60"
    assert api.memory.store.jobs == {}
    assert "no room left to receive an upload" in caplog.text
    again = await api.upload("benefits.md", large)
    assert again.status_code == 202


async def test_an_api_started_on_a_full_disk_answers_uploads_503_until_there_is_room(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    import os
    import tempfile

    def disk_full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    large = POLICY + b"\n" + b"Covered in full. " * 4_500
    monkeypatch.setattr(tempfile, "tempdir", None)  # a process just started: none found yet
    with monkeypatch.context() as patched:
        patched.setattr(os, "write", disk_full)  # Python's search for the folder writes
        api = await make_api(UPLOAD_MAX_BYTES=str(1024 * 1024))
        refused = await api.upload("benefits.md", large)

    body = is_problem(refused, 503)
    assert "no room to receive files" in str(body["detail"])
    assert "no temporary folder to receive uploads in" in caplog.text
    assert api.memory.store.jobs == {}
    again = await api.upload("benefits.md", large)  # room again: the folder is found now
    assert again.status_code == 202


# -- list, show, delete -----------------------------------------------------------------


async def test_documents_are_listed_newest_first_a_page_at_a_time(api: Api) -> None:
    for n in range(3):
        await api.upload(f"doc{n}.txt", f"document number {n}".encode())
        api.memory.clock.advance(1)
    await api.upload("not-mine.txt", b"someone else's", member=OTHER_MEMBER)

    first = (await api.client.get("/api/v1/documents?limit=2", headers=bearer())).json()
    second = (await api.client.get("/api/v1/documents?limit=2&offset=2", headers=bearer())).json()

    assert [i["document"]["filename"] for i in first["items"]] == ["doc2.txt", "doc1.txt"]
    assert first["next_offset"] == 2
    assert [i["document"]["filename"] for i in second["items"]] == ["doc0.txt"]
    assert second["next_offset"] is None
    assert second["items"][0]["job"]["status"] == "uploaded"


async def test_the_page_size_must_be_between_1_and_100(api: Api) -> None:
    for limit in (0, 101):
        response = await api.client.get(f"/api/v1/documents?limit={limit}", headers=bearer())
        body = is_problem(response, 422)
        assert "limit" in str(body["detail"])


async def test_a_document_is_shown_with_its_job(api: Api) -> None:
    uploaded = (await api.upload("benefits.md", POLICY)).json()

    response = await api.client.get(uploaded["document"]["links"]["self"], headers=bearer())

    assert response.status_code == 200
    assert response.json()["document"] == uploaded["document"]
    assert response.json()["job"]["id"] == uploaded["job"]["id"]


async def test_another_members_document_is_not_found(api: Api) -> None:
    uploaded = (await api.upload("benefits.md", POLICY)).json()
    url = uploaded["document"]["links"]["self"]

    is_problem(await api.client.get(url, headers=bearer(OTHER_MEMBER)), 404)
    is_problem(await api.client.delete(url, headers=bearer(OTHER_MEMBER)), 404)
    assert (await api.client.get(url, headers=bearer())).status_code == 200


async def test_an_unknown_document_is_not_found(api: Api) -> None:
    is_problem(await api.client.get(f"/api/v1/documents/{uuid4()}", headers=bearer()), 404)


async def test_a_malformed_document_id_is_refused_with_422(api: Api) -> None:
    body = is_problem(await api.client.get("/api/v1/documents/42", headers=bearer()), 422)

    assert "document_id" in str(body["detail"])


async def test_a_deleted_document_is_gone_with_its_file(api: Api) -> None:
    uploaded = (await api.upload("benefits.md", POLICY)).json()
    url = uploaded["document"]["links"]["self"]
    (blob_key,) = [d.blob_key for d in api.memory.store.documents.values()]

    response = await api.client.delete(url, headers=bearer())

    assert response.status_code == 204
    assert response.content == b""
    is_problem(await api.client.get(url, headers=bearer()), 404)
    assert blob_key not in api.memory.blobs
