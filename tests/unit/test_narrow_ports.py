"""Use cases depend on the narrow queue port they use, never on the whole ``JobQueue``.

The adapters implement every port at once (``JobQueue`` is their union), so a use
case typed with ``JobQueue`` would still work: this test is what keeps it narrow.
"""

from __future__ import annotations

import importlib
import pkgutil
import typing

import attrs

import domain
from domain.ports import (
    DocumentJobs,
    JobCounts,
    JobIntake,
    JobQueue,
    JobReads,
    UploadQueue,
    WorkerQueue,
)
from tests.corpus import REPO_DIR


def _domain_classes() -> list[type]:
    modules = [importlib.import_module(f"domain.{m.name}")
               for m in pkgutil.iter_modules(domain.__path__)]
    return [cls for module in modules for cls in vars(module).values()
            if isinstance(cls, type) and cls.__module__ == module.__name__ and attrs.has(cls)]


def test_no_use_case_takes_the_whole_job_queue() -> None:
    queues = {f"{cls.__name__}.{name}": hint for cls in _domain_classes()
              for name, hint in typing.get_type_hints(cls).items() if name == "queue"}
    assert len(queues) >= 5  # uploads, members' use cases, the worker's
    assert {name: port for name, port in queues.items() if port is JobQueue} == {}
    assert queues["SubmitUpload.queue"] is UploadQueue
    assert queues["ShowJob.queue"] is JobReads
    assert queues["RetryFailedJob.queue"] is JobIntake
    assert queues["CountJobs.queue"] is JobCounts
    assert queues["ProcessJob.queue"] is WorkerQueue
    assert queues["DeleteDocument.queue"] is DocumentJobs


def test_each_port_module_stays_small_enough_to_read_at_once() -> None:
    sizes = {path.name: len(path.read_text().splitlines())
             for path in (REPO_DIR / "domain" / "ports").glob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > 150} == {}
