"""The queue's claim statement, written out in SQL, against the domain's table of
steps: the status each claim moves a job to and the "started" event it records."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import attrs
import pytest

from adapters.postgres.named_sql import Statements, queue_statements
from domain.model import Job
from domain.status import CLAIMABLE, STEPS, JobStatus, Step

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CLAIM = queue_statements("navigator")["claim"]


def _cases(after: str) -> dict[str, str]:
    """The WHEN/THEN pairs of the CASE that follows ``after`` in the claim."""
    case = CLAIM[CLAIM.index(after):]
    case = case[:case.index("END")]
    return dict(re.findall(r"WHEN '(\w+)' THEN '([\w ]+)'", case))


def _claimed(status: JobStatus) -> tuple[str, str | None]:
    """(status after the claim, detail of its event) as ``Job.claim`` decides them."""
    job = attrs.evolve(Job.new(UUID(int=1), UUID(int=2), "maria", EPOCH), status=status)
    moved = job.claim("worker-1", EPOCH, timedelta(minutes=5))
    return moved.job.status.value, moved.events[0].detail if moved.events else None


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.name.value)
def test_the_claim_moves_each_step_to_the_status_the_domain_does(step: Step) -> None:
    status, detail = _claimed(step.claim_from)
    claimed_from = step.claim_from.value
    assert _cases("SET status = CASE p.status").get(claimed_from, claimed_from) == status
    assert _cases("CASE claimed_from").get(claimed_from) == detail


def test_the_claim_names_no_status_the_domain_does_not_claim_from() -> None:
    ready = re.search(r"WHERE status IN \(([^)]*)\)", CLAIM)
    assert ready is not None
    assert set(re.findall(r"'(\w+)'", ready.group(1))) == {s.value for s in CLAIMABLE}
    assert set(_cases("SET status = CASE p.status")) <= {s.value for s in CLAIMABLE}
    assert set(_cases("CASE claimed_from")) <= {s.value for s in CLAIMABLE}


def test_only_the_schema_name_is_put_into_a_statement() -> None:
    statements = queue_statements("staging")
    for name in statements.names():
        assert "{" not in statements[name].replace("{schema}", ""), name
        assert '"staging".' in statements[name] or "{schema}" not in statements[name], name
    assert queue_statements("production")["job"] == statements["job"].replace(
        '"staging"', '"production"')


def test_a_schema_name_that_is_not_a_plain_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="DATABASE_SCHEMA"):
        Statements("queue.sql", 'x"; DROP TABLE documents; --')
