"""Expand/contract (docs/OPERATIONS.md, "Migrations: expand, then contract"): during a
rolling deploy the previous release runs against the new schema, so a migration may
only add to it. A statement that takes away or reshapes what exists (DROP, RENAME,
SET NOT NULL on an existing column, a type change, DROP EXPRESSION, TRUNCATE) belongs
in a contract step: a migration whose header says ``-- step: contract``, shipped a
release after the code stopped using what it removes. Two lists name the exceptions,
each with its reason: ``BEFORE_THE_RULE`` and ``KEPT_WORKING`` (an expand step that
keeps the previous release working by other means).
"""

from __future__ import annotations

import re

import pytest

from adapters.postgres.migrations import (
    STEPS_BEFORE_HEADERS,
    Migration,
    is_contract_step,
    load_migrations,
)

#: Released before the rule existed; their text is pinned by the checksums deployed
#: databases recorded, so they cannot gain a header. Each entry says what it removed.
BEFORE_THE_RULE = {
    5: "drops the global HNSW index and the first member index (search stopped using "
       "them in the same release: indexes only, no release read them by name)",
}

#: Expand steps holding a statement the rule flags, which keep every previous release
#: working by other means: what they reshape, and how the release still works.
KEPT_WORKING = {
    14: ("DROP EXPRESSION", "document_chunks.text_search stops being generated; the "
         "triggers the same step creates fill it whenever a writer leaves it out, as "
         "every release before it does"),
}

_IDENT = r'(?:"[^"]+"|[a-z_][a-z0-9_$]*)'
_DESTRUCTIVE = (
    ("DROP", re.compile(
        r"\bdrop\s+(?:materialized\s+view|table|column|index|constraint|function|procedure|"
        r"trigger|view|schema|type|sequence|extension|policy|domain)\b")),
    ("RENAME", re.compile(r"\brename\b")),
    ("TRUNCATE", re.compile(r"\btruncate\b")),
    ("SET NOT NULL", re.compile(rf"\balter\s+column\s+({_IDENT})\s+set\s+not\s+null\b")),
    ("type change", re.compile(
        rf"\balter\s+column\s+({_IDENT})\s+(?:set\s+data\s+)?type\b")),
    ("DROP EXPRESSION", re.compile(rf"\balter\s+column\s+({_IDENT})\s+drop\s+expression\b")),
)
_ADDED_COLUMN = re.compile(rf"\badd\s+column\s+(?:if\s+not\s+exists\s+)?({_IDENT})")


def _code_only(sql: str) -> str:
    """The SQL in lower case without comments and string literals (whose words are data)."""
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    sql = re.sub(r"'(?:[^']|'')*'", "''", sql)
    sql = re.sub(r"--[^\n]*", " ", sql)
    return sql.lower()


def destructive_statements(sql: str) -> list[str]:
    """What in ``sql`` takes away or reshapes existing schema, one line per finding.

    SET NOT NULL and type changes are allowed on a column the same migration adds:
    nothing running can use it yet. Everything else is flagged wherever it appears,
    function bodies included (a DO block runs them)."""
    code = _code_only(sql)
    added = {name.strip('"') for name in _ADDED_COLUMN.findall(code)}
    found = []
    for kind, pattern in _DESTRUCTIVE:
        for match in pattern.finditer(code):
            column = match.group(1).strip('"') if match.groups() else None
            if column is not None and column in added:
                continue
            statement = code[code.rfind(";", 0, match.start()) + 1:match.end()]
            found.append(f"{kind}: {' '.join(statement.split())}")
    return found


def _ids(migrations: list[Migration]) -> list[str]:
    return [m.filename for m in migrations]


@pytest.mark.parametrize("migration", load_migrations(), ids=_ids(load_migrations()))
def test_every_migration_only_expands_unless_it_declares_itself_a_contract_step(
    migration: Migration,
) -> None:
    if migration.version in BEFORE_THE_RULE or is_contract_step(migration.text):
        return
    findings = destructive_statements(migration.text)
    if migration.version in KEPT_WORKING:
        kind, _ = KEPT_WORKING[migration.version]
        assert [f.split(":")[0] for f in findings] == [kind], findings
        return
    assert findings == [], (
        f"{migration.filename} removes or reshapes what the previous release may still "
        "use. Ship it as a contract step (header line `-- step: contract`) in the release "
        "after the code stopped using it: docs/OPERATIONS.md, "
        '"Migrations: expand, then contract"'
    )


