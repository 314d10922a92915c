"""Expand/contract (docs/OPERATIONS.md, "Migrations: expand, then contract"): during a
rolling deploy the previous release runs against the new schema, so a migration may
only add to it. A statement that takes away or reshapes what exists (DROP, RENAME,
SET NOT NULL on an existing column, a type change, DROP EXPRESSION, DROP DEFAULT,
TRUNCATE) belongs
in a contract step: a migration whose header says ``-- step: contract``, shipped a
release after the code stopped using what it removes. So does an addition the previous
release's writes can trip on: a column NOT NULL without a default (its INSERTs do not
name it), a new CHECK, UNIQUE, PRIMARY KEY, FOREIGN KEY or EXCLUDE constraint or a
unique index on a table that already exists, or such a constraint on a column added
with a default (the previous release's rows get the default). Two lists name the
exceptions, each with its reason: ``BEFORE_THE_RULE`` and ``KEPT_WORKING`` (an expand
step that keeps the previous release working by other means).
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
    2: (("new constraint", "new constraint"),
        "upload_jobs gains two CHECKs that the release before already met: its claim "
        "gave every job it moved to a working status a lease, and it failed a job only "
        "at one of the pipeline's steps"),
    14: (("DROP EXPRESSION",), "document_chunks.text_search stops being generated; the "
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
    ("DROP DEFAULT", re.compile(rf"\balter\s+column\s+({_IDENT})\s+drop\s+default\b")),
)
_ADDED_COLUMN = re.compile(rf"\badd\s+column\s+(?:if\s+not\s+exists\s+)?({_IDENT})")
_TABLE = rf"(?:\{{schema\}}\.)?({_IDENT})"
_CREATED_TABLE = re.compile(
    rf"\bcreate\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?{_TABLE}")
_ALTERED_TABLE = re.compile(
    rf"\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?{_TABLE}")
_NEW_CONSTRAINT = re.compile(
    rf"\badd\s+(?:constraint\s+{_IDENT}\s+)?"
    r"(?:check|unique|primary\s+key|foreign\s+key|exclude)\b")
_UNIQUE_INDEX = re.compile(
    rf"\bcreate\s+unique\s+index\b[^;]*?\bon\s+(?:only\s+)?{_TABLE}")
_ADDED_CONSTRAINT = re.compile(r"\b(?:check|unique|primary\s+key|references)\b")
_SET_DEFAULT = re.compile(rf"\balter\s+column\s+({_IDENT})\s+set\s+default\b")


def _code_only(sql: str) -> str:
    """The SQL in lower case without comments and string literals (whose words are data)."""
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    sql = re.sub(r"'(?:[^']|'')*'", "''", sql)
    sql = re.sub(r"--[^\n]*", " ", sql)
    return sql.lower()


def _name(identifier: str) -> str:
    return identifier.strip('"')


def _statement(code: str, match: re.Match[str]) -> str:
    """The statement ``match`` is in, up to the match's end, on one line."""
    return " ".join(code[code.rfind(";", 0, match.start()) + 1:match.end()].split())


def _column_clause(code: str, start: int) -> str:
    """An ``ADD COLUMN`` clause from ``start`` to the comma or semicolon that ends it
    (commas inside parentheses, as in ``numeric(10, 2)``, do not)."""
    depth = 0
    for at in range(start, len(code)):
        char = code[at]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ";" or (char == "," and depth == 0):
            return code[start:at]
    return code[start:]


def _added_columns(code: str) -> dict[str, bool]:
    """The columns ``code`` adds, each with whether it has a value for rows and writes
    that do not name it (a default, or generated)."""
    added = {}
    for match in _ADDED_COLUMN.finditer(code):
        clause = _column_clause(code, match.start())
        added[_name(match.group(1))] = re.search(r"\b(?:default|generated)\b", clause) \
            is not None
    for match in _SET_DEFAULT.finditer(code):
        if _name(match.group(1)) in added:
            added[_name(match.group(1))] = True
    return added


