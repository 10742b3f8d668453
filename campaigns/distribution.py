"""Distribution of a campaign's recipients over its numbers: weighted round robin, with sticky
numbers. Pure functions (no database), so they are tested by calling them.

Weights are each number's remaining daily capacity (by number age), zero for an unhealthy
number. A recipient who already talked to one of the usable numbers gets that number ("reply
from the same number" also holds for broadcasts); the others are spread so that, sticky ones
included, every number's share of the whole campaign is proportional to its weight."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


class NoUsableNumber(ValueError):
    pass


def apportion(total: int, weights: Mapping[int, float]) -> dict[int, int]:
    """Splits `total` into integers proportional to `weights` (largest remainder method):
    every share is within 1 of its exact proportion and the shares add up to `total`."""
    positive = {key: w for key, w in weights.items() if w > 0}
    if total <= 0 or not positive:
        return {key: 0 for key in weights}
    weight_sum = float(sum(positive.values()))
    exact = {key: total * w / weight_sum for key, w in positive.items()}
    shares = {key: int(value) for key, value in exact.items()}
    left = total - sum(shares.values())
    # Ties broken by key so the result is deterministic.
    for key in sorted(exact, key=lambda k: (shares[k] - exact[k], k))[:left]:
        shares[key] += 1
    return {key: shares.get(key, 0) for key in weights}


def interleave(counts: Mapping[int, int]) -> list[int]:
    """A round-robin order holding each key exactly `counts[key]` times, every key spread
    evenly through it (stride scheduling: the k-th slot of a key sits at (k + 0.5) / count)."""
    slots = [
        ((k + 0.5) / count, key, k)
        for key, count in sorted(counts.items())
        if count > 0
        for k in range(count)
    ]
    slots.sort()
    return [key for _, key, _ in slots]


def distribute(
    recipients: Sequence[int],
    weights: Mapping[int, float],
    sticky: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """Assigns every recipient (an id) one number (an id). `sticky` maps a recipient to the
    number it last talked to; it is honoured when that number has a positive weight. Raises
    NoUsableNumber when no number has a positive weight."""
    usable = {number: w for number, w in weights.items() if w > 0}
    if not usable:
        raise NoUsableNumber("No number can send: every chosen number is disconnected or out of capacity.")
    sticky = sticky or {}
    assignment: dict[int, int] = {}
    free: list[int] = []
    sticky_counts: Counter[int] = Counter()
    for recipient in recipients:
        number = sticky.get(recipient)
        if number is not None and number in usable:
            assignment[recipient] = number
            sticky_counts[number] += 1
        else:
            free.append(recipient)
    if not free:
        return assignment
    # Each number's fair share of the whole campaign, minus what stickiness already gave it.
    quotas = apportion(len(recipients), usable)
    room = {number: max(0, quotas[number] - sticky_counts[number]) for number in usable}
    counts = apportion(len(free), room if sum(room.values()) > 0 else usable)
    for recipient, number in zip(free, interleave(counts), strict=True):
        assignment[recipient] = number
    return assignment
