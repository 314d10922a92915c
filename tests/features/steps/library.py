"""Steps about what a member's app reads: pages of documents, the file itself, usage,
a document's progress as it happens, questions about some documents only, and
processing documents again."""

from __future__ import annotations

import asyncio
from uuid import UUID

import attrs
from pytest_bdd import given, parsers, then, when

from adapters.memory.rate_limiter import InMemoryAnswerRateLimiter
from domain.answering import AnswerRateLimit
from domain.errors import Conflict, NotFound
from domain.library import FollowJob, ListDocuments, ReadDocumentFile, ShowUsage
from domain.members import JobReport, ShowJob
from domain.model import Document, Lease, MemberUsage, NotSearchedReason
from domain.reprocessing import ReprocessDocument, ReprocessStaleDocuments
from domain.status import JobStatus
from tests.features.documents import CATALOGUE, item
from tests.features.steps.search import Answer
from tests.features.steps.uploads import ITEM, MEMBER
from tests.features.world import Outcome, Upload, World, member_id

OWNER = r"(?P<owner>Maria|Omar)'s"


# -- pages -------------------------------------------------------------------------------


@when(parsers.re(rf"{MEMBER} pages through her documents (?P<size>\d+) at a time, uploading "
                 rf"her {ITEM} after each page"), target_fixture="seen")
