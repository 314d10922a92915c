"""Settings of where files live: the file store of uploads (PostgreSQL or an
S3-compatible bucket), and this machine's own folder (``NAVIGATOR_HOME``: the embedded
database, the dev secret, and files earlier versions kept on disk)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, SecretStr, field_validator, model_validator

DEFAULT_HOME = "~/.local/share/insurance-navigator"


class FileStoreSettings(BaseModel):
    navigator_home: Path = Path(DEFAULT_HOME)
    #: Where files were kept on disk before they moved into FILE_STORE; read (and
    #: emptied) only by ``navigator move-files`` and ``navigator up``.
    blob_dir: Path | None = None
    #: ``postgres``: in DATABASE_SCHEMA, beside the documents (the default); ``s3``: an
    #: S3-compatible bucket (AWS S3, Supabase Storage, Cloudflare R2, MinIO).
    file_store: Literal["postgres", "s3"] = "postgres"
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_key_prefix: str = ""

    @field_validator("navigator_home", "blob_dir")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @field_validator("file_store", mode="before")
    @classmethod
    def _lower_case_store(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be an http(s) URL such as "
                             "https://<project>.supabase.co/storage/v1/s3")
        return value

    @model_validator(mode="after")
    def _check_bucket(self) -> Self:
        if self.file_store == "s3" and not self.s3_bucket:
            raise ValueError("FILE_STORE=s3 needs S3_BUCKET (and S3_ENDPOINT_URL, "
                             "S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY unless the "
                             "defaults of AWS apply)")
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set "
                             "both or neither")
        return self

    @property
    def pgdata_dir(self) -> Path:
        """The embedded PostgreSQL server's data folder, used when no database is named."""
        return self.navigator_home / "pgdata"

    @property
    def blob_path(self) -> Path:
        """Where earlier versions kept uploaded files on disk: ``BLOB_DIR``, else
        ``NAVIGATOR_HOME/blobs``. ``navigator move-files`` moves them into the file store."""
        return self.blob_dir if self.blob_dir is not None else self.navigator_home / "blobs"
