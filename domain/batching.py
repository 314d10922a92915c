"""Grouping a document's chunks into as few embedding requests as the provider allows.

The business rules:

- Every input goes in exactly one request; no request has more than
  ``limits.max_inputs`` inputs or more than ``limits.max_tokens_per_request``
  tokens; an input over ``limits.max_tokens_per_input`` is a bug upstream (the
  chunker never makes one) and is refused with its index.
- As few requests as possible. No plan can beat
  :func:`minimum_requests` = max(ceil(n / max_inputs), ceil(tokens / max_tokens_per_request));
  the planner tries to pack into exactly that many (largest inputs first, each
  into the request with the most room left), then one or two more, before falling
  back to first-fit decreasing, which always succeeds.
- Deterministic and readable: indices ascend within a request, and requests are
  ordered by their first index.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from domain.model import EmbeddingLimits

# How many request counts above the minimum the balanced packer tries.
_EXTRA_ATTEMPTS = 2


def minimum_requests(token_counts: Sequence[int], limits: EmbeddingLimits) -> int:
    """The fewest requests any plan can use (a lower bound, often reached)."""
    if not token_counts:
        return 0
    by_inputs = -(-len(token_counts) // limits.max_inputs)
    by_tokens = -(-sum(token_counts) // limits.max_tokens_per_request)
    return max(by_inputs, by_tokens)


def plan_batches(token_counts: Sequence[int], limits: EmbeddingLimits) -> list[list[int]]:
    """Input indices grouped into requests (see the module docstring)."""
    _check_inputs(token_counts, limits)
    if not token_counts:
        return []
    order = sorted(range(len(token_counts)), key=lambda i: (-token_counts[i], i))
    lower = minimum_requests(token_counts, limits)
    for requests in range(lower, lower + _EXTRA_ATTEMPTS + 1):
        bins = _balanced(order, token_counts, limits, requests)
        if bins is not None:
            return _tidy(bins)
    return _tidy(_first_fit(order, token_counts, limits))


def _check_inputs(token_counts: Sequence[int], limits: EmbeddingLimits) -> None:
    per_input = min(limits.max_tokens_per_input, limits.max_tokens_per_request)
    for index, tokens in enumerate(token_counts):
        if tokens < 0:
            raise ValueError(f"input {index} has a negative token count ({tokens})")
        if tokens > per_input:
            raise ValueError(
                f"input {index} has {tokens} tokens, more than the {per_input} "
                "an embedding input may have"
            )


def _balanced(
    order: list[int], token_counts: Sequence[int], limits: EmbeddingLimits, requests: int
) -> list[list[int]] | None:
    """Worst-fit decreasing into exactly ``requests`` requests, or None if it fails.

    Putting each input (largest first) into the request with the most tokens
    left keeps the requests even, which is what lets a tight total fit.
    """
    bins: list[list[int]] = [[] for _ in range(requests)]
    heap = [(-limits.max_tokens_per_request, b) for b in range(requests)]  # (-room, bin)
    for index in order:
        while heap and len(bins[heap[0][1]]) >= limits.max_inputs:
            heapq.heappop(heap)  # full by count: it can take nothing more
        if not heap or -heap[0][0] < token_counts[index]:
            return None
        negative_room, b = heapq.heappop(heap)
        bins[b].append(index)
        heapq.heappush(heap, (negative_room + token_counts[index], b))
    return bins


def _first_fit(
    order: list[int], token_counts: Sequence[int], limits: EmbeddingLimits
) -> list[list[int]]:
    """First-fit decreasing: always succeeds, opening requests as needed."""
    bins: list[list[int]] = []
    rooms: list[int] = []
    for index in order:
        tokens = token_counts[index]
        for b, room in enumerate(rooms):
            if room >= tokens and len(bins[b]) < limits.max_inputs:
                bins[b].append(index)
                rooms[b] -= tokens
                break
        else:
            bins.append([index])
            rooms.append(limits.max_tokens_per_request - tokens)
    return bins


def _tidy(bins: list[list[int]]) -> list[list[int]]:
    return sorted((sorted(b) for b in bins if b), key=lambda b: b[0])
