"""The sample in ``examples/`` that the README's first commands upload: it is what its
generator makes, the local PDF parser reads its text, and search finds its facts."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.api.conftest import Api, bearer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLE = EXAMPLES / "sample_summary_of_benefits.pdf"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample_pdf",
                                                  EXAMPLES / "make_sample_pdf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_sample_is_what_its_generator_makes() -> None:
    assert SAMPLE.read_bytes() == generator().build_pdf(), (
        "examples/sample_summary_of_benefits.pdf is stale: run "
        "python examples/make_sample_pdf.py")


async def test_the_sample_is_read_page_by_page_and_search_finds_its_out_of_pocket_maximum(
    api: Api,
) -> None:
    uploaded = await api.upload(SAMPLE.name, SAMPLE.read_bytes(), content_type="application/pdf")
    assert uploaded.status_code == 202, uploaded.text
    await api.run_worker()
    job = (await api.client.get(uploaded.json()["job"]["links"]["self"],
                                headers=bearer())).json()
    assert job["status"] == "complete"

    found = await api.client.post(
        "/api/v1/search", headers=bearer(),
        json={"query": "What is the out-of-pocket maximum for an individual?"})

    assert found.status_code == 200
    best = found.json()["chunks"][0]
    assert "$7,000" in best["text"]
    assert best["filename"] == SAMPLE.name
    assert best["page"] == 1


async def test_search_finds_the_member_services_phone_number_from_the_second_page(
    api: Api,
) -> None:
    await api.upload(SAMPLE.name, SAMPLE.read_bytes(), content_type="application/pdf")
    await api.run_worker()

    found = await api.client.post("/api/v1/search", headers=bearer(),
                                  json={"query": "Member Services phone number"})

    chunks = found.json()["chunks"]
    assert any("Member Services: 1-800-555-0142" in chunk["text"] for chunk in chunks)
