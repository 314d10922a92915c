"""The chunker: markdown-aware, token-sized, overlapping, deterministic."""

from __future__ import annotations

import itertools
import random
import re
from uuid import UUID, uuid5

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.chunking import (
    CHUNKER,
    TABLE_ROW_FACTOR,
    ChunkingConfig,
    chunk_document,
    full_text,
)
from domain.model import Chunk, ParsedDocument, ParsedPage
from domain.page_furniture import is_table_row

POLICY = UUID("5a1e0000-0000-4000-8000-000000000001")
MEMBER = "member-ana"
TOKENIZER = TiktokenTokenizer()


def chunk(pages: list[str], config: ChunkingConfig | None = None) -> list[Chunk]:
    parsed = document(pages)
    return chunk_document(
        parsed, TOKENIZER, config or ChunkingConfig(), document_id=POLICY, user_id=MEMBER
    )


def document(pages: list[str]) -> ParsedDocument:
    return numbered(*(ParsedPage(n, md) for n, md in enumerate(pages, start=1)))


def numbered(*pages: ParsedPage) -> ParsedDocument:
    # mypy's attrs plugin cannot type the model's bare ``tuple`` converter
    return ParsedDocument(pages)


def sentences(count: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    words = ["plan", "member", "copay", "deductible", "hospital", "network", "provider",
             "covers", "ambulance", "prescription", "tier", "appeal", "referral", "visit"]
    return " ".join(
        " ".join(rnd.choices(words, k=rnd.randint(6, 18))).capitalize() + "."
        for _ in range(count)
    )


def assert_well_formed(pages: list[str], chunks: list[Chunk], config: ChunkingConfig) -> None:
    text = full_text(document(pages))
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text.strip(), "a chunk is blank"
        assert text[c.char_start : c.char_end] == c.text
        assert c.token_count == TOKENIZER.count(c.text)
        assert c.token_count <= config.max_tokens
        assert c.chunk_id == uuid5(POLICY, str(c.ordinal))
        assert (c.document_id, c.user_id, c.chunker) == (POLICY, MEMBER, CHUNKER)
        assert c.page == page_at(pages, c.char_start)
    covered: set[int] = set()
    for c in chunks:
        covered.update(range(c.char_start, c.char_end))
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered]
    assert not missing, f"text at {missing[:5]} is in no chunk"


def page_at(pages: list[str], position: int) -> int:
    offset = 0
    for number, markdown in enumerate(pages, start=1):
        offset += len(markdown) + 2
        if position < offset:
            return number
    raise AssertionError("position past the end")


# -- examples --------------------------------------------------------------------


def test_full_text_joins_pages_with_a_blank_line():
    assert full_text(document(["page one", "page two"])) == "page one\n\npage two"


def test_each_chunk_names_the_section_it_belongs_to():
    chunks = chunk(
        [
            "# Chapter 4\n\n## Medical benefits chart\n\n" + sentences(40, seed=2),
            "## Ambulance services\n\n" + sentences(40, seed=3),
            "# Chapter 5\n\nAsking us to pay our share.",
        ],
        ChunkingConfig(target_tokens=200, overlap_tokens=20),
    )
    paths = [c.heading_path for c in chunks]
    assert paths[0] == ("Chapter 4", "Medical benefits chart")
    assert ("Chapter 4", "Ambulance services") in paths
    assert paths[-1] == ("Chapter 5",)
    assert paths.index(("Chapter 4", "Ambulance services")) > 0


def test_heading_titles_lose_emphasis_and_closing_hashes():
    chunks = chunk(["## **Medical benefits chart** ##\n\nYou pay $0."])
    assert chunks[0].heading_path == ("Medical benefits chart",)


def test_a_short_document_is_one_chunk_holding_all_of_it():
    pages = ["# Summary of benefits\n\nPrimary care visit: $0 copay.", "Specialist: $35."]
    chunks = chunk(pages)
    assert len(chunks) == 1
    assert chunks[0].text == full_text(document(pages))
    assert chunks[0].page == 1


def test_a_table_that_fits_is_kept_whole_in_one_chunk():
    table = "\n".join(
        ["| Service | In network | Out of network |", "|---|---|---|"]
        + [f"| Service number {n} | ${n * 5} copay | {n}% coinsurance |" for n in range(12)]
    )
    pages = [sentences(12, seed=4) + "\n\n" + table + "\n\n" + sentences(12, seed=5)]
    config = ChunkingConfig(target_tokens=300, overlap_tokens=30)
    chunks = chunk(pages, config)
    assert len(chunks) > 1
    assert any(table in c.text for c in chunks)
    assert_well_formed(pages, chunks, config)


