"""``navigator``: run the services, look after the queue, and try the API from a terminal.

Exit codes: 0 when the command did what it says; 1 when it ran but something
failed (a document failed, a check did not pass, the database is unreachable);
2 for a usage or configuration error, with a message naming the argument or the
environment variable to fix.

The commands read the same environment variables as the services (see
``entrypoints/settings``); nothing here has settings of its own except the
flags below.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import textwrap
from collections.abc import Callable, Sequence

from entrypoints.cli.outcomes import FAILED, USAGE, CommandFailed, UsageError
from entrypoints.settings import Settings, SettingsError, load_settings
from entrypoints.tokens import DEFAULT_TTL

DEV_MEMBER = "dev-member"

DESCRIPTION = """\
Insurance Navigator's document upload pipeline: an API that takes members'
insurance documents, a worker that parses, chunks and embeds them, and search
over each member's own documents. Everything is configured with environment
variables (DATABASE_URL, DATABASE_SCHEMA, SERVICE_PORT, OPENAI_API_KEY, ...);
with no DATABASE_URL an embedded PostgreSQL server keeps its data in
NAVIGATOR_HOME (default ~/.local/share/insurance-navigator).
"""

EPILOG = """\
first steps:
  navigator up                                  # everything in one process
  navigator upload path/to/policy.pdf           # in another terminal
  navigator search "What is the maximum out-of-pocket amount?"
  navigator ask "What is the maximum out-of-pocket amount?"

