"""``/api/v1/me/usage``: what the calling member uses of each limit."""

from __future__ import annotations

import inspect

from fastapi import APIRouter

from domain.library import ShowUsage
from entrypoints.api.auth import Member
from entrypoints.api.deps import ShowUsageCase
from entrypoints.api.library_schemas import UsageOut
from entrypoints.api.problems import problem_responses
from entrypoints.api.schemas import API

router = APIRouter(prefix=f"{API}/me", tags=["documents"])


@router.get(
    "/usage",
    response_model=UsageOut,
    summary="Show my usage",
    description=inspect.cleandoc(ShowUsage.__doc__ or "") + "\n\n"
    "An upload that would pass a limit is refused with 429; so is a question past the "
    "answer limit (with `Retry-After`).",
    responses=problem_responses(401, 503),
)
async def get_my_usage(member: Member, usage: ShowUsageCase) -> UsageOut:
    return UsageOut.from_domain(await usage(member))
