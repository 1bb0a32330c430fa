"""merge: combine shard results into one results.json."""

from __future__ import annotations

import argparse


def _merge(args: argparse.Namespace) -> int:
    from llmops_action.core.config import load_config
    from llmops_action.engine.merge import merge_files
    from llmops_action.errors import exit_code_for

    config = load_config(args.config)
    merged, path = merge_files(args.results, config, args.out)
    failed = [g.name for g in merged.gates if g.status == "fail" and g.blocking]
    print(
        f"merged {len(args.results)} shard(s): {merged.counts.cases} cases, {merged.counts.errors} errors, "
        f"verdict {merged.verdict} -> {path}"
    )
    for name in failed:
        print(f"  gate failed: {name}")
    return exit_code_for(merged.verdict)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from llmops_action.cli.main import add_command, config_arg, out_dir

    p = add_command(
        sub,
        "merge",
        """Merge the results of matrix shards (shard: i/n) into one results.json, recomputing aggregates and gates.

The shards must come from the same suite, config, dataset, prompts and git sha; every shard 1..n must be
present and no case may appear twice. Exit codes as for eval: 0 pass, 1 a gate failed, 3 incomplete.

Example:
  llmops-action merge shard-1/results.json shard-2/results.json --out .llmops/out --config .llmops.yml""",
    )
    p.add_argument("results", nargs="+", metavar="RESULTS_JSON", help="one results.json per shard")
    p.add_argument(
        "--out", type=out_dir, required=True, metavar="DIR", help="folder for the merged results.json"
    )
    config_arg(p)
    p.set_defaults(handler=_merge)
