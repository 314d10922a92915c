"""The job state machine: statuses, steps and the legal transitions between them.

The status names are a contract with operators' SQL and must not change.
"""

from __future__ import annotations

import enum

import attrs

from domain.errors import IllegalTransition


class JobStatus(enum.StrEnum):
    UPLOADED = "uploaded"
    PARSING = "parsing"
    PARSED = "parsed"
    PARSE_VALIDATED = "parse_validated"
    CHUNKING = "chunking"
    CHUNKS_STORED = "chunks_stored"
    EMBEDDING_QUEUED = "embedding_queued"
    EMBEDDING_IN_PROGRESS = "embedding_in_progress"
    EMBEDDINGS_STORED = "embeddings_stored"
    COMPLETE = "complete"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETE, JobStatus.FAILED)


class StepName(enum.StrEnum):
    PARSE = "parse"
    VALIDATE = "validate"
    CHUNK = "chunk"
    QUEUE = "queue"
    EMBED = "embed"
    FINALIZE = "finalize"


@attrs.frozen
class Step:
    """One unit of work: claimed at ``claim_from``, shown as ``working`` while it
    runs (if it has a working status), and leaving the job at ``result``."""

    name: StepName
    claim_from: JobStatus
    working: JobStatus | None
    result: JobStatus

    @property
    def held_status(self) -> JobStatus:
        """The status a job shows while a worker holds it for this step."""
        return self.working or self.claim_from


S = JobStatus
STEPS: tuple[Step, ...] = (
    Step(StepName.PARSE, S.UPLOADED, S.PARSING, S.PARSED),
    Step(StepName.VALIDATE, S.PARSED, None, S.PARSE_VALIDATED),
    Step(StepName.CHUNK, S.PARSE_VALIDATED, S.CHUNKING, S.CHUNKS_STORED),
    Step(StepName.QUEUE, S.CHUNKS_STORED, None, S.EMBEDDING_QUEUED),
    Step(StepName.EMBED, S.EMBEDDING_QUEUED, S.EMBEDDING_IN_PROGRESS, S.EMBEDDINGS_STORED),
    Step(StepName.FINALIZE, S.EMBEDDINGS_STORED, None, S.COMPLETE),
)

#: Statuses in pipeline order (``failed`` last).
PIPELINE_ORDER: tuple[JobStatus, ...] = tuple(JobStatus)

CLAIMABLE: frozenset[JobStatus] = frozenset(step.claim_from for step in STEPS)
WORKING: frozenset[JobStatus] = frozenset(s.working for s in STEPS if s.working is not None)

_BY_CLAIM_FROM = {step.claim_from: step for step in STEPS}
_BY_HELD = {step.held_status: step for step in STEPS}


def step_claimable_at(status: JobStatus) -> Step:
    """The step a worker performs on a job it claims at ``status``."""
    try:
        return _BY_CLAIM_FROM[status]
    except KeyError:
        raise IllegalTransition(f"no step can be claimed from {status}") from None


def step_held_at(status: JobStatus) -> Step:
    """The step a held job is in, from the status it shows while held."""
    try:
        return _BY_HELD[status]
    except KeyError:
        raise IllegalTransition(f"no step is held at {status}") from None


_BY_NAME = {step.name: step for step in STEPS}


def step_named(name: StepName) -> Step:
    """The step called ``name``."""
    return _BY_NAME[name]


def next_step(step: Step) -> Step | None:
    """The step that follows ``step``, or None after the last one."""
    return _BY_CLAIM_FROM.get(step.result)


#: Where a complete job goes back to when its document is processed again (after a
#: change of embedding model or chunking): the chunk step, from the parsed pages kept.
REPROCESS_FROM = S.PARSE_VALIDATED


def _legal_transitions() -> frozenset[tuple[JobStatus, JobStatus]]:
    legal: set[tuple[JobStatus, JobStatus]] = set()
    for step in STEPS:
        if step.working is not None:
            legal.add((step.claim_from, step.working))  # start
            legal.add((step.working, step.result))  # finish
            legal.add((step.working, step.claim_from))  # retry later / rescue / release
            legal.add((step.working, S.FAILED))
        else:
            legal.add((step.claim_from, step.result))
        legal.add((step.claim_from, S.FAILED))
    for status in CLAIMABLE:
        legal.add((S.FAILED, status))  # manual retry resumes where the job failed
    legal.add((S.COMPLETE, REPROCESS_FROM))  # reprocessing chunks and embeds again
    return frozenset(legal)


LEGAL_TRANSITIONS = _legal_transitions()


def check_transition(from_status: JobStatus, to_status: JobStatus) -> None:
    """Raise :class:`IllegalTransition` unless the state machine allows it.

    Staying in the same status is not a transition and is always allowed
    (claiming a step without a working status, giving the lease back).
    """
    if from_status == to_status:
        return
    if (from_status, to_status) not in LEGAL_TRANSITIONS:
        raise IllegalTransition(f"a job cannot go from {from_status} to {to_status}")


def progress(status: JobStatus) -> float:
    """How far along the pipeline a status is, from 0.0 (uploaded) to 1.0 (complete)."""
    if status is JobStatus.FAILED:
        return 0.0
    ordered = PIPELINE_ORDER[:-1]
    return ordered.index(status) / (len(ordered) - 1)
