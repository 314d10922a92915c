"""Settings of parsing: LlamaParse when its key is set, else the local parsers, each
file in a child process under memory, CPU and clock limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, SecretStr


class ParserSettings(BaseModel):
    llamaparse_api_key: SecretStr | None = None
    llamaparse_base_url: str | None = None
    #: Each file is parsed locally in a child process that may use at most this much
    #: memory (address space), this much CPU time, and this long on the clock; a file
    #: that breaks one fails for good ("this file takes too long to read...").
    parser_memory_limit_mib: Annotated[int, Field(ge=64, le=65_536)] = 1024
    parser_cpu_limit_seconds: Annotated[float, Field(gt=0, le=3600)] = 120.0
    parser_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 300.0
