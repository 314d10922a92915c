"""Steps about uploading: who uploads what, and what they are told."""

from __future__ import annotations

import re

import attrs
from pytest_bdd import given, parsers, then, when

from domain.errors import EmptyFile, FileTooLarge, QuotaExceeded, UnsupportedFileType
from domain.model import MediaType
from domain.status import CLAIMABLE
from tests.corpus import corpus_bytes
from tests.features.documents import CATALOGUE, PNG_SIGNATURE, item
from tests.features.world import Upload, World, member_id

KB = 1024
MEMBER = r"(?P<member>Maria|Omar)"
WHOSE = r"(?:her|his|a|an|the same)"
ITEM = "(?P<name>" + "|".join(re.escape(name) for name in CATALOGUE) + ")"


def _upload(world: World, member: str, filename: str, data: bytes,
            earlier: Upload | None = None) -> Upload:
    outcome = world.submit(member, filename, data)
    return Upload(member, filename, outcome.value, outcome.error, earlier)


# -- the upload policy -------------------------------------------------------------


@given(parsers.parse("files of up to {size:d} KB are accepted"))
def _(world: World, size: int) -> None:
    world.upload_policy = attrs.evolve(world.upload_policy, max_bytes=size * KB)


@given(parsers.parse("a member may keep up to {count:d} documents"))
def _(world: World, count: int) -> None:
    world.upload_policy = attrs.evolve(world.upload_policy, max_documents_per_member=count)


# -- uploading ---------------------------------------------------------------------


@given(parsers.re(rf"{MEMBER} uploaded {WHOSE} {ITEM}"), target_fixture="upload")
def _(world: World, member: str, name: str) -> Upload:
    chosen = item(name)
    uploaded = _upload(world, member, chosen.filename, chosen.data())
    assert uploaded.refused is None, uploaded.refused
    return uploaded


@when(parsers.re(rf"{MEMBER} uploads {WHOSE} {ITEM}(?P<again> again under another name)?"),
      target_fixture="upload")
def _(world: World, upload: Upload | None, member: str, name: str, again: str | None) -> Upload:
    chosen = item(name)
    filename = f"copy of {chosen.filename}" if again else chosen.filename
    return _upload(world, member, filename, chosen.data(), earlier=upload)


@when(parsers.re(rf'{MEMBER} uploads her {ITEM} under the name "(?P<filename>[^"]+)"'),
      target_fixture="upload")
def _(world: World, member: str, name: str, filename: str) -> Upload:
    return _upload(world, member, filename, item(name).data())


@when(parsers.re(rf'{MEMBER} uploads a (?P<size>\d+) KB scan of her claims "(?P<filename>.+)"'),
      target_fixture="upload")
def _(world: World, member: str, size: str, filename: str) -> Upload:
    line = b"Claim 2024-0001: office visit, billed $120.00, plan paid $80.00.\n"
    data = (line * (int(size) * KB // len(line) + 1))[: int(size) * KB]
    return _upload(world, member, filename, data)


@when(parsers.re(rf'{MEMBER} uploads a photo of her insurance card "(?P<filename>.+)"'),
      target_fixture="upload")
def _(world: World, member: str, filename: str) -> Upload:
    return _upload(world, member, filename, PNG_SIGNATURE + bytes(range(256)) * 4)


@when(parsers.re(rf'{MEMBER} uploads an empty file "(?P<filename>.+)"'),
      target_fixture="upload")
def _(world: World, member: str, filename: str) -> Upload:
    return _upload(world, member, filename, b"")


@when(parsers.re(rf"{MEMBER} uploads a text file named like a Word document"),
      target_fixture="upload")
def _(world: World, member: str) -> Upload:
    return _upload(world, member, "benefits.docx", corpus_bytes("fake_docx_plain_text.docx"))


# -- what the member is told ------------------------------------------------------


@then(parsers.re(r"(?:her|his) upload is accepted as a new document"))
def _(upload: Upload) -> None:
    assert upload.refused is None, upload.refused
    assert upload.submission is not None and upload.submission.created


@then("the document is waiting to be processed")
def _(world: World, upload: Upload) -> None:
    job = world.job_of(upload.document)
    assert job.status in CLAIMABLE, job.status
    assert job.is_claimable(world.clock.now()), job


@then("she gets the same document back")
def _(upload: Upload) -> None:
    assert upload.earlier is not None and upload.submission is not None
    assert not upload.submission.created
    assert upload.document == upload.earlier.document
    assert upload.submission.job.job_id == upload.earlier.submission.job.job_id  # type: ignore[union-attr]


REASONS = {
    "the file is too large": FileTooLarge,
    "we do not accept that type of file": UnsupportedFileType,
    "it is not really a Word document": UnsupportedFileType,
    "the file is empty": EmptyFile,
    "she has reached her limit": QuotaExceeded,
}


@then(parsers.parse("her upload is refused because {reason}"))
def _(upload: Upload, reason: str) -> None:
    assert upload.submission is None, upload.submission
    assert isinstance(upload.refused, REASONS[reason]), upload.refused
    if reason == "it is not really a Word document":
        assert "Word document" in str(upload.refused), upload.refused


@then(parsers.re(r"(?:she|he) has no documents"))
def _(world: World, upload: Upload) -> None:
    assert world.documents_of(upload.member) == []
    assert not [j for j in world.all_jobs() if j.user_id == member_id(upload.member)]


@then(parsers.re(r"(?:she|he) has (?P<count>\d+) documents?$"))
def _(world: World, upload: Upload, count: str) -> None:
    assert len(world.documents_of(upload.member)) == int(count)


@then(parsers.parse("{first} and {second} each have 1 document"))
def _(world: World, first: str, second: str) -> None:
    mine, theirs = world.documents_of(first), world.documents_of(second)
    assert len(mine) == len(theirs) == 1
    assert mine[0].document_id != theirs[0].document_id
    assert mine[0].sha256 == theirs[0].sha256
    assert mine[0].blob_key != theirs[0].blob_key


@then("the document is recorded as a PDF")
def _(upload: Upload) -> None:
    assert upload.document.media_type is MediaType.PDF
