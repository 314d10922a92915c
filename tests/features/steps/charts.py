"""Steps about benefit charts: a row's service and its cost stay together."""

from __future__ import annotations

from pytest_bdd import given, parsers, then

from bench.charts import chart_rows, count
from domain.chunking import ChunkingConfig
from tests.features.documents import item
from tests.features.world import World

# The Medical Benefits Chart of the corpus's Evidence of Coverage (PDF pages).
BENEFITS_CHART = (60, 105)


@given("passages are cut to the size the service uses")
def _(world: World) -> None:
    """The scenarios' world cuts small passages; a chart row needs the real size."""
    world.chunking = ChunkingConfig()


@then(parsers.parse('one of her passages shows "{service}" with "{cost}" on one line'))
def _(world: World, service: str, cost: str) -> None:
    (document,) = world.documents_of("Maria")
    lines = [line for c in world.chunks_of(document) for line in c.text.split("\n")]
    rows = [line for line in lines if line.startswith(service)]
    assert any(cost in row for row in rows), rows


@then(parsers.re(r"every row of her (?P<name>.+)'s benefits chart is whole in one passage"))
def _(world: World, name: str) -> None:
    chosen = item(name)
    document = world.document_named("Maria", chosen.filename)
    chunks = world.chunks_of(document)
    rows = chart_rows(chosen.data(), *BENEFITS_CHART)
    result = count(rows, chunks, "scenario", 0.0)
    assert result.rows > 80
    assert result.whole == result.rows, [row.service for row in result.cut]
