"""The Action with `selftest: true` (a scheduled run): evaluate the checkout, mutate its outputs, and report
which gate catches each degradation, in the job summary and as selftest.json / selftest.md (issue 14).

Nothing is posted and no baseline is written: the self-test is about the config's gates, not about a change.
Exit 1 when a gross mutation passes every blocking gate, as the CLI does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmops_action.action.main import Context


def selftest_flow(ctx: Context) -> int:
    from llmops_action.action.io import append_summary, relative_to_workspace
    from llmops_action.core.report.selftest import render_selftest, write_selftest
    from llmops_action.engine.selftest import fresh_source, run_selftest
    from llmops_action.engine.workspace import load_workspace

    ws = load_workspace(ctx.config_path)
    api_key = ctx.inputs.gemini_api_key or None
    source, contexts = fresh_source(
        ws, api_key=api_key, use_cache=ctx.inputs.cache, out_dir=ctx.out_dir, event="selftest"
    )
    report = run_selftest(
        ws,
        source,
        source_label="a fresh evaluation of this commit",
        contexts=contexts,
        api_key=api_key,
        use_cache=ctx.inputs.cache,
    )
    files = write_selftest(report, ctx.out_dir)
    append_summary(ctx.env.get("GITHUB_STEP_SUMMARY"), render_selftest(report), ctx.console)
    for error in report.errors:
        ctx.console.error(error, title="llmops-action selftest")
    for warning in report.warnings:
        ctx.console.warning(warning, title="llmops-action selftest")
    ctx.outputs["verdict"] = "fail" if report.errors else ("warn" if report.warnings else "pass")
    ctx.outputs["results-path"] = relative_to_workspace(ctx.out_dir / "results.json", ctx.workspace)
    ctx.console.notice(f"self-test written to {relative_to_workspace(files['selftest.md'], ctx.workspace)}")
    return report.exit_code
