from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops_action.core.shard import in_shard, parse_shard, shard_of
from llmops_action.errors import UserInputError

IDS = [f"case-{i:05d}" for i in range(4000)]


@pytest.mark.parametrize(
    ("text", "parsed"), [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3 / 3 ", (3, 3)), ("", None), (None, None)]
)
def test_parse_shard(text: str | None, parsed: tuple[int, int] | None) -> None:
    assert parse_shard(text) == parsed


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "2", "a/b", "1/2/3", "-1/2"])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(UserInputError, match="i/n") as exc:
        parse_shard(text)
    assert exc.value.key == "shard"


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16])
def test_shards_partition_the_cases(n: int) -> None:
    owners = [[i for i in range(1, n + 1) if in_shard(cid, (i, n))] for cid in IDS]
    assert all(len(o) == 1 for o in owners)  # every case in exactly one shard
    assert all(in_shard(cid, None) for cid in IDS[:10])


@pytest.mark.parametrize("n", [2, 4, 8])
def test_shards_are_roughly_balanced(n: int) -> None:
    sizes = Counter(shard_of(cid, n) for cid in IDS)
    assert set(sizes) == set(range(1, n + 1))
    ideal = len(IDS) / n
    # binomial spread: 5 standard deviations around the ideal share
    tolerance = 5 * (len(IDS) * (1 / n) * (1 - 1 / n)) ** 0.5
    assert all(abs(size - ideal) <= tolerance for size in sizes.values()), sizes


def test_assignment_is_the_same_in_another_process() -> None:
    """sha256, not hash(): PYTHONHASHSEED must not move a case to another shard."""
    code = "from llmops_action.core.shard import shard_of; print([shard_of(f'case-{i:05d}', 7) for i in range(50)])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": "123"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == str([shard_of(cid, 7) for cid in IDS[:50]])


@given(st.text(min_size=1), st.integers(1, 50))
def test_shard_of_is_in_range_and_deterministic(case_id: str, n: int) -> None:
    s = shard_of(case_id, n)
    assert 1 <= s <= n and shard_of(case_id, n) == s
