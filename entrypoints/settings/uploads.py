"""Settings of uploads: the largest file, and each member's quotas."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from domain.units import GIB, MIB


class UploadSettings(BaseModel):
    upload_max_bytes: Annotated[int, Field(ge=1)] = 50 * MIB
    upload_max_documents_per_member: Annotated[int, Field(ge=1)] = 1000
    upload_max_bytes_per_member: Annotated[int, Field(ge=1)] = 2 * GIB
