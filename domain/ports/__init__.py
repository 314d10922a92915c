"""The ports: what the domain needs from the outside world, in its own words.

One module per aggregate or capability. Every adapter (PostgreSQL, OpenAI,
LlamaParse, local, in-memory) implements one of these protocols and passes the
same contract suite in ``tests/contract``. The values they take and return live
in ``domain.model``.
"""

from domain.ports.answers import Answerer, AnswerRateLimiter
from domain.ports.clock import Clock, IdFactory, Timer
from domain.ports.documents import DocumentRepository
from domain.ports.embedding import Embedder, Tokenizer
from domain.ports.files import BlobStore
from domain.ports.health import DatabaseProbe, WorkerRegistry
from domain.ports.jobs import DocumentJobs, JobCounts, JobReads, LeaseReads, QueueFigureReads
from domain.ports.parsing import ParseCheckpoint, Parser
from domain.ports.queue import Jitter, JobIntake, JobQueue, UploadQueue, WorkerQueue
from domain.ports.search import SearchIndex, Words

__all__ = [
    "AnswerRateLimiter",
    "Answerer",
    "BlobStore",
    "Clock",
    "DatabaseProbe",
    "DocumentJobs",
    "DocumentRepository",
    "Embedder",
    "IdFactory",
    "Jitter",
    "JobCounts",
    "JobIntake",
    "JobQueue",
    "JobReads",
    "LeaseReads",
    "ParseCheckpoint",
    "Parser",
    "QueueFigureReads",
    "SearchIndex",
    "Timer",
    "Tokenizer",
    "UploadQueue",
    "Words",
    "WorkerQueue",
    "WorkerRegistry",
]
