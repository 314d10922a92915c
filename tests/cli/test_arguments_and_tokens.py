"""What ``navigator`` does before it touches anything: arguments, settings, exit codes,
dev tokens, and the clear message when the API or the port is not what it expects."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import jwt
import pytest

from adapters.auth.dev_secret import dev_secret
from entrypoints.cli.main import build_parser
from entrypoints.tokens import DEV_SECRET_FILE
from tests.cli.conftest import SECRET, Cli
from tests.ports import free_port

COMMANDS = ("up", "api", "worker", "migrate", "status", "retry", "token", "upload", "search", "ask",
            "validate")


def test_every_command_has_a_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args([command, "--help"])
        assert exited.value.code == 0
        assert len(capsys.readouterr().out.splitlines()) > 4, command


def test_no_command_at_all_is_a_usage_error(cli: Cli) -> None:
    result = cli.run()
    assert result.code == 2
    assert "COMMAND" in result.err


def test_a_command_without_its_argument_is_a_usage_error(cli: Cli) -> None:
    result = cli.run("retry")
    assert result.code == 2
    assert "JOB_ID" in result.err


def test_a_bad_setting_stops_any_command_with_exit_2_naming_the_variable(cli: Cli) -> None:
    cli.set(WORKER_POLL_INTERVAL="soon")
    result = cli.run("token")
    assert result.code == 2
    assert "WORKER_POLL_INTERVAL must be a number (got soon)" in result.err
    assert result.out == ""


# -- token ------------------------------------------------------------------------------------


def test_token_is_a_supabase_style_jwt_for_the_member_signed_with_the_secret(cli: Cli) -> None:
    result = cli.run("token", "--member", "member-42", "--hours", "2")
    assert result.code == 0
    claims = jwt.decode(result.out.strip(), SECRET, algorithms=["HS256"],
                        audience="authenticated")
    assert claims["sub"] == "member-42"
    assert claims["role"] == "authenticated"
    assert claims["exp"] - claims["iat"] == 2 * 3600


def test_token_in_development_uses_the_same_dev_secret_as_the_local_api(cli: Cli) -> None:
    cli.unset("SUPABASE_JWT_SECRET")
    result = cli.run("token")
    assert result.code == 0
    secret = dev_secret(Path(cli.env["NAVIGATOR_HOME"]) / DEV_SECRET_FILE)
    claims = jwt.decode(result.out.strip(), secret, algorithms=["HS256"],
                        audience="authenticated")
    assert claims["sub"] == "dev-member"


def test_token_outside_development_without_a_secret_is_a_configuration_error(cli: Cli) -> None:
    cli.unset("SUPABASE_JWT_SECRET")
    cli.set(ENVIRONMENT="production")
    result = cli.run("token")
    assert result.code == 2
    assert "SUPABASE_JWT_SECRET must be set when ENVIRONMENT is production" in result.err
    assert result.out == ""


def test_a_token_valid_for_no_time_at_all_is_a_usage_error(cli: Cli) -> None:
    result = cli.run("token", "--hours", "0")
    assert result.code == 2
    assert "--hours" in result.err


# -- the API as a client sees it ------------------------------------------------------------


def test_uploading_a_file_that_does_not_exist_is_a_usage_error(cli: Cli, tmp_path: Path
                                                               ) -> None:
    result = cli.run("upload", str(tmp_path / "missing-policy.pdf"))
    assert result.code == 2
    assert "missing-policy.pdf does not exist" in result.err


def test_uploading_with_no_api_running_says_how_to_start_one(cli: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.txt"
    policy.write_text("Deductible: $250\n")
    url = f"http://127.0.0.1:{free_port()}"
    result = cli.run("upload", "--api", url, str(policy))
    assert result.code == 1
    assert f"cannot reach the API at {url}" in result.err
    assert "navigator up" in result.err


def test_searching_with_no_api_running_fails_with_exit_1(cli: Cli) -> None:
    cli.set(SERVICE_PORT=str(free_port()))
    result = cli.run("search", "maximum out-of-pocket")
    assert result.code == 1
    assert "cannot reach the API at http://127.0.0.1:" in result.err


@pytest.mark.parametrize("command", [("search", "deductible"), ("ask", "deductible?")])
def test_an_api_that_closes_the_connection_unanswered_is_said_in_words(
    cli: Cli, command: tuple[str, str],
) -> None:
    # a restart or a proxy reset: the connection is accepted, then closed
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def close_one() -> None:
            # the whole request read first: closing with bytes unread would reset the
            # connection instead (a ReadError, not a close without an answer)
            conn, _ = server.accept()
            with conn:
                received = b""
                while b"\r\n\r\n" not in received and (piece := conn.recv(65536)):
                    received += piece
                head, _, body = received.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length and (piece := conn.recv(65536)):
                    body += piece

        closer = threading.Thread(target=close_one, daemon=True)
        closer.start()
        result = cli.run(command[0], "--api", f"http://127.0.0.1:{port}", command[1])
        closer.join(timeout=10)

    assert result.code == 1
    assert f"the connection to the API at http://127.0.0.1:{port}" in result.err
    assert "broke (RemoteProtocolError); try again" in result.err


def test_an_api_url_that_is_not_http_is_a_usage_error(cli: Cli) -> None:
    result = cli.run("search", "--api", "127.0.0.1:10000", "deductible")
    assert result.code == 2
    assert "--api must be an http(s) URL" in result.err


# -- the services refuse a busy port before starting anything ----------------------------------


@pytest.mark.parametrize("command", ["up", "api"])
def test_a_service_on_a_port_already_in_use_says_which_variable_to_change(
    cli: Cli, command: str
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        cli.set(SERVICE_HOST="127.0.0.1", SERVICE_PORT=str(port),
                DATABASE_URL="postgresql://postgres@/postgres?host=/never-reached")
        result = cli.run(command)
    assert result.code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.err
    assert "SERVICE_PORT" in result.err
