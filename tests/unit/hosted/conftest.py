"""The hosted adapters' tests run against the fake providers on 127.0.0.1."""

from tests.fakes.fixtures import anthropic_server, llamaparse_server, openai_server

__all__ = ["anthropic_server", "llamaparse_server", "openai_server"]