def destructive_statements(sql: str) -> list[str]:
    """What in ``sql`` takes away or reshapes existing schema, or adds what the previous
    release's writes can trip on, one line per finding.

    A type change is allowed on a column the same migration adds, and SET NOT NULL on
    one it adds with a default: nothing running writes it yet. A new constraint or
    unique index is allowed on a table the same migration creates. Everything else is
    flagged wherever it appears, function bodies included (a DO block runs them)."""
    code = _code_only(sql)
    added = _added_columns(code)
    created = {_name(name) for name in _CREATED_TABLE.findall(code)}
    found = []
    for kind, pattern in _DESTRUCTIVE:
        for match in pattern.finditer(code):
            column = _name(match.group(1)) if match.groups() else None
            if column in added and (kind != "SET NOT NULL" or added[column]):
                continue
            found.append(f"{kind}: {_statement(code, match)}")
    for match in _ADDED_COLUMN.finditer(code):
        clause = _column_clause(code, match.start())
        if re.search(r"\bnot\s+null\b", clause) and not added[_name(match.group(1))]:
            found.append(f"NOT NULL without a default: {' '.join(clause.split())}")
        # the previous release's rows get the default: a constraint on it binds them
        if added[_name(match.group(1))] and _ADDED_CONSTRAINT.search(clause):
            found.append(f"new constraint: {' '.join(clause.split())}")
    for match in _NEW_CONSTRAINT.finditer(code):
        statement = _statement(code, match)
        table = _ALTERED_TABLE.search(statement)
        if table is None or _name(table.group(1)) not in created:
            found.append(f"new constraint: {statement}")
    for match in _UNIQUE_INDEX.finditer(code):
        if _name(match.group(1)) not in created:
            found.append(f"new constraint: {_statement(code, match)}")
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
        kinds, _ = KEPT_WORKING[migration.version]
        assert tuple(f.split(":")[0] for f in findings) == kinds, findings
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
    ("ALTER TABLE {schema}.documents ADD COLUMN pages integer NOT NULL;",
     "NOT NULL without a default"),
    ("ALTER TABLE {schema}.documents ADD COLUMN pages integer, "
     "ALTER COLUMN pages SET NOT NULL;", "SET NOT NULL"),
    ("ALTER TABLE {schema}.documents ADD CONSTRAINT documents_small CHECK (size_bytes < 9);",
     "new constraint"),
    ("ALTER TABLE ONLY {schema}.documents ADD UNIQUE (sha256);", "new constraint"),
    ("ALTER TABLE {schema}.job_events ADD CONSTRAINT e_job FOREIGN KEY (job_id) "
     "REFERENCES {schema}.upload_jobs (job_id) NOT VALID;", "new constraint"),
    ("CREATE UNIQUE INDEX CONCURRENTLY documents_sha ON {schema}.documents (user_id, sha256);",
     "new constraint"),
    ("ALTER TABLE {schema}.upload_jobs ALTER COLUMN priority DROP DEFAULT;", "DROP DEFAULT"),
    ("ALTER TABLE {schema}.documents ADD COLUMN n integer DEFAULT 0 UNIQUE;", "new constraint"),
    ("ALTER TABLE {schema}.documents ADD COLUMN kind text DEFAULT 'pdf' "
     "REFERENCES {schema}.kinds (name);", "new constraint"),
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
        "ALTER TABLE {schema}.documents ALTER COLUMN pages SET DEFAULT 0;\n"
        "ALTER TABLE {schema}.documents ALTER COLUMN pages SET NOT NULL;\n"
        "ALTER TABLE {schema}.documents ALTER COLUMN pages TYPE bigint;\n"
        "ALTER TABLE {schema}.documents ADD COLUMN kind text NOT NULL DEFAULT 'pdf', "
        "ADD COLUMN cost numeric(10, 2) CHECK (cost >= 0);\n"
        "CREATE TABLE {schema}.tags (id uuid, name text);\n"
        "ALTER TABLE {schema}.tags ADD CONSTRAINT tags_key PRIMARY KEY (id), "
        "ADD CHECK (name <> '');\n"
        "CREATE UNIQUE INDEX tags_name ON {schema}.tags (name);\n"
        "ALTER TABLE {schema}.documents ALTER COLUMN filename SET DEFAULT '';\n"
        "/* DROP COLUMN filename */\n"
        "CREATE INDEX documents_pages ON {schema}.documents (pages);\n"
    )
    assert destructive_statements(text) == []


def test_the_runner_records_the_migrations_exempt_from_the_rule_as_contract_steps() -> None:
    assert dict(STEPS_BEFORE_HEADERS) == dict.fromkeys(BEFORE_THE_RULE, "contract")
    steps = {m.version: m.step for m in load_migrations()}
    assert all(steps[version] == "contract" for version in BEFORE_THE_RULE)
