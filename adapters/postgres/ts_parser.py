"""PostgreSQL's default text search parser (``src/backend/tsearch/wparser_def.c``), ported
state for state, for the ASCII text :mod:`adapters.postgres.tsvector` gives it.

The parser is a table-driven state machine: each state lists (test, flags, next state,
token type) rules tried in order; ``PUSH`` remembers a state to come back to, ``POP``
returns to it and tries its next rule, ``BINGO`` emits a token. The tables below are
PostgreSQL's, in its order, with its names, so they can be compared line by line. Only
the character classes are simplified: the text is ASCII (the caller declines anything
else), where ``iswalpha`` and friends are the C library's ASCII classes in every
UTF-8 locale, and no character is "special" (zero display width).

Tags (``<b>``, ``<script>``) are parsed too, but the caller declines text that could
hold one: ``<script>`` and ``<style>`` switch the parser into a mode that ignores text
until the closing tag, which this port does not follow.

This is the slow, exact path: :mod:`adapters.postgres.tsvector` calls it once per
distinct whitespace-separated run of a text and caches what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

# Token types, numbered as PostgreSQL numbers them (ts_token_type('default')).
ASCIIWORD: Final = 1
WORD: Final = 2
NUMWORD: Final = 3
EMAIL: Final = 4
URL: Final = 5
HOST: Final = 6
SCIENTIFIC: Final = 7
VERSIONNUMBER: Final = 8
NUMPARTHWORD: Final = 9
PARTHWORD: Final = 10
ASCIIPARTHWORD: Final = 11
SPACE: Final = 12
TAG: Final = 13
PROTOCOL: Final = 14
NUMHWORD: Final = 15
ASCIIHWORD: Final = 16
HWORD: Final = 17
URLPATH: Final = 18
FILEPATH: Final = 19
DECIMAL: Final = 20
SIGNEDINT: Final = 21
UNSIGNEDINT: Final = 22
XMLENTITY: Final = 23

# Action flags.
A_NEXT = 0x0000
A_BINGO = 0x0001
A_POP = 0x0002
A_PUSH = 0x0004
A_RERUN = 0x0008
A_CLEAR = 0x0010
A_MERGE = 0x0020
A_CLRALL = 0x0040

(Base, InNumWord, InAsciiWord, InWord, InUnsignedInt, InSignedIntFirst, InSignedInt,
 InSpace, InUDecimalFirst, InUDecimal, InDecimalFirst, InDecimal, InVerVersion,
 InSVerVersion, InVersionFirst, InVersion, InMantissaFirst, InMantissaSign, InMantissa,
 InXMLEntityFirst, InXMLEntity, InXMLEntityNumFirst, InXMLEntityNum,
 InXMLEntityHexNumFirst, InXMLEntityHexNum, InXMLEntityEnd, InTagFirst, InXMLBegin,
 InTagCloseFirst, InTagName, InTagBeginEnd, InTag, InTagEscapeK, InTagEscapeKK,
 InTagBackSleshed, InTagEnd, InCommentFirst, InCommentLast, InComment,
 InCloseCommentFirst, InCloseCommentLast, InCommentEnd, InHostFirstDomain,
 InHostDomainSecond, InHostDomain, InPortFirst, InPort, InHostFirstAN, InHost, InEmail,
 InFileFirst, InFileTwiddle, InPathFirst, InPathFirstFirst, InPathSecond, InFile,
 InFileNext, InURLPathFirst, InURLPathStart, InURLPath, InFURL, InProtocolFirst,
 InProtocolSecond, InProtocolEnd, InHyphenAsciiWordFirst, InHyphenAsciiWord,
 InHyphenWordFirst, InHyphenWord, InHyphenNumWordFirst, InHyphenNumWord,
 InHyphenDigitLookahead, InParseHyphen, InParseHyphenHyphen, InHyphenWordPart,
 InHyphenAsciiWordPart, InHyphenNumWordPart, InHyphenUnsignedInt, Null) = range(78)


class _Position:
    """One entry of the parser's state stack (TParserPosition)."""

    __slots__ = ("charlen", "length", "pos", "pushed_at", "state")

    def __init__(self, state: int, pos: int = 0) -> None:
        self.pos = pos
        self.charlen = 0
        self.length = 0  # of the token so far
        self.state = state
        self.pushed_at: int | None = None

    def copy(self) -> _Position:
        new = _Position(self.state, self.pos)
        new.charlen = self.charlen
        new.length = self.length
        return new


