"""Errors the domain speaks in. Adapters re-raise vendor errors as these."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the domain raises on purpose."""


class StepError(PipelineError):
    """A step of the pipeline could not finish."""


class TransientError(StepError):
    """Worth trying again later: timeouts, lost connections, rate limits, 5xx.

    ``retry_after`` (seconds) is a hint from the provider; the retry policy
    never waits less than it.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(StepError):
    """Trying again cannot help: corrupt or unsupported file, empty parse, 4xx."""


class IllegalTransition(PipelineError):
    """A status change the state machine does not allow. Always a bug."""


class LeaseLost(PipelineError):
    """The worker no longer holds the job: its lease expired or was fenced off."""


class StoreUnavailable(PipelineError):
    """The job store cannot be reached right now (the database went away or is
    shutting down). Expected and passing: the write is tried again once it answers."""


class StoreOutcomeUnknown(StoreUnavailable):
    """The store went away while it was committing a write, so whether the write was
    made cannot be known until it answers again. A write that is safe to repeat (an
    upload: the same bytes give back the same document) can simply be sent again."""


class NotFound(PipelineError):
    """The thing does not exist, or belongs to another member (never say which)."""


class Conflict(PipelineError):
    """The request does not fit the current state (e.g. retrying a job that has not failed)."""


class UploadRejected(PipelineError):
    """An upload breaks the upload policy; the message says what to fix."""


class FileTooLarge(UploadRejected):
    pass


class UnsupportedFileType(UploadRejected):
    pass


class EmptyFile(UploadRejected):
    pass


class QuotaExceeded(UploadRejected):
    pass


class InvalidQuery(PipelineError):
    """A search request outside the allowed limits."""


class InvalidRequest(PipelineError):
    """A request the domain cannot read (a paging cursor it never gave out, a byte
    range of a file that has no such bytes): the message says what to send instead."""


class TooManyRequests(PipelineError):
    """A member asked for more than their rate limit allows; ``retry_after`` seconds
    until the next request would be accepted."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def is_transient_http_status(status: int) -> bool:
    """A provider's HTTP status worth retrying: timeouts (408), conflicts (409), rate
    limits (429) and server errors (5xx). Any other 4xx is permanent."""
    return status in (408, 409, 429) or status >= 500
