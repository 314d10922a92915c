"""Settings of answers: Claude (when ``ANTHROPIC_API_KEY`` is set) and how many answers
a member may ask for in a window."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, SecretStr


class AnswerSettings(BaseModel):
    anthropic_api_key: SecretStr | None = None
    #: Claude model of generated answers (used when ANTHROPIC_API_KEY is set).
    anthropic_model: str = "claude-sonnet-4-6"
    anthropic_base_url: str | None = None
    anthropic_max_output_tokens: Annotated[int, Field(ge=1, le=32_000)] = 1024
    #: Answers a member may ask for per window, per API replica (in memory).
    answer_rate_limit: Annotated[int, Field(ge=1, le=100_000)] = 30
    answer_rate_window_seconds: Annotated[float, Field(gt=0, le=86_400)] = 600.0