class _Parser:
    """TParser: a text, a stack of positions (the last is the current one)."""

    __slots__ = ("c", "end", "length", "stack", "start", "text", "type", "wanthost")

    def __init__(self, text: str, start: int = 0) -> None:
        self.text = text
        self.end = len(text)
        self.stack = [_Position(Base, start)]
        self.wanthost = False
        self.c = ""
        self.length = 0
        self.type = 0
        self.start = start

    def char(self) -> str:
        top = self.stack[-1]
        return self.text[top.pos] if top.charlen else ""


Test = Callable[[_Parser], bool]


def _eof(p: _Parser) -> bool:
    top = p.stack[-1]
    return top.pos == p.end or top.charlen == 0


def _eq(p: _Parser) -> bool:
    return p.char() == p.c


def _alnum(p: _Parser) -> bool:
    return p.char().isalnum()


def _notalnum(p: _Parser) -> bool:
    return not p.char().isalnum()


def _alpha(p: _Parser) -> bool:
    return p.char().isalpha()


def _asclet(p: _Parser) -> bool:
    return p.char().isalpha()  # the text is ASCII


def _digit(p: _Parser) -> bool:
    return p.char().isdigit()


def _xdigit(p: _Parser) -> bool:
    return p.char() in "0123456789abcdefABCDEF" and p.char() != ""


def _space(p: _Parser) -> bool:
    return p.char() in " \t\n\r\x0b\x0c" and p.char() != ""


def _special(p: _Parser) -> bool:
    return False  # no ASCII character has zero display width


def _ignore(p: _Parser) -> bool:
    return False  # <script>/<style> are declined before parsing


_URL_REJECT = frozenset('"<>\\^`{|}')


def _urlchar(p: _Parser) -> bool:
    ch = p.char()
    return ch != "" and " " < ch < "\x7f" and ch not in _URL_REJECT


def _stophost(p: _Parser) -> bool:
    if p.wanthost:
        p.wanthost = False
        return True
    return False


def _sub_token(p: _Parser, state: int | None, wanthost: bool) -> tuple[int, int] | None:
    """Run a parser copy from the current position (TParserCopyInit): its first token's
    (type, length), or None."""
    top = p.stack[-1]
    sub = _Parser(p.text, top.pos)
    sub.wanthost = wanthost
    if state is not None:
        pushed = sub.stack[-1].copy()
        pushed.state = state
        sub.stack.append(pushed)
    if _get(sub):
        return sub.type, sub.length
    return None


def _absorb(p: _Parser, length: int) -> None:
    top = p.stack[-1]
    top.pos += length
    top.length += length
    top.charlen = 1 if top.pos < p.end else 0


def _ishost(p: _Parser) -> bool:
    found = _sub_token(p, None, wanthost=True)
    if found is not None and found[0] == HOST:
        _absorb(p, found[1])
        return True
    return False


def _isurlpath(p: _Parser) -> bool:
    found = _sub_token(p, InURLPathFirst, wanthost=False)
    if found is not None and found[0] == URLPATH:
        _absorb(p, found[1])
        return True
    return False


def _special_furl(p: _Parser) -> None:
    p.wanthost = True
    top = p.stack[-1]
    top.pos -= top.length


def _special_hyphen(p: _Parser) -> None:
    top = p.stack[-1]
    top.pos -= top.length


def _special_ver_version(p: _Parser) -> None:
    top = p.stack[-1]
    top.pos -= top.length
    top.length = 0


Special = Callable[[_Parser], None] | None
Rule = tuple[Test | None, str, int, int, int, Special]
E, Q, AL, NAL, ALPHA, ASC, DIG = _eof, _eq, _alnum, _notalnum, _alpha, _asclet, _digit

