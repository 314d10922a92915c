"""Steps about members' privacy and deleting documents."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from domain.errors import NotFound
from tests.features.documents import item
from tests.features.steps.workers import ready_to_search
from tests.features.world import Outcome, Upload, World, member_id

WHOSE = r"(?P<owner>\w+)'s"


@then(parsers.re(r"(?P<member>\w+)'s documents are (?:her|his) (?P<name>.+) only"))
def _(world: World, member: str, name: str) -> None:
    assert [d.filename for d in world.documents_of(member)] == [item(name).filename]


@when(parsers.re(rf"(?P<member>\w+) looks at {WHOSE} document$"), target_fixture="outcome")
def _(world: World, upload: Upload, member: str, owner: str) -> Outcome:
    document = world.documents_of(owner)[0]
    return world.attempt(world.documents.get(document.document_id, member_id(member)))


@when(parsers.re(rf"(?P<member>\w+) looks at the processing of {WHOSE} document"),
      target_fixture="outcome")
def _(world: World, member: str, owner: str) -> Outcome:
    job = world.job_of(world.documents_of(owner)[0])
    return world.show_job(member, job.job_id)


@when(parsers.re(rf"(?P<member>\w+) tries to retry {WHOSE} document"), target_fixture="outcome")
def _(world: World, member: str, owner: str) -> Outcome:
    return world.retry(member, world.job_of(world.documents_of(owner)[0]).job_id)


@when(parsers.re(rf"(?P<member>\w+) tries to delete {WHOSE} document"), target_fixture="outcome")
def _(world: World, member: str, owner: str) -> Outcome:
    return world.delete(member, world.documents_of(owner)[0].document_id)


@then("he is told there is no such document")
def _(outcome: Outcome) -> None:
    assert isinstance(outcome.error, NotFound), outcome
    assert "member-" not in str(outcome.error)


@then(parsers.re(rf"{WHOSE} (?P<name>.+) is still ready to search"))
def _(world: World, owner: str, name: str) -> None:
    ready_to_search(world, world.document_named(owner, item(name).filename))


@when(parsers.re(r"(?P<member>\w+) deletes her (?P<name>.+)"), target_fixture="outcome")
def _(world: World, member: str, name: str) -> Outcome:
    document = world.document_named(member, item(name).filename)
    outcome = world.delete(member, document.document_id)
    assert outcome.error is None, outcome.error
    return outcome


@then("nothing made from the document is kept")
def _(world: World, upload: Upload) -> None:
    document = upload.document
    assert world.remains_of(document) == []
    assert world.chunks_of(document) == []
    assert document.blob_key not in world.blobs
