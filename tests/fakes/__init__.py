"""Fake hosted providers for tests: small HTTP servers on 127.0.0.1 that speak the
provider's API the way its real SDK calls it (OpenAI embeddings, LlamaParse v2
parsing), with scriptable failures. Fixtures in ``tests.fakes.fixtures``."""
