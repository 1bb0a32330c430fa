"""Wall time of the emulated Action on the quickstart, warm cache (the figure a PR author waits for).

Runs the entrypoint exactly as tests/action/test_action.py does (a subprocess, INPUT_* / GITHUB_* environment, a
real git repository, a local fake GitHub), on the quickstart as shipped and on a copy grown to 50 cases.
Each PR run is done twice; the second (warm cache: actions/cache restored) is the figure. Target: < 10 s
for 50 cases.

    .venv/bin/python benchmarks/bench_action.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.action_runner import REPO, ActionProject
from tests.support.github_server import FakeGitHub, GitHubServer

TARGET_S = 10.0


def grow_dataset(project: ActionProject, n: int) -> int:
    """Copies of the quickstart's cases with new ids until there are n, committed on main."""
    path = project.dev.path / "datasets" / "support.jsonl"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    grown = list(cases)
    i = 0
    while len(grown) < n:
        grown.append({**cases[i % len(cases)], "id": f"{cases[i % len(cases)]['id']}-copy{i}"})
        i += 1
    path.write_text("".join(json.dumps(c) + "\n" for c in grown[:n]), encoding="utf-8")
    project.base_sha = project.dev.commit(f"{n} cases")
    project.dev.push("main")
    return len(grown[:n])


def measure(label: str, cases: int | None) -> dict[str, float | str | int]:
    with tempfile.TemporaryDirectory(prefix="bench-action-") as tmp:
        project = ActionProject(Path(tmp))
        n = (
            grow_dataset(project, cases)
            if cases
            else sum(
                1
                for line in (project.dev.path / "datasets" / "support.jsonl").read_text().splitlines()
                if line.strip()
            )
        )
        fake = FakeGitHub(REPO)
        with GitHubServer(fake) as server:
            t = time.perf_counter()
            push = project.run(
                "push", project.push_payload(project.base_sha), sha=project.base_sha, api_url=server.url
            )
            push_s = time.perf_counter() - t
            head = project.head("feature", {"NOTES.md": "bench\n"})
            fake.add_pull(2, head_sha=head, base_sha=project.base_sha)
            times = []
            for action in ("opened", "synchronize"):
                t = time.perf_counter()
                run = project.run(
                    "pull_request", project.pr_payload(action, head), sha=head, api_url=server.url
                )
                times.append(time.perf_counter() - t)
                assert run.code in (0, 1), run.stdout + run.stderr
        assert push.code in (0, 1), push.stdout + push.stderr
        return {
            "label": label,
            "cases": n,
            "push_cold_s": push_s,
            "pr_first_s": times[0],
            "pr_warm_s": times[1],
            "requests": len(fake.requests),
        }


def main() -> None:
    rows = [measure("quickstart", None), measure("quickstart x50", 50)]
    print(
        f"{'suite':<16}{'cases':>6}{'push (cold)':>13}{'PR 1st':>9}{'PR warm':>9}{'per case':>10}{'vs 10 s':>9}"
    )
    for r in rows:
        warm = float(r["pr_warm_s"])
        print(
            f"{r['label']:<16}{r['cases']:>6}{r['push_cold_s']:>12.2f}s{r['pr_first_s']:>8.2f}s{warm:>8.2f}s"
            f"{warm / int(r['cases']) * 1000:>8.0f}ms{warm / TARGET_S:>8.2f}x"
        )
    fifty = rows[-1]
    verdict = "meets" if float(fifty["pr_warm_s"]) < TARGET_S else "MISSES"
    print(
        f"\n50 cases, warm cache: {float(fifty['pr_warm_s']):.2f} s ({verdict} the {TARGET_S:.0f} s target)"
    )


if __name__ == "__main__":
    main()
