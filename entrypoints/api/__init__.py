"""The HTTP API service (FastAPI): ``create_app(container)`` in :mod:`entrypoints.api.app`."""
