"""The API's OpenAPI document, written to a file: what client generators read.

``python -m entrypoints.api.openapi_document build/openapi.json`` writes the document
the API serves at ``/openapi.json``, built from the code alone: no database, no
environment (the settings are the defaults, so the document is the same on every
machine). ``make ts-client`` generates the TypeScript client from it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from entrypoints.api.app import create_app
from entrypoints.container import build_container
from entrypoints.settings import load_settings


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of an app on default settings (nothing is started)."""
    with tempfile.TemporaryDirectory(prefix="navigator-openapi-") as home:
        settings = load_settings({"NAVIGATOR_HOME": home})
        document: dict[str, Any] = create_app(build_container(settings)).openapi()
    return document


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m entrypoints.api.openapi_document OUTPUT.json", file=sys.stderr)
        return 2
    output = Path(args[0])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n",
                      encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
