"""The adapters: each port of ``domain.ports`` on one technology (PostgreSQL, OpenAI,
LlamaParse, Anthropic, S3, the local parsers) or in memory (``adapters.memory``).

They import the domain, never the entrypoints; the container chooses which to build.
"""
