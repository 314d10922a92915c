"""What a route needs, as FastAPI dependencies: one use case (or port) each.

A route declares the use case it runs (``show: ShowJobCase``) and never sees the
container. Each dependency takes its object from the container of the app serving
the request (``app.state.container``; no module-level wiring), so several apps with
different containers can live in one process, as they do in the tests, and a test
that overrides a provider (``container.job_queue.override(...)``) changes what the
routes get. ``app.dependency_overrides[show_job] = ...`` works too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from domain.answering import AnswerQuestion
from domain.library import FollowJob, ListDocuments, ReadDocumentFile, ShowUsage
from domain.members import CountJobs, DeleteDocument, RetryFailedJob, ShowDocument, ShowJob
from domain.ports import Clock, DatabaseProbe, DocumentRepository, Embedder, Parser, WorkerRegistry
from domain.reprocessing import ReprocessDocument
from domain.search import SearchDocuments
from domain.upload_policy import UploadPolicy
from domain.uploads import SubmitUpload
from domain.watching import WatchQueue
from entrypoints.access_tokens import TokenVerifier
from entrypoints.container import Container
from entrypoints.metrics import Metrics
from entrypoints.settings import Settings

T = TypeVar("T")


def _from_container(pick: Callable[[Container], T]) -> Callable[[Request], Awaitable[T]]:
    # async: FastAPI runs a plain function dependency in its thread pool, a thread hop
    # per dependency per request for what is a dictionary lookup.
    async def dependency(request: Request) -> T:
        container: Container = request.app.state.container
        return pick(container)

    return dependency


# Members' use cases
submit_upload = _from_container(lambda c: c.submit_upload())
delete_document = _from_container(lambda c: c.delete_document())
show_job = _from_container(lambda c: c.show_job())
show_document = _from_container(lambda c: c.show_document())
retry_failed_job = _from_container(lambda c: c.retry_failed_job())
search_documents = _from_container(lambda c: c.search_documents())
answer_question = _from_container(lambda c: c.answer_question())
documents = _from_container(lambda c: c.documents())
upload_policy = _from_container(lambda c: c.upload_policy())
list_documents = _from_container(lambda c: c.list_documents())
read_document_file = _from_container(lambda c: c.read_document_file())
follow_job = _from_container(lambda c: c.follow_job())
reprocess_document = _from_container(lambda c: c.reprocess_document())
show_usage = _from_container(lambda c: c.show_usage())

# Who is calling (``entrypoints.api.auth``)
token_verifier = _from_container(lambda c: c.token_verifier())

# Operations
count_jobs = _from_container(lambda c: c.count_jobs())
watch_queue = _from_container(lambda c: c.watch_queue())
metrics = _from_container(lambda c: c.metrics())
settings = _from_container(lambda c: c.settings())
live_worker_window = _from_container(lambda c: c.live_worker_window())
database_probe = _from_container(lambda c: c.database_probe())
worker_registry = _from_container(lambda c: c.worker_registry())
parser = _from_container(lambda c: c.parser())
embedder = _from_container(lambda c: c.embedder())
clock = _from_container(lambda c: c.clock())

SubmitUploadCase = Annotated[SubmitUpload, Depends(submit_upload)]
DeleteDocumentCase = Annotated[DeleteDocument, Depends(delete_document)]
ShowJobCase = Annotated[ShowJob, Depends(show_job)]
ShowDocumentCase = Annotated[ShowDocument, Depends(show_document)]
RetryFailedJobCase = Annotated[RetryFailedJob, Depends(retry_failed_job)]
SearchDocumentsCase = Annotated[SearchDocuments, Depends(search_documents)]
AnswerQuestionCase = Annotated[AnswerQuestion, Depends(answer_question)]
Documents = Annotated[DocumentRepository, Depends(documents)]
Policy = Annotated[UploadPolicy, Depends(upload_policy)]
ListDocumentsCase = Annotated[ListDocuments, Depends(list_documents)]
ReadDocumentFileCase = Annotated[ReadDocumentFile, Depends(read_document_file)]
FollowJobCase = Annotated[FollowJob, Depends(follow_job)]
ReprocessDocumentCase = Annotated[ReprocessDocument, Depends(reprocess_document)]
ShowUsageCase = Annotated[ShowUsage, Depends(show_usage)]

Verifier = Annotated[TokenVerifier, Depends(token_verifier)]

CountJobsCase = Annotated[CountJobs, Depends(count_jobs)]
WatchQueueCase = Annotated[WatchQueue, Depends(watch_queue)]
ProcessMetrics = Annotated[Metrics, Depends(metrics)]
ServiceSettings = Annotated[Settings, Depends(settings)]
LiveWorkerWindow = Annotated[timedelta, Depends(live_worker_window)]
Probe = Annotated[DatabaseProbe, Depends(database_probe)]
Workers = Annotated[WorkerRegistry, Depends(worker_registry)]
ParserInUse = Annotated[Parser, Depends(parser)]
EmbedderInUse = Annotated[Embedder, Depends(embedder)]
ServiceClock = Annotated[Clock, Depends(clock)]
