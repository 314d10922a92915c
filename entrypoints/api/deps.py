"""Reaching the container from a request: the app keeps it in ``app.state``.

Routes take their use cases from the container of the app serving them (no
module-level wiring), so several apps with different containers can live in one
process, as they do in the tests.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from entrypoints.container import Container


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


Wired = Annotated[Container, Depends(get_container)]