TABLES: dict[int, list[Rule]] = {
    Base: [
        (E, "", A_NEXT, Null, 0, None),
        (Q, "<", A_PUSH, InTagFirst, 0, None),
        (_ignore, "", A_NEXT, InSpace, 0, None),
        (ASC, "", A_NEXT, InAsciiWord, 0, None),
        (ALPHA, "", A_NEXT, InWord, 0, None),
        (DIG, "", A_NEXT, InUnsignedInt, 0, None),
        (Q, "-", A_PUSH, InSignedIntFirst, 0, None),
        (Q, "+", A_PUSH, InSignedIntFirst, 0, None),
        (Q, "&", A_PUSH, InXMLEntityFirst, 0, None),
        (Q, "~", A_PUSH, InFileTwiddle, 0, None),
        (Q, "/", A_PUSH, InFileFirst, 0, None),
        (Q, ".", A_PUSH, InPathFirstFirst, 0, None),
        (None, "", A_NEXT, InSpace, 0, None),
    ],
    InNumWord: [
        (E, "", A_BINGO, Base, NUMWORD, None),
        (AL, "", A_NEXT, InNumWord, 0, None),
        (_special, "", A_NEXT, InNumWord, 0, None),
        (Q, "@", A_PUSH, InEmail, 0, None),
        (Q, "/", A_PUSH, InFileFirst, 0, None),
        (Q, ".", A_PUSH, InFileNext, 0, None),
        (Q, "-", A_PUSH, InHyphenNumWordFirst, 0, None),
        (None, "", A_BINGO, Base, NUMWORD, None),
    ],
    InAsciiWord: [
        (E, "", A_BINGO, Base, ASCIIWORD, None),
        (ASC, "", A_NEXT, Null, 0, None),
        (Q, ".", A_PUSH, InHostFirstDomain, 0, None),
        (Q, ".", A_PUSH, InFileNext, 0, None),
        (Q, "-", A_PUSH, InHostFirstAN, 0, None),
        (Q, "-", A_PUSH, InHyphenAsciiWordFirst, 0, None),
        (Q, "_", A_PUSH, InHostFirstAN, 0, None),
        (Q, "@", A_PUSH, InEmail, 0, None),
        (Q, ":", A_PUSH, InProtocolFirst, 0, None),
        (Q, "/", A_PUSH, InFileFirst, 0, None),
        (DIG, "", A_PUSH, InHost, 0, None),
        (DIG, "", A_NEXT, InNumWord, 0, None),
        (ALPHA, "", A_NEXT, InWord, 0, None),
        (_special, "", A_NEXT, InWord, 0, None),
        (None, "", A_BINGO, Base, ASCIIWORD, None),
    ],
    InWord: [
        (E, "", A_BINGO, Base, WORD, None),
        (ALPHA, "", A_NEXT, Null, 0, None),
        (_special, "", A_NEXT, Null, 0, None),
        (DIG, "", A_NEXT, InNumWord, 0, None),
        (Q, "-", A_PUSH, InHyphenWordFirst, 0, None),
        (None, "", A_BINGO, Base, WORD, None),
    ],
    InUnsignedInt: [
        (E, "", A_BINGO, Base, UNSIGNEDINT, None),
        (DIG, "", A_NEXT, Null, 0, None),
        (Q, ".", A_PUSH, InHostFirstDomain, 0, None),
        (Q, ".", A_PUSH, InUDecimalFirst, 0, None),
        (Q, "e", A_PUSH, InMantissaFirst, 0, None),
        (Q, "E", A_PUSH, InMantissaFirst, 0, None),
        (Q, "-", A_PUSH, InHostFirstAN, 0, None),
        (Q, "_", A_PUSH, InHostFirstAN, 0, None),
        (Q, "@", A_PUSH, InEmail, 0, None),
        (ASC, "", A_PUSH, InHost, 0, None),
        (ALPHA, "", A_NEXT, InNumWord, 0, None),
        (_special, "", A_NEXT, InNumWord, 0, None),
        (Q, "/", A_PUSH, InFileFirst, 0, None),
        (None, "", A_BINGO, Base, UNSIGNEDINT, None),
    ],
    InSignedIntFirst: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_NEXT | A_CLEAR, InSignedInt, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InSignedInt: [
        (E, "", A_BINGO, Base, SIGNEDINT, None),
        (DIG, "", A_NEXT, Null, 0, None),
        (Q, ".", A_PUSH, InDecimalFirst, 0, None),
        (Q, "e", A_PUSH, InMantissaFirst, 0, None),
        (Q, "E", A_PUSH, InMantissaFirst, 0, None),
        (None, "", A_BINGO, Base, SIGNEDINT, None),
    ],
    InSpace: [
        (E, "", A_BINGO, Base, SPACE, None),
        (Q, "<", A_BINGO, Base, SPACE, None),
        (_ignore, "", A_NEXT, Null, 0, None),
        (Q, "-", A_BINGO, Base, SPACE, None),
        (Q, "+", A_BINGO, Base, SPACE, None),
        (Q, "&", A_BINGO, Base, SPACE, None),
        (Q, "/", A_BINGO, Base, SPACE, None),
        (NAL, "", A_NEXT, InSpace, 0, None),
        (None, "", A_BINGO, Base, SPACE, None),
    ],
    InUDecimalFirst: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_CLEAR, InUDecimal, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InUDecimal: [
        (E, "", A_BINGO, Base, DECIMAL, None),
        (DIG, "", A_NEXT, InUDecimal, 0, None),
        (Q, ".", A_PUSH, InVersionFirst, 0, None),
        (Q, "e", A_PUSH, InMantissaFirst, 0, None),
        (Q, "E", A_PUSH, InMantissaFirst, 0, None),
        (None, "", A_BINGO, Base, DECIMAL, None),
    ],
    InDecimalFirst: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_CLEAR, InDecimal, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InDecimal: [
        (E, "", A_BINGO, Base, DECIMAL, None),
        (DIG, "", A_NEXT, InDecimal, 0, None),
        (Q, ".", A_PUSH, InVerVersion, 0, None),
        (Q, "e", A_PUSH, InMantissaFirst, 0, None),
        (Q, "E", A_PUSH, InMantissaFirst, 0, None),
        (None, "", A_BINGO, Base, DECIMAL, None),
    ],
    InVerVersion: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_RERUN, InSVerVersion, 0, _special_ver_version),
        (None, "", A_POP, Null, 0, None),
    ],
    InSVerVersion: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_BINGO | A_CLRALL, InUnsignedInt, SPACE, None),
        (None, "", A_NEXT, Null, 0, None),
    ],
    InVersionFirst: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_CLEAR, InVersion, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InVersion: [
        (E, "", A_BINGO, Base, VERSIONNUMBER, None),
        (DIG, "", A_NEXT, InVersion, 0, None),
        (Q, ".", A_PUSH, InVersionFirst, 0, None),
        (None, "", A_BINGO, Base, VERSIONNUMBER, None),
    ],
    InMantissaFirst: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_CLEAR, InMantissa, 0, None),
        (Q, "+", A_NEXT, InMantissaSign, 0, None),
        (Q, "-", A_NEXT, InMantissaSign, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InMantissaSign: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_CLEAR, InMantissa, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InMantissa: [
        (E, "", A_BINGO, Base, SCIENTIFIC, None),
        (DIG, "", A_NEXT, InMantissa, 0, None),
        (None, "", A_BINGO, Base, SCIENTIFIC, None),
    ],
    InXMLEntityFirst: [
        (E, "", A_POP, Null, 0, None),
        (Q, "#", A_NEXT, InXMLEntityNumFirst, 0, None),
        (ASC, "", A_NEXT, InXMLEntity, 0, None),
        (Q, ":", A_NEXT, InXMLEntity, 0, None),
        (Q, "_", A_NEXT, InXMLEntity, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InXMLEntity: [
        (E, "", A_POP, Null, 0, None),
        (AL, "", A_NEXT, InXMLEntity, 0, None),
        (Q, ":", A_NEXT, InXMLEntity, 0, None),
        (Q, "_", A_NEXT, InXMLEntity, 0, None),
        (Q, ".", A_NEXT, InXMLEntity, 0, None),
        (Q, "-", A_NEXT, InXMLEntity, 0, None),
        (Q, ";", A_NEXT, InXMLEntityEnd, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InXMLEntityNumFirst: [
        (E, "", A_POP, Null, 0, None),
        (Q, "x", A_NEXT, InXMLEntityHexNumFirst, 0, None),
        (Q, "X", A_NEXT, InXMLEntityHexNumFirst, 0, None),
        (DIG, "", A_NEXT, InXMLEntityNum, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InXMLEntityHexNumFirst: [
        (E, "", A_POP, Null, 0, None),
        (_xdigit, "", A_NEXT, InXMLEntityHexNum, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InXMLEntityNum: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_NEXT, InXMLEntityNum, 0, None),
        (Q, ";", A_NEXT, InXMLEntityEnd, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InXMLEntityHexNum: [
        (E, "", A_POP, Null, 0, None),
        (_xdigit, "", A_NEXT, InXMLEntityHexNum, 0, None),
        (Q, ";", A_NEXT, InXMLEntityEnd, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InXMLEntityEnd: [
        (None, "", A_BINGO | A_CLEAR, Base, XMLENTITY, None),
    ],
    # Tags: the caller declines any "<" a tag could start with, so these states only
    # ever see "<" followed by something else (InTagFirst pops at once). Kept whole so
    # the port stays comparable with the original.
    InTagFirst: [
        (E, "", A_POP, Null, 0, None),
        (Q, "/", A_PUSH, InTagCloseFirst, 0, None),
        (Q, "!", A_PUSH, InCommentFirst, 0, None),
        (Q, "?", A_PUSH, InXMLBegin, 0, None),
        (ASC, "", A_PUSH, InTagName, 0, None),
        (Q, ":", A_PUSH, InTagName, 0, None),
        (Q, "_", A_PUSH, InTagName, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InXMLBegin: [
        (E, "", A_POP, Null, 0, None),
        (Q, "x", A_NEXT, InTag, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InTagCloseFirst: [
        (E, "", A_POP, Null, 0, None),
        (ASC, "", A_NEXT, InTagName, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InTagName: [
        (E, "", A_POP, Null, 0, None),
        (Q, "/", A_NEXT, InTagBeginEnd, 0, None),
        (Q, ">", A_NEXT, InTagEnd, 0, None),
        (_space, "", A_NEXT, InTag, 0, None),
        (AL, "", A_NEXT, Null, 0, None),
        (Q, ":", A_NEXT, Null, 0, None),
        (Q, "_", A_NEXT, Null, 0, None),
        (Q, ".", A_NEXT, Null, 0, None),
        (Q, "-", A_NEXT, Null, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InTagBeginEnd: [
        (E, "", A_POP, Null, 0, None),
        (Q, ">", A_NEXT, InTagEnd, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InTag: [
        (E, "", A_POP, Null, 0, None),
        (Q, ">", A_NEXT, InTagEnd, 0, None),
        (Q, "'", A_NEXT, InTagEscapeK, 0, None),
        (Q, '"', A_NEXT, InTagEscapeKK, 0, None),
        (ASC, "", A_NEXT, Null, 0, None),
        (DIG, "", A_NEXT, Null, 0, None),
        (Q, "=", A_NEXT, Null, 0, None),
        (Q, "-", A_NEXT, Null, 0, None),
        (Q, "_", A_NEXT, Null, 0, None),
        (Q, "#", A_NEXT, Null, 0, None),
        (Q, "/", A_NEXT, Null, 0, None),
        (Q, ":", A_NEXT, Null, 0, None),
        (Q, ".", A_NEXT, Null, 0, None),
        (Q, "&", A_NEXT, Null, 0, None),
        (Q, "?", A_NEXT, Null, 0, None),
        (Q, "%", A_NEXT, Null, 0, None),
        (Q, "~", A_NEXT, Null, 0, None),
        (_space, "", A_NEXT, Null, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InTagEscapeK: [
        (E, "", A_POP, Null, 0, None),
        (Q, "\\", A_PUSH, InTagBackSleshed, 0, None),
        (Q, "'", A_NEXT, InTag, 0, None),
        (None, "", A_NEXT, InTagEscapeK, 0, None),
    ],
    InTagEscapeKK: [
        (E, "", A_POP, Null, 0, None),
        (Q, "\\", A_PUSH, InTagBackSleshed, 0, None),
        (Q, '"', A_NEXT, InTag, 0, None),
        (None, "", A_NEXT, InTagEscapeKK, 0, None),
    ],
    InTagBackSleshed: [
        (E, "", A_POP, Null, 0, None),
        (None, "", A_MERGE, Null, 0, None),
    ],
    InTagEnd: [
        (None, "", A_BINGO | A_CLRALL, Base, TAG, None),
    ],
    InCommentFirst: [
        (E, "", A_POP, Null, 0, None),
        (Q, "-", A_NEXT, InCommentLast, 0, None),
        (Q, "D", A_NEXT, InTag, 0, None),
        (Q, "d", A_NEXT, InTag, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InCommentLast: [
        (E, "", A_POP, Null, 0, None),
        (Q, "-", A_NEXT, InComment, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InComment: [
        (E, "", A_POP, Null, 0, None),
        (Q, "-", A_NEXT, InCloseCommentFirst, 0, None),
        (None, "", A_NEXT, Null, 0, None),
    ],
    InCloseCommentFirst: [
        (E, "", A_POP, Null, 0, None),
        (Q, "-", A_NEXT, InCloseCommentLast, 0, None),
        (None, "", A_NEXT, InComment, 0, None),
    ],
    InCloseCommentLast: [
        (E, "", A_POP, Null, 0, None),
        (Q, "-", A_NEXT, Null, 0, None),
        (Q, ">", A_NEXT, InCommentEnd, 0, None),
        (None, "", A_NEXT, InComment, 0, None),
    ],
    InCommentEnd: [
        (None, "", A_BINGO | A_CLRALL, Base, TAG, None),
    ],
    InHostFirstDomain: [
        (E, "", A_POP, Null, 0, None),
        (ASC, "", A_NEXT, InHostDomainSecond, 0, None),
        (DIG, "", A_NEXT, InHost, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InHostDomainSecond: [
        (E, "", A_POP, Null, 0, None),
        (ASC, "", A_NEXT, InHostDomain, 0, None),
        (DIG, "", A_PUSH, InHost, 0, None),
        (Q, "-", A_PUSH, InHostFirstAN, 0, None),
        (Q, "_", A_PUSH, InHostFirstAN, 0, None),
        (Q, ".", A_PUSH, InHostFirstDomain, 0, None),
        (Q, "@", A_PUSH, InEmail, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InHostDomain: [
        (E, "", A_BINGO | A_CLRALL, Base, HOST, None),
        (ASC, "", A_NEXT, InHostDomain, 0, None),
        (DIG, "", A_PUSH, InHost, 0, None),
        (Q, ":", A_PUSH, InPortFirst, 0, None),
        (Q, "-", A_PUSH, InHostFirstAN, 0, None),
        (Q, "_", A_PUSH, InHostFirstAN, 0, None),
        (Q, ".", A_PUSH, InHostFirstDomain, 0, None),
        (Q, "@", A_PUSH, InEmail, 0, None),
        (DIG, "", A_POP, Null, 0, None),
        (_stophost, "", A_BINGO | A_CLRALL, InURLPathStart, HOST, None),
        (Q, "/", A_PUSH, InFURL, 0, None),
        (None, "", A_BINGO | A_CLRALL, Base, HOST, None),
    ],
    InPortFirst: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_NEXT, InPort, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InPort: [
        (E, "", A_BINGO | A_CLRALL, Base, HOST, None),
        (DIG, "", A_NEXT, InPort, 0, None),
        (_stophost, "", A_BINGO | A_CLRALL, InURLPathStart, HOST, None),
        (Q, "/", A_PUSH, InFURL, 0, None),
        (None, "", A_BINGO | A_CLRALL, Base, HOST, None),
    ],
    InHostFirstAN: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_NEXT, InHost, 0, None),
        (ASC, "", A_NEXT, InHost, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InHost: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_NEXT, InHost, 0, None),
        (ASC, "", A_NEXT, InHost, 0, None),
        (Q, "@", A_PUSH, InEmail, 0, None),
        (Q, ".", A_PUSH, InHostFirstDomain, 0, None),
        (Q, "-", A_PUSH, InHostFirstAN, 0, None),
        (Q, "_", A_PUSH, InHostFirstAN, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InEmail: [
        (_stophost, "", A_POP, Null, 0, None),
        (_ishost, "", A_BINGO | A_CLRALL, Base, EMAIL, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InFileFirst: [
        (E, "", A_POP, Null, 0, None),
        (ASC, "", A_NEXT, InFile, 0, None),
        (DIG, "", A_NEXT, InFile, 0, None),
        (Q, ".", A_NEXT, InPathFirst, 0, None),
        (Q, "_", A_NEXT, InFile, 0, None),
        (Q, "~", A_PUSH, InFileTwiddle, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InFileTwiddle: [
        (E, "", A_POP, Null, 0, None),
        (ASC, "", A_NEXT, InFile, 0, None),
        (DIG, "", A_NEXT, InFile, 0, None),
        (Q, "_", A_NEXT, InFile, 0, None),
        (Q, "/", A_NEXT, InFileFirst, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InPathFirst: [
        (E, "", A_POP, Null, 0, None),
        (ASC, "", A_NEXT, InFile, 0, None),
        (DIG, "", A_NEXT, InFile, 0, None),
        (Q, "_", A_NEXT, InFile, 0, None),
        (Q, ".", A_NEXT, InPathSecond, 0, None),
        (Q, "/", A_NEXT, InFileFirst, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InPathFirstFirst: [
        (E, "", A_POP, Null, 0, None),
        (Q, ".", A_NEXT, InPathSecond, 0, None),
        (Q, "/", A_NEXT, InFileFirst, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InPathSecond: [
        (E, "", A_BINGO | A_CLEAR, Base, FILEPATH, None),
        (Q, "/", A_NEXT | A_PUSH, InFileFirst, 0, None),
        (Q, "/", A_BINGO | A_CLEAR, Base, FILEPATH, None),
        (_space, "", A_BINGO | A_CLEAR, Base, FILEPATH, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InFile: [
        (E, "", A_BINGO, Base, FILEPATH, None),
        (ASC, "", A_NEXT, InFile, 0, None),
        (DIG, "", A_NEXT, InFile, 0, None),
        (Q, ".", A_PUSH, InFileNext, 0, None),
        (Q, "_", A_NEXT, InFile, 0, None),
        (Q, "-", A_NEXT, InFile, 0, None),
        (Q, "/", A_PUSH, InFileFirst, 0, None),
        (None, "", A_BINGO, Base, FILEPATH, None),
    ],
    InFileNext: [
        (E, "", A_POP, Null, 0, None),
        (ASC, "", A_CLEAR, InFile, 0, None),
        (DIG, "", A_CLEAR, InFile, 0, None),
        (Q, "_", A_CLEAR, InFile, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InURLPathFirst: [
        (E, "", A_POP, Null, 0, None),
        (_urlchar, "", A_NEXT, InURLPath, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InURLPathStart: [
        (None, "", A_NEXT, InURLPath, 0, None),
    ],
    InURLPath: [
        (E, "", A_BINGO, Base, URLPATH, None),
        (_urlchar, "", A_NEXT, InURLPath, 0, None),
        (None, "", A_BINGO, Base, URLPATH, None),
    ],
    InFURL: [
        (E, "", A_POP, Null, 0, None),
        (_isurlpath, "", A_BINGO | A_CLRALL, Base, URL, _special_furl),
        (None, "", A_POP, Null, 0, None),
    ],
    InProtocolFirst: [
        (E, "", A_POP, Null, 0, None),
        (Q, "/", A_NEXT, InProtocolSecond, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InProtocolSecond: [
        (E, "", A_POP, Null, 0, None),
        (Q, "/", A_NEXT, InProtocolEnd, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InProtocolEnd: [
        (None, "", A_BINGO | A_CLRALL, Base, PROTOCOL, None),
    ],
    InHyphenAsciiWordFirst: [
        (E, "", A_POP, Null, 0, None),
        (ASC, "", A_NEXT, InHyphenAsciiWord, 0, None),
        (ALPHA, "", A_NEXT, InHyphenWord, 0, None),
        (DIG, "", A_NEXT, InHyphenDigitLookahead, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InHyphenAsciiWord: [
        (E, "", A_BINGO | A_CLRALL, InParseHyphen, ASCIIHWORD, _special_hyphen),
        (ASC, "", A_NEXT, InHyphenAsciiWord, 0, None),
        (ALPHA, "", A_NEXT, InHyphenWord, 0, None),
        (_special, "", A_NEXT, InHyphenWord, 0, None),
        (DIG, "", A_NEXT, InHyphenNumWord, 0, None),
        (Q, "-", A_PUSH, InHyphenAsciiWordFirst, 0, None),
        (None, "", A_BINGO | A_CLRALL, InParseHyphen, ASCIIHWORD, _special_hyphen),
    ],
    InHyphenWordFirst: [
        (E, "", A_POP, Null, 0, None),
        (ALPHA, "", A_NEXT, InHyphenWord, 0, None),
        (DIG, "", A_NEXT, InHyphenDigitLookahead, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InHyphenWord: [
        (E, "", A_BINGO | A_CLRALL, InParseHyphen, HWORD, _special_hyphen),
        (ALPHA, "", A_NEXT, InHyphenWord, 0, None),
        (_special, "", A_NEXT, InHyphenWord, 0, None),
        (DIG, "", A_NEXT, InHyphenNumWord, 0, None),
        (Q, "-", A_PUSH, InHyphenWordFirst, 0, None),
        (None, "", A_BINGO | A_CLRALL, InParseHyphen, HWORD, _special_hyphen),
    ],
    InHyphenNumWordFirst: [
        (E, "", A_POP, Null, 0, None),
        (ALPHA, "", A_NEXT, InHyphenNumWord, 0, None),
        (DIG, "", A_NEXT, InHyphenDigitLookahead, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InHyphenNumWord: [
        (E, "", A_BINGO | A_CLRALL, InParseHyphen, NUMHWORD, _special_hyphen),
        (AL, "", A_NEXT, InHyphenNumWord, 0, None),
        (_special, "", A_NEXT, InHyphenNumWord, 0, None),
        (Q, "-", A_PUSH, InHyphenNumWordFirst, 0, None),
        (None, "", A_BINGO | A_CLRALL, InParseHyphen, NUMHWORD, _special_hyphen),
    ],
    InHyphenDigitLookahead: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_NEXT, InHyphenDigitLookahead, 0, None),
        (ALPHA, "", A_NEXT, InHyphenNumWord, 0, None),
        (_special, "", A_NEXT, InHyphenNumWord, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InParseHyphen: [
        (E, "", A_RERUN, Base, 0, None),
        (ASC, "", A_NEXT, InHyphenAsciiWordPart, 0, None),
        (ALPHA, "", A_NEXT, InHyphenWordPart, 0, None),
        (DIG, "", A_PUSH, InHyphenUnsignedInt, 0, None),
        (Q, "-", A_PUSH, InParseHyphenHyphen, 0, None),
        (None, "", A_RERUN, Base, 0, None),
    ],
    InParseHyphenHyphen: [
        (E, "", A_POP, Null, 0, None),
        (AL, "", A_BINGO | A_CLEAR, InParseHyphen, SPACE, None),
        (_special, "", A_BINGO | A_CLEAR, InParseHyphen, SPACE, None),
        (None, "", A_POP, Null, 0, None),
    ],
    InHyphenWordPart: [
        (E, "", A_BINGO, Base, PARTHWORD, None),
        (ALPHA, "", A_NEXT, InHyphenWordPart, 0, None),
        (_special, "", A_NEXT, InHyphenWordPart, 0, None),
        (DIG, "", A_NEXT, InHyphenNumWordPart, 0, None),
        (None, "", A_BINGO, InParseHyphen, PARTHWORD, None),
    ],
    InHyphenAsciiWordPart: [
        (E, "", A_BINGO, Base, ASCIIPARTHWORD, None),
        (ASC, "", A_NEXT, InHyphenAsciiWordPart, 0, None),
        (ALPHA, "", A_NEXT, InHyphenWordPart, 0, None),
        (_special, "", A_NEXT, InHyphenWordPart, 0, None),
        (DIG, "", A_NEXT, InHyphenNumWordPart, 0, None),
        (None, "", A_BINGO, InParseHyphen, ASCIIPARTHWORD, None),
    ],
    InHyphenNumWordPart: [
        (E, "", A_BINGO, Base, NUMPARTHWORD, None),
        (AL, "", A_NEXT, InHyphenNumWordPart, 0, None),
        (_special, "", A_NEXT, InHyphenNumWordPart, 0, None),
        (None, "", A_BINGO, InParseHyphen, NUMPARTHWORD, None),
    ],
    InHyphenUnsignedInt: [
        (E, "", A_POP, Null, 0, None),
        (DIG, "", A_NEXT, Null, 0, None),
        (ALPHA, "", A_CLEAR, InHyphenNumWordPart, 0, None),
        (_special, "", A_CLEAR, InHyphenNumWordPart, 0, None),
        (None, "", A_POP, Null, 0, None),
    ],
}


def _get(p: _Parser) -> bool:
    """TParserGet: the next token into ``p.type``/``p.start``/``p.length``."""
    top = p.stack[-1]
    if top.pos >= p.end:
        return False
    p.start = top.pos
    top.pushed_at = None
    rule: Rule | None = None
    while top.pos <= p.end:
        top.charlen = 0 if top.pos == p.end else 1
        if top.pushed_at is not None:
            index = top.pushed_at + 1
            top.pushed_at = None
        else:
            index = 0
        table = TABLES[top.state]
        while True:
            rule = table[index]
            test = rule[0]
            if test is None:
                break
            p.c = rule[1]
            if test(p):
                break
            index += 1
        _, _, flags, tostate, kind, special = rule
        if special is not None:
            special(p)
        if flags & A_BINGO:
            p.length = top.length
            top.length = 0
            p.type = kind
        if flags & A_POP:
            p.stack.pop()
            top = p.stack[-1]
        elif flags & A_PUSH:
            top.pushed_at = index
            top = top.copy()
            p.stack.append(top)
        elif flags & A_CLEAR:
            del p.stack[-2]
        elif flags & A_CLRALL:
            del p.stack[:-1]
        elif flags & A_MERGE:
            merged = p.stack.pop()
            top = p.stack[-1]
            top.pos, top.charlen, top.length = merged.pos, merged.charlen, merged.length
        if tostate != Null:
            top.state = tostate
        if flags & A_BINGO or (top.pos >= p.end and not flags & A_RERUN):
            break
        if flags & (A_RERUN | A_POP):
            continue
        if top.charlen:
            top.pos += 1
            top.length += 1
    return rule is not None and bool(rule[2] & A_BINGO)


def tokens(text: str) -> Iterator[tuple[int, str]]:
    """(type, token) of each token PostgreSQL's default parser finds in ``text``
    (ASCII), blanks included, in order."""
    parser = _Parser(text)
    while _get(parser):
        yield parser.type, text[parser.start:parser.start + parser.length]
