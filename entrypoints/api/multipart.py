"""Reading an uploaded file from a multipart body as it streams in, with a size cap.

The file's bytes go straight to an anonymous temporary file (``SpooledUpload``),
hashed as they pass, so the API never holds a whole upload in memory.

The body is parsed chunk by chunk as it arrives; reading stops the moment the
file passes the cap, so an oversized upload is refused after at most the cap
(plus one network chunk) has been read, never after the whole body. A
``Content-Length`` that already proves the file too large is refused before a
single byte is read.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import AsyncIterator, Callable, Mapping

import attrs
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from adapters.spooled_upload import SpooledUpload
from entrypoints.api.problems import BadUpload

log = logging.getLogger(__name__)

FIELD = "file"
#: What a member is told when the body ends (or the connection drops) inside the file.
CUT_OFF = "the upload was cut off before the end of the file; send it again"
#: What a member is told when the API's temporary folder is full.
NO_ROOM = ("the service has no room to receive files right now; nothing was stored, try "
           "again in a few minutes")
NO_ROOM_RETRY_SECONDS = 60
#: Room for everything but the file's bytes: boundaries, part headers, other fields.
FORM_OVERHEAD = 64 * 1024


@attrs.frozen
class ReceivedFile:
    """The file part of the form; close ``file`` when done (``with received: ...``)."""

    filename: str
    declared_type: str | None
    file: SpooledUpload

    def __enter__(self) -> ReceivedFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.file.close()


@attrs.define
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    headers: dict[bytes, bytes] = attrs.Factory(dict)


@attrs.define
class _Reader:
    max_bytes: int
    too_large: Callable[[int, str], None]
    part: _Part = attrs.Factory(_Part)
    header_name: bytes = b""
    header_value: bytes = b""
    other_bytes: int = 0
    found: ReceivedFile | None = None
    spool: SpooledUpload | None = None
    in_file: bool = False
    files_seen: int = 0

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_other(end - start)
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_other(end - start)
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.header_name.strip().lower()] = self.header_value.strip()
        self.header_name, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        self.part.name = _text(options.get(b"name", b""))
        if b"filename" in options:
            self.part.filename = _text(options[b"filename"])
        content_type = self.part.headers.get(b"content-type")
        self.part.content_type = _text(content_type) if content_type else None
        self.in_file = self.part.name == FIELD
        if self.in_file:
            self.files_seen += 1
            if self.files_seen > 1:
                raise BadUpload(422, f"send one file per request in the field {FIELD!r}")
            self.spool = SpooledUpload()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file:
            self._count_other(end - start)
            return
        assert self.spool is not None
        if self.spool.size + (end - start) > self.max_bytes:
            self.too_large(self.spool.size + (end - start), self.part.filename or "")
        try:
            self.spool.write(memoryview(data)[start:end])
        except OSError as exc:
            # ENOENT: no temporary folder could be found (Python's search for one writes a
            # probe file into each candidate, and a full disk refuses it), or it is gone.
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.ENOENT):
                raise
            # The operator's problem, not the member's: said in the log, and the member
            # is told to come back (nothing was stored; the spool is closed by discard).
            log.error("no room left to receive an upload in the temporary folder "
                      "(TMPDIR): %s", exc.strerror)
            raise BadUpload(503, NO_ROOM, retry_after=NO_ROOM_RETRY_SECONDS) from None

    def on_part_end(self) -> None:
        if self.in_file:
            assert self.spool is not None
            self.found = ReceivedFile(self.part.filename or "upload", self.part.content_type,
                                      self.spool.finish())
            self.in_file = False

    def discard(self) -> None:
        if self.spool is not None:
            self.spool.close()

    def _count_other(self, size: int) -> None:
        self.other_bytes += size
        if self.other_bytes > FORM_OVERHEAD:
            raise BadUpload(413, "the form's other fields and headers are too large; send "
                                 f"only the file, in the field {FIELD!r}")


async def read_file_field(
    headers: Mapping[str, str],
    body: AsyncIterator[bytes],
    *,
    max_bytes: int,
    too_large: Callable[[int, str], None],
) -> ReceivedFile:
    """The file in the ``file`` field of a ``multipart/form-data`` body.

    ``too_large(size, filename)`` is called (and must raise) as soon as the file is known to
    be bigger than ``max_bytes``; the rest of the body is then not read.
    """
    content_type, params = parse_options_header(headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise BadUpload(415, "send the file as multipart/form-data, in a field named "
                             f"{FIELD!r} (e.g. curl -F {FIELD}=@policy.pdf ...)")
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadUpload(400, "the multipart Content-Type has no boundary")
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
        too_large(int(declared) - FORM_OVERHEAD, "")
    reader = _Reader(max_bytes=max_bytes, too_large=too_large)
    parser = MultipartParser(boundary, {
        "on_part_begin": reader.on_part_begin,
        "on_part_data": reader.on_part_data,
        "on_part_end": reader.on_part_end,
        "on_header_field": reader.on_header_field,
        "on_header_value": reader.on_header_value,
        "on_header_end": reader.on_header_end,
        "on_headers_finished": reader.on_headers_finished,
    })
    try:
        try:
            async for chunk in body:
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError:
            raise BadUpload(400, "the multipart body is malformed; send it as "
                                 "multipart/form-data") from None
        except ClientDisconnect:  # the member's connection dropped: not the service's fault
            raise BadUpload(400, CUT_OFF) from None
        if reader.in_file:
            raise BadUpload(400, CUT_OFF)
        if reader.found is None:
            raise BadUpload(422, f"the form has no field named {FIELD!r}; send the file in "
                                 f"it (e.g. curl -F {FIELD}=@policy.pdf ...)")
    except BaseException:
        reader.discard()
        raise
    return reader.found


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