def test_a_fenced_block_with_blank_lines_stays_together():
    code = "```\nline one\n\nline two\n\nline three\n```"
    pages = [sentences(30, seed=6) + "\n\n" + code + "\n\n" + sentences(30, seed=7)]
    config = ChunkingConfig(target_tokens=150, overlap_tokens=10)
    chunks = chunk(pages, config)
    assert any(code in c.text for c in chunks)


def test_a_chunk_does_not_end_on_the_heading_of_the_next_section():
    pages = ["\n\n".join(f"## Benefit {n}\n\n{sentences(5, seed=n)}" for n in range(30))]
    config = ChunkingConfig(target_tokens=200, overlap_tokens=0)
    chunks = chunk(pages, config)
    assert len(chunks) > 3
    for c in chunks[:-1]:
        last_line = c.text.rstrip().splitlines()[-1]
        assert not last_line.startswith("#"), c.text


def test_a_new_section_starts_a_new_chunk_once_the_current_one_is_half_full():
    pages = ["\n\n".join(f"## Benefit {n}\n\n{sentences(6, seed=n)}" for n in range(10))]
    config = ChunkingConfig(target_tokens=120, overlap_tokens=0)
    for c in chunk(pages, config):
        assert c.text.startswith("## Benefit"), c.text[:40]


def test_consecutive_chunks_overlap_by_about_the_overlap_size():
    pages = [sentences(200, seed=8)]
    config = ChunkingConfig(target_tokens=200, overlap_tokens=40)
    chunks = chunk(pages, config)
    assert len(chunks) > 5
    for before, after in itertools.pairwise(chunks):
        assert after.char_start < before.char_end, "no overlap"
        shared = TOKENIZER.count(full_text(document(pages))[after.char_start : before.char_end])
        assert 0 < shared <= config.overlap_tokens + 1


def test_without_overlap_chunks_follow_each_other():
    pages = [sentences(200, seed=9)]
    chunks = chunk(pages, ChunkingConfig(target_tokens=200, overlap_tokens=0))
    for before, after in itertools.pairwise(chunks):
        assert after.char_start > before.char_end


def test_a_paragraph_longer_than_the_target_is_cut_between_sentences():
    pages = [sentences(120, seed=10)]
    config = ChunkingConfig(target_tokens=150, overlap_tokens=20)
    chunks = chunk(pages, config)
    assert len(chunks) > 5
    for c in chunks:
        assert c.text.endswith(".")
        assert c.token_count <= config.target_tokens + 5


def test_a_closing_bracket_after_a_full_stop_stays_with_its_sentence():
    pages = [" ".join(f"(Benefit {n} applies.)" for n in range(200))]
    config = ChunkingConfig(target_tokens=60, overlap_tokens=0)
    chunks = chunk(pages, config)
    assert all(c.text.endswith(".)") for c in chunks)
    assert_well_formed(pages, chunks, config)


def test_a_sentence_longer_than_the_target_is_cut_between_words():
    words = [f"benefit{n}" for n in range(2000)]
    pages = [" ".join(words)]
    config = ChunkingConfig(target_tokens=100, overlap_tokens=10)
    chunks = chunk(pages, config)
    assert len(chunks) > 10
    seen = {w for c in chunks for w in c.text.split()}
    assert seen == set(words)
    assert all(c.token_count <= config.target_tokens for c in chunks)