def test_the_migrations_released_before_the_rule_are_exactly_those_that_break_it() -> None:
    """The exemption list cannot grow quietly: each entry must still be needed."""
    breaking = {
        m.version for m in load_migrations()
        if destructive_statements(m.text) and not is_contract_step(m.text)
        and m.version not in KEPT_WORKING
    }
    assert breaking == set(BEFORE_THE_RULE)
    assert max(BEFORE_THE_RULE) < 6  # the rule holds from 0006 on


@pytest.mark.parametrize(("sql", "kind"), [
    ("ALTER TABLE {schema}.document_chunks DROP COLUMN embedding;", "DROP"),
    ("DROP TABLE {schema}.workers;", "DROP"),
    ("DROP INDEX IF EXISTS {schema}.upload_jobs_ready;", "DROP"),
    ("ALTER TABLE {schema}.upload_jobs DROP CONSTRAINT upload_jobs_working_is_held;", "DROP"),
    ("DROP FUNCTION {schema}.chunk_embeddings_from_old_columns();", "DROP"),
    ("ALTER TABLE {schema}.documents RENAME COLUMN filename TO name;", "RENAME"),
    ("ALTER TABLE {schema}.documents RENAME TO files;", "RENAME"),
    ("ALTER TABLE {schema}.document_chunks ALTER COLUMN text_search DROP EXPRESSION;",
     "DROP EXPRESSION"),
    ("ALTER TABLE {schema}.upload_jobs ALTER COLUMN last_error SET NOT NULL;", "SET NOT NULL"),
    ("ALTER TABLE {schema}.documents ALTER COLUMN size_bytes TYPE integer;", "type change"),
    ('ALTER TABLE {schema}.documents ALTER COLUMN "size_bytes" SET DATA TYPE int;',
     "type change"),
    ("TRUNCATE {schema}.job_events;", "TRUNCATE"),
    ("DO $$ BEGIN EXECUTE 'x'; DROP VIEW {schema}.v; END $$;", "DROP"),
])
def test_a_destructive_statement_is_caught_in_a_migration_that_does_not_declare_it(
    sql: str, kind: str,
) -> None:
    text = f"-- Tidy the schema up.\n\n{sql}\n"

    [finding] = destructive_statements(text)
    assert finding.startswith(f"{kind}: ")
    assert not is_contract_step(text)


def test_the_same_statement_passes_in_a_migration_that_declares_itself_a_contract_step() -> None:
    text = (
        "-- step: contract\n"
        "-- The old vector columns: unused since the release that shipped 0006.\n\n"
        "ALTER TABLE {schema}.document_chunks DROP COLUMN embedding;\n"
    )
    assert is_contract_step(text)
    assert destructive_statements(text)  # still found; the marker is what allows it


def test_the_marker_counts_only_in_the_header_not_below_the_first_statement() -> None:
    text = (
        "-- Add a column.\n"
        "ALTER TABLE {schema}.documents ADD COLUMN note text;\n"
        "-- step: contract\n"
        "ALTER TABLE {schema}.documents DROP COLUMN filename;\n"
    )
    assert not is_contract_step(text)


def test_additions_and_words_in_comments_or_strings_are_not_destructive() -> None:
    text = (
        "-- We drop table support for nothing; rename nothing.\n"
        "CREATE TABLE {schema}.notes (body text NOT NULL DEFAULT 'drop table x');\n"
        "ALTER TABLE {schema}.documents ADD COLUMN pages integer;\n"
        "ALTER TABLE {schema}.documents ALTER COLUMN pages SET NOT NULL;\n"
        "ALTER TABLE {schema}.documents ALTER COLUMN pages TYPE bigint;\n"
        "ALTER TABLE {schema}.documents ALTER COLUMN filename SET DEFAULT '';\n"
        "/* DROP COLUMN filename */\n"
        "CREATE INDEX documents_pages ON {schema}.documents (pages);\n"
    )
    assert destructive_statements(text) == []


def test_the_runner_records_the_migrations_exempt_from_the_rule_as_contract_steps() -> None:
    assert dict(STEPS_BEFORE_HEADERS) == dict.fromkeys(BEFORE_THE_RULE, "contract")
    steps = {m.version: m.step for m in load_migrations()}
    assert all(steps[version] == "contract" for version in BEFORE_THE_RULE)