exit codes: 0 ok, 1 failure, 2 usage or configuration error
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="navigator", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str, *details: str) -> argparse.ArgumentParser:
        text = "\n".join(textwrap.dedent(part).strip() for part in details)
        return commands.add_parser(
            name, help=summary, description=summary + ("\n\n" + text if text else ""),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    up = command("up", "run everything in one process: database, migrations, API and worker",
                 """\
                 Starts the embedded PostgreSQL server (or uses DATABASE_URL), applies
                 the migrations, then serves the API on SERVICE_HOST:SERVICE_PORT
                 (127.0.0.1:10000 unless set) with a worker in the same process. Uses
                 the local parser and embedder unless LLAMAPARSE_API_KEY / OPENAI_API_KEY
                 are set. Prints the URL, a dev token and a first command to try.
                 Ctrl-C (or SIGTERM) stops it cleanly: the worker finishes or gives back
                 its jobs, the API stops, and the embedded server is stopped (its data
                 stays in NAVIGATOR_HOME/pgdata for next time).""")
    up.add_argument("--member", default=DEV_MEMBER,
                    help=f"member id of the printed dev token (default {DEV_MEMBER})")

    command("api", "run the API service (uvicorn) on SERVICE_HOST:SERVICE_PORT", """\
            Serves the HTTP API (OpenAPI at /docs). Logs are JSON lines on stderr
            (LOG_LEVEL). Run `navigator migrate` first; /health reports pending
            migrations and live workers. Stops on SIGTERM or Ctrl-C.""")

    worker = command("worker", "run the worker service: claim jobs and process them", """\
                     Claims up to WORKER_CONCURRENCY jobs at a time, woken by database
                     notices (LISTEN/NOTIFY) or every WORKER_POLL_INTERVAL seconds; renews
                     its leases, rescues jobs whose worker died, registers itself so
                     /health sees it, and logs JSON lines (WORKER_LOG_LEVEL). On SIGTERM
                     or Ctrl-C it stops claiming, lets running jobs finish within
                     WORKER_SHUTDOWN_GRACE seconds and gives the rest back.""")
    worker.add_argument("--check", action="store_true",
                        help="health check: connect to the database, run the poll query, "
                             "print one line, exit 0 (healthy) or 1")

    migrate = command("migrate", "apply the pending migrations to DATABASE_SCHEMA and list them",
                      """\
                      Plain SQL files shipped inside the package (migrations/*.sql),
                      applied in order under an advisory lock, so several processes may
                      run it at once. Refuses to run when an applied file has changed, and
                      fails when the installed package holds no migration file at all.""")
    migrate.add_argument("--status", action="store_true",
                         help="apply nothing: list every migration as applied, pending or "
                              "changed, with its checksum (SHA-256 of the file; the recorded "
                              "one too when they differ); exits 1 when any is pending or "
                              "changed, 0 when the schema is up to date")

    command("move-files", "move files earlier versions kept on disk into the file store", """\
            Earlier versions kept uploads in BLOB_DIR (default NAVIGATOR_HOME/blobs) on
            the API's machine. Moves each file into FILE_STORE, checking its SHA-256
            against its document before and after, and removes the local copy only once
            the store holds it intact. Damaged files and files no document names stay
            where they are; they, and documents whose file is nowhere, are listed and
            the command exits 1. Safe to run again; `navigator up` does it too.""")

    grant = command("grant-service-role",
                    "let a role run the services: DML on the schema's tables, no DDL", """\
                    Run as the owner (the role `navigator migrate` runs as), with the
                    services' DATABASE_SCHEMA. Gives the existing ROLE read and write
                    rights on every table of the schema and admits it through their
                    row-level security (policy navigator_service); it gets no right to
                    create, alter or drop anything. `navigator migrate` gives it the
                    same rights on tables later migrations add. Then point the API's
                    and the worker's DATABASE_URL at ROLE. See docs/OPERATIONS.md,
                    "Roles and row-level security".""")
    grant.add_argument("role", metavar="ROLE", help="an existing role (CREATE ROLE ... LOGIN)")

    status = command("status", "the operator's view of the queue, straight from the database",
                     """\
                     Jobs by status, how long the oldest ready job of each step has
                     waited, leases past due, failures, retries and completions of the
                     last METRICS_WINDOW_SECONDS by step, live workers: the figures the
                     API's /metrics shows. Then the job waiting the longest, the last 10
                     failures with their reasons, and the workers that reported in.""")
    status.add_argument("--json", action="store_true",
                        help="print the same as one JSON object, for scripts")

    retry = command("retry", "retry a failed job (as an operator)", """\
                    The job starts again from the step that failed; attempts reset,
                    history kept. Only a failed job can be retried.""")
    retry.add_argument("job_id", metavar="JOB_ID", help="the job's id (a UUID)")

    reprocess = command("reprocess", "chunk and embed documents again (as an operator)", """\
                        After changing the embedding model (RAG_EMBEDDING_MODEL, or
                        OPENAI_API_KEY set or unset), searches cannot see documents
                        embedded by the old one and list them as waiting. `--stale-model`
                        sends every such complete document back to the chunk step; the
                        workers embed them with the model in use (the parsed pages are
                        kept: nothing is parsed again). `--dry-run` lists them only.""")
    reprocess.add_argument("document_id", metavar="DOCUMENT_ID", nargs="?",
                           help="one document's id (a UUID)")
    reprocess.add_argument("--stale-model", action="store_true",
                           help="every complete document embedded by another model")
    reprocess.add_argument("--dry-run", action="store_true",
                           help="with --stale-model: list them, change nothing")

    token = command("token", "print a dev access token (JWT) for a member, for local use", """\
                    Signed with SUPABASE_JWT_SECRET, or in development with the
                    per-home dev secret the API uses too. Use it as
                    `export NAVIGATOR_TOKEN=$(navigator token)` or in an
                    `Authorization: Bearer` header.""")
    token.add_argument("--member", default=DEV_MEMBER,
                       help=f"the member id (the token's sub; default {DEV_MEMBER})")
    token.add_argument("--hours", type=float, default=DEFAULT_TTL.total_seconds() / 3600,
                       help="how long the token is valid (default %(default)g)")

    client_help = """\
        Talks to the API over HTTP: --api (default http://127.0.0.1:SERVICE_PORT),
        with --token, else NAVIGATOR_TOKEN, else a dev token minted for --member."""
    upload = command("upload", "upload files and follow each to complete or failed",
                     client_help, """\
                     Shows one progress line per file; prints why a file failed.
                     Exits 1 if any file was rejected or failed.""")
    upload.add_argument("files", metavar="FILE", nargs="+", help="files to upload")
    upload.add_argument("--no-wait", action="store_true",
                        help="upload only; do not follow the jobs")
    upload.add_argument("--timeout", type=float, default=600.0,
                        help="give up following after this many seconds (default 600)")
    _client_options(upload)

    search = command("search", "search my documents: the passages that answer a question",
                     client_help)
    search.add_argument("query", metavar="QUESTION", help='e.g. "maximum out-of-pocket"')
    search.add_argument("--max-chunks", type=int, help="at most this many passages "
                        "(default RAG_MAX_CHUNKS)")
    search.add_argument("--threshold", type=float, help="minimum cosine similarity, 0 to 1, "
                        "of passages found by meaning alone (default RAG_SIMILARITY_THRESHOLD)")
    search.add_argument("--budget", type=int, help="token budget of all passages together "
                        "(default RAG_TOKEN_BUDGET)")
    search.add_argument("--mode", choices=("hybrid", "vector", "keyword"),
                        help="find passages by words and meaning (hybrid), meaning alone "
                        "(vector) or words alone (keyword) (default RAG_SEARCH_MODE)")
    search.add_argument("--full", action="store_true",
                        help="print whole passages instead of the best lines of each")
    _client_options(search)

    ask = command("ask", "ask a question: an answer from my documents, with its sources",
                  client_help, """\
                  Prints the answer as it is written, then the passages it cites (file,
                  page, the cited words). Generated by Claude when the API has
                  ANTHROPIC_API_KEY, else extracted verbatim from the passages.""")
    ask.add_argument("question", metavar="QUESTION",
                     help='e.g. "How much is the emergency room copay?"')
    ask.add_argument("--no-stream", action="store_true",
                     help="wait for the whole answer instead of printing it as it comes")
    _client_options(ask)

    validate = command("validate", "check a deployment for real: one ✓/✗ line per item", """\
                       Run it with the services' settings (the same environment variables)
                       and --api pointing at the API. Checks: connectivity (this check, the
                       API and a worker reach the database and the schema; migrations;
                       pgvector); the queue (a canary document uploaded as a dedicated
                       validation member, followed through all ten statuses, then deleted);
                       error handling (a damaged canary fails with its reason); the retry
                       policy and its delays; SQL invariants; N canaries at once (median and
                       worst time to complete); security (401 without or with a forged
                       token, CORS preflights, the schema is this environment's own, the
                       token scheme in force, each configured hosted key). Everything the
                       canaries create is deleted, even when a check fails. Exits 1 on any ✗.
                       See docs/OPERATIONS.md.""")
    validate.add_argument("--api", metavar="URL",
                          help="the API's base URL (default http://127.0.0.1:$SERVICE_PORT)")
    validate.add_argument("--json", action="store_true",
                          help="print the results as JSON instead of ✓/✗ lines")
    validate.add_argument("--member", default="navigator-validation",
                          help="member id of the canaries' token (default %(default)s); "
                               "best a member of its own")
    validate.add_argument("--token",
                          help="the canaries' token, when no SUPABASE_JWT_SECRET can mint "
                               "one (projects with asymmetric JWT keys)")
    validate.add_argument("--load", type=int, default=5, metavar="N",
                          help="canaries uploaded at once for the load check (default 5)")
    validate.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                          help="how long each canary may take to finish (default 120)")
    return parser


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", metavar="URL",
                        help="the API's base URL (default http://127.0.0.1:$SERVICE_PORT)")
    parser.add_argument("--token", help="access token (default: $NAVIGATOR_TOKEN, else a dev "
                                        "token)")
    parser.add_argument("--member", default=DEV_MEMBER,
                        help=f"member of the minted dev token (default {DEV_MEMBER})")