def test_a_word_longer_than_a_chunk_is_cut_inside_it_as_a_last_resort():
    blob = "".join(random.Random(11).choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/", k=20_000))
    pages = [f"Attachment:\n\n{blob}\n\nEnd of attachment."]
    config = ChunkingConfig(target_tokens=64, overlap_tokens=8, max_tokens=64)
    chunks = chunk(pages, config)
    assert all(c.token_count <= 64 for c in chunks)
    assert_well_formed(pages, chunks, config)


def test_no_chunk_passes_the_limit_even_when_the_target_is_the_limit():
    pages = ["\n".join(f"- item {n}: {sentences(1, seed=n)}" for n in range(400))]
    config = ChunkingConfig(target_tokens=40, overlap_tokens=10, max_tokens=40)
    chunks = chunk(pages, config)
    assert_well_formed(pages, chunks, config)


def test_a_chunk_reports_the_page_its_text_starts_on():
    pages = [sentences(30, seed=n) for n in range(12)]
    config = ChunkingConfig(target_tokens=250, overlap_tokens=30)
    chunks = chunk(pages, config)
    assert {c.page for c in chunks} >= {1, 6, 12}
    assert_well_formed(pages, chunks, config)


def test_page_numbers_come_from_the_parser():
    parsed = numbered(ParsedPage(7, sentences(8, seed=1)), ParsedPage(9, sentences(8)))
    config = ChunkingConfig(target_tokens=100, overlap_tokens=0)
    chunks = chunk_document(parsed, TOKENIZER, config, document_id=POLICY, user_id=MEMBER)
    assert {c.page for c in chunks} == {7, 9}


def test_a_blank_document_has_no_chunks():
    assert chunk(["", "  \n\n \t", "\n"]) == []


def test_special_token_strings_in_a_document_are_plain_text():
    pages = ["The form shows <|endoftext|> where a signature was expected."]
    (only,) = chunk(pages)
    assert "<|endoftext|>" in only.text


def test_the_same_document_gives_the_same_chunks():
    pages = ["# Plan\n\n" + sentences(300, seed=12), "## Costs\n\n" + sentences(50, seed=13)]
    config = ChunkingConfig(target_tokens=128, overlap_tokens=16)
    assert chunk(pages, config) == chunk(pages, config)


def test_a_large_document_chunks_into_well_formed_chunks():
    rnd = random.Random(14)
    blocks: list[str] = []
    while sum(map(len, blocks)) < 500_000:
        kind = rnd.random()
        if kind < 0.05:
            blocks.append("#" * rnd.randint(1, 3) + f" Section {len(blocks)}")
        elif kind < 0.1:
            blocks.append("\n".join(f"| row {r} | $ {r * 7} | {r}% |" for r in range(20)))
        else:
            blocks.append(sentences(rnd.randint(1, 15), seed=len(blocks)))
    text = "\n\n".join(blocks)
    pages = [text[i : i + 2200] for i in range(0, len(text), 2200)]
    config = ChunkingConfig()
    chunks = chunk(pages, config)
    assert 150 < len(chunks) < 400
    assert all(c.token_count <= config.target_tokens + 16 for c in chunks)
    assert_well_formed(pages, chunks, config)


@pytest.mark.parametrize(
    ("target", "overlap", "maximum"),
    [(512, 512, 8191), (512, 600, 8191), (600, 64, 512), (512, -1, 8191), (8, 0, 8191)],
)
def test_inconsistent_chunk_sizes_are_refused(target: int, overlap: int, maximum: int):
    with pytest.raises(ValueError):
        ChunkingConfig(target_tokens=target, overlap_tokens=overlap, max_tokens=maximum)


# -- properties --------------------------------------------------------------------

WORD = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"),
        exclude_characters="#|`~",
    ),
    min_size=1, max_size=12,
)
SENTENCE = st.lists(WORD, min_size=1, max_size=30).map(lambda ws: " ".join(ws) + ".")
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=8).map(" ".join)
HEADING = st.tuples(st.integers(1, 6), st.lists(WORD, min_size=1, max_size=4)).map(
    lambda h: "#" * h[0] + " " + " ".join(h[1])
)
TABLE = st.lists(st.lists(WORD, min_size=1, max_size=4), min_size=1, max_size=8).map(
    lambda rows: "\n".join("| " + " | ".join(r) + " |" for r in rows)
)
# A chart as the PDF parser writes it: a row per line, cells (sentences) tab-separated.
CHART = st.lists(st.lists(SENTENCE, min_size=2, max_size=3), min_size=1, max_size=6).map(
    lambda rows: "\n".join("\t".join(r) for r in rows)
)
BLOCK = st.one_of(PARAGRAPH, PARAGRAPH, HEADING, TABLE, CHART, st.just(""), st.just("   "))
PAGE = st.lists(BLOCK, max_size=12).flatmap(
    lambda blocks: st.sampled_from(["\n\n", "\n", "\n\n\n"]).map(lambda sep: sep.join(blocks))
)
CONFIG = st.integers(16, 160).flatmap(
    lambda target: st.builds(
        ChunkingConfig,
        target_tokens=st.just(target),
        overlap_tokens=st.integers(0, target - 1),
        max_tokens=st.integers(target, target * 2),
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(PAGE, min_size=1, max_size=5), config=CONFIG)
def test_chunks_are_well_formed_for_any_markdown(pages: list[str], config: ChunkingConfig):
    chunks = chunk(pages, config)
    assert_well_formed(pages, chunks, config)
    assert chunk(pages, config) == chunks
    words_in_chunks = {w for c in chunks for w in c.text.split()}
    words = set(full_text(document(pages)).split())
    # A word is only ever cut when it alone nearly fills a chunk.
    assert {w for w in words if TOKENIZER.count(w) * 2 <= config.target_tokens} <= words_in_chunks
    # A line that fits in a chunk is never cut; nor a table row up to twice the target.
    for line in full_text(document(pages)).split("\n"):
        line = line.strip()
        limit = config.target_tokens
        if is_table_row(line):
            limit = min(config.max_tokens, TABLE_ROW_FACTOR * config.target_tokens)
        if line and TOKENIZER.count(line) <= limit:
            assert any(line in c.text for c in chunks), line
    if re.search(r"\S", full_text(document(pages))):
        assert chunks


# -- lines and table rows ------------------------------------------------------------


def row(name: str, sentences_count: int, seed: int, cost: str = "$180 copayment.") -> str:
    """A chart row as the PDF parser writes it: the service, its description, a tab,
    what the member pays."""
    return f"{name} {sentences(sentences_count, seed=seed)}\t{cost}"


def test_a_line_that_fits_in_a_chunk_is_never_cut_between_its_sentences():
    lines = [sentences(3, seed=seed) for seed in range(20, 32)]
    pages = ["\n".join(lines)]
    config = ChunkingConfig(target_tokens=150, overlap_tokens=20)
    chunks = chunk(pages, config)
    assert len(chunks) > 3
    for line in lines:
        assert any(line in c.text for c in chunks), line
    assert_well_formed(pages, chunks, config)


def test_each_row_of_a_large_chart_stays_whole_with_its_cost():
    rows = [row(f"Service {n}", 4, seed=40 + n, cost=f"${n * 10} copayment.")
            for n in range(12)]
    pages = ["Medical Benefits Chart\n" + "\n".join(rows)]
    config = ChunkingConfig(target_tokens=200, overlap_tokens=30)
    chunks = chunk(pages, config)
    assert len(chunks) > 3
    for r in rows:
        assert any(r in c.text for c in chunks), r
    assert_well_formed(pages, chunks, config)


def test_a_pipe_table_row_is_never_cut_between_its_sentences():
    rows = [f"| Service {n} | {sentences(3, seed=60 + n)} | ${n} copay. Prior authorization. |"
            for n in range(10)]
    pages = ["\n".join(["| Service | Details | You pay |", "| --- | --- | --- |", *rows])]
    config = ChunkingConfig(target_tokens=150, overlap_tokens=20)
    chunks = chunk(pages, config)
    for r in rows:
        assert any(r in c.text for c in chunks), r


def test_a_row_larger_than_a_chunk_but_within_twice_the_target_gets_a_chunk_of_its_own():
    big = row("Inpatient hospital care", 9, seed=70)
    assert 100 < TOKENIZER.count(big) <= 200
    pages = ["\n".join([row("Ambulance", 2, seed=71), big, row("Vision care", 2, seed=72)])]
    config = ChunkingConfig(target_tokens=100, overlap_tokens=20)
    chunks = chunk(pages, config)
    assert big in [c.text for c in chunks]
    assert_well_formed(pages, chunks, config)


def test_a_row_larger_than_twice_the_target_is_cut_between_sentences():
    huge = row("Durable medical equipment", 20, seed=73)
    assert TOKENIZER.count(huge) > 200
    config = ChunkingConfig(target_tokens=100, overlap_tokens=10)
    chunks = chunk(["Chart\n" + huge], config)
    assert not any(huge in c.text for c in chunks)
    assert all(c.token_count <= config.target_tokens for c in chunks)
    assert_well_formed(["Chart\n" + huge], chunks, config)


def test_the_embedders_limit_still_bounds_a_row():
    big = row("Inpatient hospital care", 9, seed=70)
    config = ChunkingConfig(target_tokens=100, overlap_tokens=10, max_tokens=110)
    chunks = chunk(["Chart\n" + big], config)
    assert all(c.token_count <= 110 for c in chunks)
    assert_well_formed(["Chart\n" + big], chunks, config)


def test_the_overlap_never_starts_a_chunk_inside_a_row():
    rows = [row(f"Service {n}", 3, seed=80 + n) for n in range(15)]
    pages = ["\n".join(rows)]
    config = ChunkingConfig(target_tokens=120, overlap_tokens=40)
    chunks = chunk(pages, config)
    text = full_text(document(pages))
    line_starts = {0} | {m.end() for m in re.finditer("\n", text)}
    assert len(chunks) > 3
    assert all(c.char_start in line_starts for c in chunks)


class _CountingTokenizer(TiktokenTokenizer):
    """Counts how many characters the chunker asks to have tokenised."""

    def __init__(self) -> None:
        super().__init__()
        self.characters = 0

    def count(self, text: str) -> int:
        self.characters += len(text)
        return super().count(text)


def test_a_line_with_no_sentence_end_is_cut_in_work_in_proportion_to_its_length() -> None:
    # an image embedded in markdown as base64: one 100 KiB "sentence". Cutting it used to
    # tokenise the whole rest of the line for every chunk (400 KiB took minutes)
    line = "![card](data:image/png;base64," + "".join(
        random.Random(3).choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                                 k=100 * 1024)) + ")"
    tokenizer = _CountingTokenizer()
    chunks = chunk_document(document([f"# Card\n\n{line}\n\nEnd."]), tokenizer,
                            ChunkingConfig(), document_id=POLICY, user_id=MEMBER)

    assert any(line[:60] in c.text for c in chunks) and any(line[-60:] in c.text for c in chunks)
    assert all(c.token_count <= ChunkingConfig().target_tokens for c in chunks)
    assert tokenizer.characters < 60 * len(line)
