"""Embedding benchmark: request packing and throughput. Run ``python -m bench.embedding``.

- 10,000 synthetic chunks with a chunker-like token distribution (most close to
  the 512-token target, a fifth shorter: section ends) go through the
  ``OpenAIEmbedder`` (exact token counts, the domain batcher, the real ``openai``
  SDK) against the fake OpenAI server on 127.0.0.1, in this process.
- It prints the requests made against the minimum the limits allow (the target
  is exactly the minimum), and chunks per second end to end, with the time spent
  counting tokens and planning.
- Then the offline ``HashingEmbedder``'s chunks per second, on the same chunks
  and on a 232-page policy's worth (300 chunks).

Figures are medians of several runs. The fake server runs in a thread of the
same process (one interpreter lock for both sides), so the hosted figure is a
floor for the client's own cost, not a forecast of OpenAI's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from adapters.hashing_embedder import HashingEmbedder
from adapters.openai_embedder import OpenAIEmbedder
from adapters.tiktoken_tokenizer import TiktokenTokenizer
from domain.batching import minimum_requests, plan_batches
from domain.model import EmbeddingLimits
from tests.fakes.openai_server import FakeOpenAI

_WORDS = str.split("""plan member claim care cost network drug health benefit service visit
provider doctor hospital emergency room office policy coverage amount pay paid
year month day annual limit total out pocket maximum copay each person family
test lab surgery therapy mental physical home nurse child adult vision dental
hearing brand generic tier list supply mail order retail store pharmacy approval
prior notice form appeal review request denial reason letter phone number days
within after before during may must will not any all other such these those
include exclude apply applies rate level first second third new old current""")

TARGET_TOKENS = 512


def vocabulary(tokenizer: TiktokenTokenizer) -> list[str]:
    """Words that are one token each after a space, so a text's size is exact."""
    return [w for w in _WORDS if tokenizer.count(" " + w) == 1]


def synthetic_chunks(count: int, seed: int, tokenizer: TiktokenTokenizer) -> list[str]:
    rng = random.Random(seed)
    words = vocabulary(tokenizer)
    chunks = []
    for _ in range(count):
        size = (rng.randint(400, TARGET_TOKENS) if rng.random() < 0.8
                else rng.randint(20, 399))
        chunks.append(" ".join(rng.choice(words) for _ in range(size)))
    return chunks


def policy_chunks(count: int, seed: int) -> list[str]:
    """Chunks of ~512 tokens (380 words) over a 5,000-word vocabulary drawn with
    Zipf's law, as in real prose: a harder case for the hashing embedder's cache
    than the small vocabulary above."""
    rng = random.Random(seed)
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    vocabulary = sorted(
        {"".join(rng.choice(letters[: rng.randint(8, 26)]) for _ in range(rng.randint(2, 12)))
         for _ in range(6000)}
    )[:5000]
    rng.shuffle(vocabulary)
    weights = [1 / rank for rank in range(1, len(vocabulary) + 1)]
    return [" ".join(rng.choices(vocabulary, weights, k=380)) for _ in range(count)]


async def hosted_run(server: FakeOpenAI, chunks: list[str],
                     tokenizer: TiktokenTokenizer) -> dict[str, float]:
    server.reset()
    embedder = OpenAIEmbedder(server.api_key, tokenizer=tokenizer, base_url=server.base_url,
                              timeout=120.0)
    started = time.perf_counter()
    result = await embedder.embed(chunks)
    elapsed = time.perf_counter() - started
    await embedder.aclose()
    assert len(result.vectors) == len(chunks)
    return {"seconds": elapsed, "requests": server.request_count,
            "tokens": result.tokens_used}


def client_side_costs(chunks: list[str], tokenizer: TiktokenTokenizer,
                      limits: EmbeddingLimits) -> tuple[float, float, list[int]]:
    started = time.perf_counter()
    counts = [tokenizer.count(text) for text in chunks]
    counted = time.perf_counter()
    plan_batches(counts, limits)
    planned = time.perf_counter()
    return counted - started, planned - counted, counts


async def hashing_seconds(chunks: list[str]) -> float:
    embedder = HashingEmbedder()  # a fresh cache: the first document it ever sees
    started = time.perf_counter()
    await embedder.embed(chunks)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    tokenizer = TiktokenTokenizer()
    limits = EmbeddingLimits()
    chunks = synthetic_chunks(args.chunks, seed=2025, tokenizer=tokenizer)

    count_s, plan_s, counts = client_side_costs(chunks, tokenizer, limits)
    minimum = minimum_requests(counts, limits)
    planned = len(plan_batches(counts, limits))
    print(f"{len(chunks):,} chunks, {sum(counts):,} tokens "
          f"(median {statistics.median(counts):.0f} per chunk)")
    print(f"requests: minimum the limits allow {minimum}, planned {planned}")
    print(f"client-side: counting tokens {count_s:.2f}s, planning {plan_s * 1000:.0f} ms")

    with FakeOpenAI(vectors="fast") as server:
        runs = [asyncio.run(hosted_run(server, chunks, tokenizer)) for _ in range(args.runs)]
    seconds = statistics.median(run["seconds"] for run in runs)
    made = {int(run["requests"]) for run in runs}
    print(f"OpenAIEmbedder -> fake OpenAI: requests made {sorted(made)} "
          f"(minimum {minimum}); {len(chunks) / seconds:,.0f} chunks/s "
          f"(median of {args.runs}: {seconds:.2f}s)")

    hashing = [asyncio.run(hashing_seconds(chunks)) for _ in range(args.runs)]
    policy = policy_chunks(300, seed=232)
    policy_runs = [asyncio.run(hashing_seconds(policy)) for _ in range(max(args.runs, 5))]
    print(f"HashingEmbedder: {len(chunks) / statistics.median(hashing):,.0f} chunks/s on the "
          f"chunks above; a 232-page policy (300 chunks of ~512 tokens, Zipf vocabulary) "
          f"in {statistics.median(policy_runs) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
