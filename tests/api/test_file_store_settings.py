"""Choosing where uploaded files live, from the environment."""

from __future__ import annotations

import pytest

from adapters.postgres.files import PostgresBlobStore
from adapters.s3_blobs import S3BlobStore
from entrypoints.container import build_container
from entrypoints.settings import SettingsError, load_settings

S3 = {"FILE_STORE": "s3", "S3_BUCKET": "member-documents", "S3_REGION": "eu-central-1",
      "S3_ENDPOINT_URL": "https://abcdefgh.supabase.co/storage/v1/s3",
      "S3_ACCESS_KEY_ID": "key-id", "S3_SECRET_ACCESS_KEY": "s3-secret-never-shown"}


def test_files_live_in_postgresql_unless_told_otherwise() -> None:
    container = build_container(load_settings({}), "postgresql://db.invalid/navigator")
    container.pool.override(object())

    assert isinstance(container.blobs(), PostgresBlobStore)


def test_file_store_s3_uses_the_named_bucket_and_never_shows_its_secret() -> None:
    container = build_container(load_settings(S3), "postgresql://db.invalid/navigator")
    container.pool.override(object())

    store = container.blobs()

    assert isinstance(store, S3BlobStore)
    assert "member-documents" in repr(store)
    assert "s3-secret-never-shown" not in repr(store) + repr(load_settings(S3))


def test_file_store_s3_without_a_bucket_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="S3_BUCKET"):
        load_settings({**S3, "S3_BUCKET": ""})


def test_half_a_pair_of_s3_keys_is_refused_without_echoing_the_secret() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({**S3, "S3_ACCESS_KEY_ID": ""})

    assert "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together" in str(refused.value)
    assert "s3-secret-never-shown" not in str(refused.value)


def test_an_unknown_file_store_is_refused_with_the_choices() -> None:
    with pytest.raises(SettingsError,
                       match=r"FILE_STORE must be one of 'postgres' or 's3' \(got disk\)"):
        load_settings({"FILE_STORE": "disk"})