def _(world: World, member: str, size: str, name: str) -> list[UUID]:
    pages = ListDocuments(world.documents)
    seen: list[UUID] = []
    cursor = None
    while True:
        page = world.run(pages(member_id(member), int(size), cursor=cursor))
        seen += [document.document_id for document, _ in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
        world.clock.advance(1)
        chosen = item(name)
        world.submit(member, f"{len(seen)} {chosen.filename}", chosen.data() + bytes(len(seen)))


@then(parsers.parse("she saw each of her {count:d} documents exactly once"))
def _(batch: list[Document], seen: list[UUID], count: int) -> None:
    assert len(batch) == count
    assert sorted(seen, key=str) == sorted((d.document_id for d in batch), key=str)


@when(parsers.re(rf"{MEMBER} lists only her documents waiting to be processed"),
      target_fixture="listed")
def _(world: World, member: str) -> list[Document]:
    page = world.run(ListDocuments(world.documents)(member_id(member), 20,
                                                    statuses=[JobStatus.UPLOADED]))
    return [document for document, _ in page.items]


@then(parsers.re(rf"she sees her {ITEM} only"))
def _(listed: list[Document], name: str) -> None:
    assert [d.filename for d in listed] == [item(name).filename]


# -- the file ------------------------------------------------------------------------------


def _read(world: World, member: str, owner: str, name: str,
          wanted: tuple[int | None, int | None] | None = None) -> Outcome:
    document = world.document_named(owner, item(name).filename)

    async def read() -> bytes:
        found = await ReadDocumentFile(world.documents, world.blobs)(
            document.document_id, member_id(member), wanted)
        return b"".join([part async for part in found.parts])

    return world.attempt(read())


@when(parsers.re(rf"{MEMBER} opens the file of (?:her|{OWNER}) {ITEM}"),
      target_fixture="outcome")
def _(world: World, member: str, owner: str | None, name: str) -> Outcome:
    return _read(world, member, owner or member, name)


@when(parsers.re(rf"{MEMBER} opens the first (?P<size>\d+) bytes of her {ITEM}"),
      target_fixture="outcome")
def _(world: World, member: str, size: str, name: str) -> Outcome:
    return _read(world, member, member, name, (0, int(size) - 1))


@then("she gets exactly the bytes she uploaded")
def _(upload: Upload, outcome: Outcome) -> None:
    assert outcome.value == item_bytes(upload)


@then("she gets exactly those bytes of it")
def _(upload: Upload, outcome: Outcome) -> None:
    assert outcome.value == item_bytes(upload)[:1000]


def item_bytes(upload: Upload) -> bytes:
    """The bytes of the catalogue's document the member uploaded."""
    [uploaded] = [i for i in CATALOGUE.values() if i.filename == upload.filename]
    return uploaded.data()


# -- usage -----------------------------------------------------------------------------------


@when(parsers.re(rf"{MEMBER} looks at what she uses"), target_fixture="usage")
def _(world: World, member: str) -> MemberUsage:
    show = ShowUsage(world.documents, InMemoryAnswerRateLimiter(), world.upload_policy,
                     AnswerRateLimit(), world.clock)
    return world.run(show(member_id(member)))


@then(parsers.parse("she uses {used:d} of her {limit:d} documents"))
def _(usage: MemberUsage, used: int, limit: int) -> None:
    assert (usage.documents, usage.max_documents) == (used, limit)


@then(parsers.re(rf"she uses the space of her {ITEM} and her (?P<other>.+)"))
def _(usage: MemberUsage, name: str, other: str) -> None:
    assert usage.bytes == len(item(name).data()) + len(item(other).data())


@then(parsers.parse("she has asked none of her {limit:d} questions"))
def _(usage: MemberUsage, limit: int) -> None:
    assert (usage.answers, usage.max_answers) == (0, limit)


# -- following a document as it is processed ---------------------------------------------------


@attrs.define
class Follower:
    """A member's app following a job: the reports it got, read on the world's loop."""

    world: World
    reports: object
    shown: list[JobReport | None] = attrs.Factory(list)

    def next(self, advance: float | None = None) -> JobReport | None:
        async def step() -> JobReport | None:
            pending = asyncio.ensure_future(anext(self.reports, None))  # type: ignore[call-overload]
            if advance is not None:
                await self.world.clock.wait_until_sleeping()
                self.world.clock.advance(advance)
            return await asyncio.wait_for(pending, timeout=10)  # a bound, never a wait

        report = self.world.run(step())
        self.shown.append(report)
        return report


def _follow(world: World) -> FollowJob:
    return FollowJob(ShowJob(world.queue, world.documents), world.queue, world.clock,
                     poll_every=0.5, keep_alive_every=30.0)


@given(parsers.re(rf"{MEMBER}'s app follows its processing"), target_fixture="follower")
def _(world: World, upload: Upload, member: str) -> Follower:
    job = world.job_of(upload.document)
    return Follower(world, aiter(_follow(world)(job.job_id, member_id(member))))


@then("the app shows it waiting to be processed")
def _(follower: Follower) -> None:
    report = follower.next()
    assert report is not None and report.job.status is JobStatus.UPLOADED


@when("a worker starts reading it", target_fixture="lease")
def _(world: World) -> Lease:
    [lease] = world.claim("worker-1")
    return lease


@when("the worker finishes it")
def _(world: World, lease: Lease) -> None:
    job = world.run(world.process(lease))
    assert job is not None and job.status is JobStatus.COMPLETE, job


@then(parsers.re(r"within a second the app shows it (?P<state>being read|complete)"))
def _(follower: Follower, state: str) -> None:
    report = follower.next(advance=1.0)
    expected = JobStatus.PARSING if state == "being read" else JobStatus.COMPLETE
    assert report is not None and report.job.status is expected, report


@then("the app is told nothing more")
def _(follower: Follower) -> None:
    assert follower.next() is None


@when(parsers.re(rf"(?P<member>Omar)'s app tries to follow {OWNER} document"),
      target_fixture="outcome")
def _(world: World, member: str, owner: str) -> Outcome:
    job = world.job_of(world.documents_of(owner)[0])
    return world.attempt(anext(aiter(_follow(world)(job.job_id, member_id(member)))))


# -- questions about some documents ----------------------------------------------------------


@when(parsers.re(rf'{MEMBER} asks "(?P<question>[^"]+)" about (?:her|{OWNER}) {ITEM}(?: only)?'),
      target_fixture="outcome")
def _(world: World, member: str, question: str, owner: str | None, name: str) -> Outcome:
    document = world.document_named(owner or member, item(name).filename)
    return world.search(member, question, document_ids=[document.document_id])


@then(parsers.re(rf"every passage comes from her {ITEM}"))
def _(world: World, outcome: Outcome, name: str) -> None:
    assert outcome.error is None, outcome.error
    passages = outcome.value.chunks
    document = world.document_named("Maria", item(name).filename)
    assert passages and all(p.chunk.document_id == document.document_id for p in passages)


@then("she is told she has no such document, and which one")
def _(world: World, outcome: Outcome) -> None:
    assert isinstance(outcome.error, NotFound), outcome
    theirs = world.documents_of("Omar")[0]
    assert str(theirs.document_id) in str(outcome.error)
    assert "member-" not in str(outcome.error)


# -- processing documents again ---------------------------------------------------------------


@given("the service has since changed its embedding model")
def _(world: World) -> None:
    world.embedder.model = "a-newer-embedding-model"


def _reprocess(world: World) -> ReprocessDocument:
    return ReprocessDocument(world.queue, world.documents)


@when("the operator has every document of an older model processed again")
def _(world: World) -> None:
    done = world.run(ReprocessStaleDocuments(_reprocess(world), world.documents,
                                             world.embedder)())
    assert done.started and not done.skipped


@when(parsers.re(rf"{MEMBER} has her {ITEM} processed again"), target_fixture="outcome")
def _(world: World, member: str, name: str) -> Outcome:
    document = world.document_named(member, item(name).filename)
    return world.attempt(_reprocess(world)(document.document_id, "member", member_id(member)))


@then(parsers.re(rf"the search says her {ITEM} (?P<why>waits to be embedded again|is still "
                 r"being processed)"))
def _(world: World, answer: Answer, name: str, why: str) -> None:
    document = world.document_named(answer.member, item(name).filename)
    expected = (NotSearchedReason.OTHER_MODEL if why.startswith("waits")
                else NotSearchedReason.PROCESSING)
    assert [(n.document_id, n.reason) for n in answer.result.not_searched] == [
        (document.document_id, expected)]


@then("the search left none of her documents out")
def _(answer: Answer) -> None:
    assert answer.result.not_searched == ()


@then("the document was not read again")
def _(world: World) -> None:
    assert len(world.parser.calls) == 1, world.parser.calls


@then("she is told to wait until it is complete")
def _(outcome: Outcome) -> None:
    assert isinstance(outcome.error, Conflict), outcome
    assert "wait until it is complete" in str(outcome.error)

