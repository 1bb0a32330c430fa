"""Deterministic shares of a dataset for matrix jobs: a case belongs to shard i of n by its id's hash."""

from __future__ import annotations

import hashlib
import re

from llmops_action.errors import UserInputError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'2/4' -> (2, 4): shard 2 of 4, 1-based. '' or None -> no sharding."""
    if not text:
        return None
    m = _SHARD.match(text)
    if not m or not (1 <= int(m[1]) <= int(m[2])):
        raise UserInputError(f"shard must look like 'i/n' with 1 <= i <= n, got '{text}'", key="shard")
    return int(m[1]), int(m[2])


def shard_of(case_id: str, n: int) -> int:
    """1-based shard index; sha256 so every process and platform agrees."""
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def in_shard(case_id: str, shard: tuple[int, int] | None) -> bool:
    return shard is None or shard_of(case_id, shard[1]) == shard[0]
