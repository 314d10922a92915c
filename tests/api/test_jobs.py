"""Following a job over HTTP, and retrying a failed one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

from dependency_injector import providers

from entrypoints.container import Container
from tests.api.conftest import OTHER_MEMBER, Api, MakeApi, bearer
from tests.api.test_documents import POLICY, is_problem
from tests.faults import ScriptedParser


def scripted(parser: ScriptedParser) -> Callable[[Container], None]:
    def override(container: Container) -> None:
        container.parser.override(providers.Object(parser))

    return override


async def test_a_new_job_shows_its_first_event_and_no_progress(api: Api) -> None:
    uploaded = (await api.upload("benefits.md", POLICY)).json()

    response = await api.client.get(uploaded["job"]["links"]["self"], headers=bearer())

    assert response.status_code == 200
    job = response.json()
    assert job["status"] == "uploaded"
    assert job["progress"] == 0.0
    assert job["filename"] == "benefits.md"
    assert job["next_attempt_at"] is not None
    assert [(e["from_status"], e["to_status"]) for e in job["history"]] == [(None, "uploaded")]


async def test_a_processed_job_is_complete_with_its_whole_history(api: Api) -> None:
    uploaded = (await api.upload("benefits.md", POLICY)).json()
    await api.run_worker()

    job = (await api.client.get(uploaded["job"]["links"]["self"], headers=bearer())).json()

    assert job["status"] == "complete"
    assert job["progress"] == 1.0
    assert job["embedding_tokens"] > 0
    assert job["next_attempt_at"] is None
    assert [e["to_status"] for e in job["history"]] == [
        "uploaded", "parsing", "parsed", "parse_validated", "chunking", "chunks_stored",
        "embedding_queued", "embedding_in_progress", "embeddings_stored", "complete",
    ]
    assert {e["worker"] for e in job["history"][1:]} == {"test-worker"}


async def test_a_job_waiting_after_a_transient_error_says_why_and_when_it_runs_again(
    make_api: MakeApi,
) -> None:
    parser = ScriptedParser()
    parser.fail_transiently(1, "the parsing service timed out")
    api = await make_api(override=scripted(parser))
    uploaded = (await api.upload("benefits.md", POLICY)).json()
    await api.run_worker()

    job = (await api.client.get(uploaded["job"]["links"]["self"], headers=bearer())).json()

    assert job["status"] == "uploaded"
    assert job["attempts"] == 1
    assert job["last_error"] == "the parsing service timed out"
    expected = api.memory.clock.now() + timedelta(seconds=1)  # base delay 1 s, no jitter
    assert job["next_attempt_at"] == expected.isoformat().replace("+00:00", "Z")
    assert "retry" not in job["links"]


async def test_a_failed_job_shows_the_stage_and_the_reason(make_api: MakeApi) -> None:
    parser = ScriptedParser()
    parser.fail_permanently("the PDF is encrypted; upload a copy without a password")
    api = await make_api(override=scripted(parser))
    uploaded = (await api.upload("benefits.md", POLICY)).json()
    await api.run_worker()

    job = (await api.client.get(uploaded["job"]["links"]["self"], headers=bearer())).json()

    assert job["status"] == "failed"
    assert job["failed_stage"] == "parse"
    assert job["last_error"] == "the PDF is encrypted; upload a copy without a password"
    assert job["progress"] == 0.0
    assert job["links"]["retry"] == uploaded["job"]["links"]["self"] + "/retry"


async def test_retrying_a_failed_job_starts_it_again_from_the_failed_step(
    make_api: MakeApi,
) -> None:
    parser = ScriptedParser()
    parser.fail_permanently("the parser crashed")
    api = await make_api(override=scripted(parser))
    uploaded = (await api.upload("benefits.md", POLICY)).json()
    await api.run_worker()
    parser.heal()

    response = await api.client.post(uploaded["job"]["links"]["self"] + "/retry",
                                     headers=bearer())

    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "uploaded"
    assert job["attempts"] == 0
    assert job["history"][-1]["detail"] == "retried by member"
    await api.run_worker()
    final = (await api.client.get(uploaded["job"]["links"]["self"], headers=bearer())).json()
    assert final["status"] == "complete"


async def test_retrying_a_job_that_has_not_failed_is_a_conflict(api: Api) -> None:
    uploaded = (await api.upload("benefits.md", POLICY)).json()

    response = await api.client.post(uploaded["job"]["links"]["self"] + "/retry",
                                     headers=bearer())

    body = is_problem(response, 409)
    assert "only a failed job can be retried" in str(body["detail"])


async def test_another_members_job_is_not_found_and_cannot_be_retried(api: Api) -> None:
    uploaded = (await api.upload("benefits.md", POLICY)).json()
    url = uploaded["job"]["links"]["self"]

    is_problem(await api.client.get(url, headers=bearer(OTHER_MEMBER)), 404)
    is_problem(await api.client.post(url + "/retry", headers=bearer(OTHER_MEMBER)), 404)


async def test_an_unknown_job_is_not_found(api: Api) -> None:
    is_problem(await api.client.get(f"/api/v1/jobs/{uuid4()}", headers=bearer()), 404)