def _handlers() -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    # Imported here so `navigator --help` stays fast and light.
    from entrypoints.cli import client, files, operator, reprocess, search, services
    from entrypoints.cli.status import command_status

    return {
        "up": services.command_up,
        "api": services.command_api,
        "worker": services.command_worker,
        "migrate": operator.command_migrate,
        "move-files": files.command_move_files,
        "status": command_status,
        "grant-service-role": operator.command_grant_service_role,
        "retry": operator.command_retry,
        "reprocess": reprocess.command_reprocess,
        "token": operator.command_token,
        "validate": operator.command_validate,
        "upload": client.command_upload,
        "search": search.command_search,
        "ask": search.command_ask,
    }


def _name_the_script_for_child_processes() -> None:
    """The ``navigator`` script runs as a ``__main__`` with no module name, so
    multiprocessing runs the script again in every child process it starts (CPython
    3.11's fork server ignores a ``__main__`` preload): the isolated parser starts one
    per document, and each then imported the whole command line, ~0.2 s of CPU per
    document. Named as this package's ``__main__`` (what ``python -m entrypoints.cli``
    is), the script is not run again in the children."""
    script = sys.modules.get("__main__")
    if script is not None and getattr(script, "main", None) is main \
            and getattr(script, "__spec__", None) is None:
        script.__spec__ = importlib.util.find_spec("entrypoints.cli.__main__")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``navigator`` command; returns the exit code."""
    _name_the_script_for_child_processes()
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 itself on a usage error
    handler = _handlers()[args.command]
    try:
        # validate loads the settings itself: settings that do not load are one of its ✗
        settings = None if args.command == "validate" else load_settings()
    except SettingsError as exc:
        print(f"navigator {args.command}: {exc}", file=sys.stderr)
        return USAGE
    try:
        return handler(args, settings)  # type: ignore[arg-type]  # None only for validate
    except SettingsError as exc:
        print(f"navigator {args.command}: {exc}", file=sys.stderr)
        return USAGE
    except UsageError as exc:
        print(f"navigator {args.command}: {exc}", file=sys.stderr)
        return USAGE
    except CommandFailed as exc:
        print(f"navigator {args.command}: {exc}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        print(f"navigator {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
