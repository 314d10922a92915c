"""The ``queue_figures`` statement, written out in SQL, against the domain's rules: the
mark of a retry, the claimable statuses, and the partial index (0011) whose predicate
must be the statement's own for the planner to use it."""

from __future__ import annotations

import re

from adapters.postgres.named_sql import queue_statements
from domain.model import WILL_RETRY
from domain.status import CLAIMABLE
from migrations import __file__ as migrations_init

FIGURES = queue_statements("navigator")["queue_figures"]
INDEX = (
    __import__("pathlib").Path(migrations_init).parent / "0011_recent_job_outcomes.sql"
).read_text()


def _outcomes_predicate(sql: str) -> str:
    match = re.search(r"\(to_status IN \('failed', 'complete'\) OR detail LIKE '[^']*'\)", sql)
    assert match is not None
    return match.group(0)


def test_retries_are_found_by_the_mark_the_domain_writes_on_them() -> None:
    [mark] = re.findall(r"detail LIKE '([^']*)'", FIGURES)
    assert mark == WILL_RETRY + "%"


def test_jobs_ready_for_a_worker_are_those_in_a_claimable_status() -> None:
    ready = re.search(r"FILTER \(\s*WHERE status IN \(([^)]*)\)", FIGURES)
    assert ready is not None
    assert set(re.findall(r"'(\w+)'", ready.group(1))) == {s.value for s in CLAIMABLE}


def test_the_index_holds_exactly_the_rows_the_statement_reads() -> None:
    index = re.search(r"job_events_recent_outcomes ON \S+ \(at\) WHERE (.*?);",
                      " ".join(INDEX.split()))
    assert index is not None
    assert f"({index.group(1)})" == _outcomes_predicate(" ".join(FIGURES.split()))
