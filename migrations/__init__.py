"""The database schema's migrations: plain SQL files named ``NNNN_what_it_does.sql``,
applied in version order by ``adapters/postgres/migrations.py`` (``navigator
migrate``). They are a package so that they ship inside the wheel as package data
and are read with ``importlib.resources``: an installed package and a checkout find
the same files. Every migration either expands the schema or, marked with a
``-- step: contract`` header, removes what no running release still uses
(docs/OPERATIONS.md, "Migrations: expand, then contract").
"""
