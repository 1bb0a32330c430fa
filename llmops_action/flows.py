"""The pull-request and push flows, shared by the CLI (`pr`, `baseline save`) and the Action.

run_pr: evaluate head, find the base (stored record at the merge-base or a first-parent ancestor; else
re-evaluate the base commit's own prompts and dataset, read through git), compare, write the reports.
run_push: evaluate and save the write-once baseline for the checked-out commit.
"""

from __future__ import annotations

import logging
import os
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llmops_action.baseline.select import resolve_ref, select_base
from llmops_action.baseline.store import BaselineStore, check_saveable, open_store
from llmops_action.core.comparison import Comparison
from llmops_action.core.results import RunResult
from llmops_action.errors import (
    EXIT_INCOMPLETE,
    LlmopsError,
    UserInputError,
    exit_code_for,
)
from llmops_action.gitutil import current_branch, git, is_repo, toplevel
from llmops_action.gitutil import head_sha as git_head_sha
from llmops_action.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    from llmops_action.tracking import TrackingOutcome

log = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
BASE_RESULTS_FILE = "base-results.json"


@dataclass(frozen=True)
class PrOutcome:
    head: RunResult
    comparison: Comparison
    files: dict[str, Path]
    exit_code: int
    base: RunResult | None = None
    base_sha: str | None = None
    merge_base: str | None = None
    warnings: list[str] = field(default_factory=list)
    tracking: TrackingOutcome | None = None


@dataclass(frozen=True)
class PushOutcome:
    result: RunResult
    location: str | None  # None: not saved (an incomplete run never becomes a baseline)
    exit_code: int
    existing: bool = False  # the commit had its baseline already: nothing was evaluated or written


def _repo_of(ws: Workspace, command: str) -> Path:
    if not is_repo(ws.root):
        raise UserInputError(
            f"`{command}` needs a git checkout, and {ws.root} is not inside one",
            hint="Run it from a clone of the repository (actions/checkout with `fetch-depth: 0` on CI).",
        )
    return toplevel(ws.root).resolve()


def _repo_and_sha(ws: Workspace, command: str, head_sha: str | None) -> tuple[Path, str]:
    """The checkout and the commit a run is recorded under: `head_sha` when given, else HEAD."""
    repo = _repo_of(ws, command)
    sha = head_sha or git_head_sha(repo)
    if sha is None:
        raise UserInputError("the repository has no commit yet", hint="Commit something first.")
    return repo, sha


def _tracked_changes(repo: Path, folder: Path) -> list[str]:
    """Modified tracked files under the config folder: the run would not be the commit's."""
    rel = folder.resolve().relative_to(repo).as_posix()
    out = git(["status", "--porcelain", "--untracked-files=no", "--", rel], repo)
    return [line[3:] for line in out.splitlines() if line.strip()]


def _tracking_uri(ws: Workspace) -> str | None:
    return ws.config.tracking_config.uri or os.environ.get("MLFLOW_TRACKING_URI") or None


def open_configured_store(ws: Workspace) -> BaselineStore:
    return open_store(
        ws.config.baseline,
        ws.root,
        tracking_uri=_tracking_uri(ws),
        experiment=ws.config.tracking_config.experiment,
    )


# --- the base, re-evaluated from git ---------------------------------------------------------------


def _materialise(repo: Path, sha: str, rel: str, dest: Path) -> bool:
    """Extract the folder `rel` (the config's folder) as it is at `sha` into dest; False if it is absent there.

    `git archive` reads objects only: the user's working tree, index and HEAD are untouched.
    """
    spec = f"{sha}:{rel}" if rel != "." else f"{sha}:"
    if git(["cat-file", "-t", spec], repo, check=False).strip() != "tree":
        return False
    tar_path = dest / "base.tar"
    git(["archive", "--format=tar", "-o", str(tar_path), sha, *([] if rel == "." else ["--", rel])], repo)
    with tarfile.open(tar_path) as tar:
        # The archive comes from the repository, but a PR controls its content: the data filter refuses
        # absolute paths, links out of the tree and device files.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest / "tree", filter="data")
        else:  # Python < 3.11.4 (Debian bookworm's 3.11.2) has no extraction filters: check by hand
            _check_members(tar.getmembers())
            tar.extractall(dest / "tree")
    tar_path.unlink()
    return True


def _check_members(members: list[tarfile.TarInfo]) -> None:
    """What tarfile's "data" filter refuses: absolute paths, '..', links out of the tree, devices."""
    for m in members:
        parts = Path(m.name).parts
        if m.name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir() or m.issym()):
            raise UserInputError(f"refusing archive member {m.name!r} from the base commit")
        if m.issym() and (m.linkname.startswith("/") or ".." in Path(m.linkname).parts):
            raise UserInputError(f"refusing symlink {m.name!r} -> {m.linkname!r} from the base commit")


@contextmanager
def _isolated_imports(*roots: Path) -> Iterator[None]:
    """Let a `python` provider import the base's copy of the app rather than head's, then restore head's.

    Python caches modules by name, so without this the base run would call head's already-imported code.
    Only the user's modules are swapped: never this package's own, nor anything installed.
    """
    resolved = [str(r.resolve()) + os.sep for r in roots]
    installed = (str(Path(sys.prefix).resolve()) + os.sep, str(Path(__file__).resolve().parent) + os.sep)

    def users(name: str, module: object) -> bool:
        path = str(getattr(module, "__file__", None) or "")
        return (
            name.split(".")[0] != "llmops_action"
            and any(path.startswith(r) for r in resolved)
            and not any(path.startswith(i) for i in installed)
        )

    saved_modules = {name: m for name, m in list(sys.modules.items()) if users(name, m)}
    saved_path = list(sys.path)
    for name in saved_modules:
        del sys.modules[name]
    try:
        yield
    finally:
        for name, module in list(sys.modules.items()):
            if users(name, module):
                del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path


def rerun_base(
    ws: Workspace,
    repo: Path,
    sha: str,
    *,
    base_branch: str | None,
    api_key: str | None,
    use_cache: bool,
    event: str | None,
    progress: bool,
    warnings: list[str],
) -> RunResult | None:
    """Evaluate the base commit's own config, prompts and dataset; None when the base has no config."""
    from llmops_action.evaluate import evaluate

    rel = ws.root.resolve().relative_to(repo).as_posix()
    config_name = ws.config_path.name
    with tempfile.TemporaryDirectory(prefix="llmops-base-") as tmp:
        if not _materialise(repo, sha, rel, Path(tmp)):
            warnings.append(f"The base commit {sha[:12]} has no {rel}/: there is nothing to compare with.")
            return None
        base_root = Path(tmp) / "tree" / rel
        base_config = base_root / config_name
        if not base_config.is_file():
            warnings.append(
                f"The base commit {sha[:12]} has no {rel}/{config_name}: there is nothing to compare with."
            )
            return None
        try:
            base_ws = load_workspace(base_config)
        except UserInputError as exc:
            warnings.append(
                f"The base commit's config does not load ({exc.message}); no base to compare with."
            )
            return None
        with _isolated_imports(ws.root, base_root):
            return evaluate(
                base_ws,
                api_key=api_key,
                use_cache=use_cache,
                git_sha=sha,
                git_branch=base_branch,
                event=event,
                progress=progress,
            )


# --- flows ----------------------------------------------------------------------------------------


def run_pr(
    config_path: Path,
    *,
    base_ref: str,
    out_dir: Path,
    api_key: str | None = None,
    use_cache: bool = True,
    event: str | None = None,
    pr_number: int | None = None,
    head_sha: str | None = None,
    progress: bool = False,
    links: dict[str, str] | None = None,
    store: BaselineStore | None = None,
) -> PrOutcome:
    """Evaluate head, choose or re-evaluate the base, compare, and write every report to out_dir.

    `store` overrides the configured baseline store (tests, the Action's own wiring).
    """
    from llmops_action.evaluate import evaluate
    from llmops_action.reporting import compare_and_report

    ws = load_workspace(config_path)
    repo, sha = _repo_and_sha(ws, "pr", head_sha)
    warnings: list[str] = []
    if head_sha is None and (dirty := _tracked_changes(repo, ws.root)):
        warnings.append(
            f"Head is the working tree, which differs from {sha[:12]} in {len(dirty)} tracked file(s) "
            f"({', '.join(dirty[:3])}{', ...' if len(dirty) > 3 else ''})."
        )

    config = ws.config
    # Fail fast on a wrong base ref or store config: before any model call, not after the evaluation.
    resolve_ref(base_ref, repo)
    chosen_store = (store or open_configured_store(ws)) if config.baseline.mode == "stored" else None

    head = evaluate(
        ws,
        api_key=api_key,
        use_cache=use_cache,
        git_sha=sha,
        git_branch=current_branch(repo),
        event=event,
        pr_number=pr_number,
        progress=progress,
    )

    select = {
        "head_sha": sha,
        "base_ref": base_ref,
        "suite": config.suite,
        "config_hash": config.config_hash(),
    }
    try:
        choice = select_base(chosen_store, repo, max_ancestors=config.baseline.max_ancestors, **select)
    except (LlmopsError, OSError) as exc:
        # An unreachable store or a damaged record must not hide the comparison: re-evaluate the base.
        message = exc.message if isinstance(exc, LlmopsError) else str(exc)
        warnings.append(f"The baseline store could not be read ({message}); the base was re-evaluated.")
        choice = select_base(None, repo, **select)

    base, source, base_sha, rerun = choice.result, choice.source, choice.sha, False
    if base is None and choice.merge_base is not None:
        base = rerun_base(
            ws,
            repo,
            choice.merge_base,
            base_branch=base_ref,
            api_key=api_key,
            use_cache=use_cache,
            event=event,
            progress=progress,
            warnings=warnings,
        )
        rerun = base is not None
        source, base_sha = ("rerun", choice.merge_base) if rerun else ("none", None)
    elif choice.merge_base is None:
        warnings.append(f"Head shares no history with '{base_ref}': there is no base to compare with.")

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"results": head.write(out_dir / RESULTS_FILE)}
    if rerun and base is not None:
        files["base_results"] = base.write(out_dir / BASE_RESULTS_FILE)
    report = compare_and_report(
        base,
        head,
        config,
        out_dir,
        base_source=source,
        trend_branch=base_ref,
        links=links,
        warnings=warnings,
        extra_files={"results": files["results"]},
    )
    comparison = report.comparison
    files = {**report.paths, **files}
    return PrOutcome(
        head=head,
        comparison=comparison,
        files=files,
        exit_code=exit_code_for(comparison.verdict),
        base=base,
        base_sha=base_sha,
        merge_base=choice.merge_base,
        warnings=warnings,
        tracking=report.tracking,
    )


def run_push(
    config_path: Path,
    *,
    out_dir: Path,
    api_key: str | None = None,
    use_cache: bool = True,
    event: str | None = "push",
    head_sha: str | None = None,
    progress: bool = False,
    results: Path | None = None,
    allow_dirty: bool = False,
    store: BaselineStore | None = None,
    reuse_existing: bool = False,
    notify: Callable[[str], None] | None = None,
) -> PushOutcome:
    """Evaluate the checked-out commit (or take `results`) and save it as that commit's baseline, once.

    Only trusted events call this: a push to the default branch, or an explicit `baseline save`.
    With `reuse_existing`, a commit whose baseline is stored already is not evaluated again (baselines are
    write-once, so the evaluation would be thrown away). `notify` hears what is being done, step by step.
    """
    say = notify or (lambda _message: None)
    ws = load_workspace(config_path)
    if results is not None:
        result = RunResult.read(results)
        if result.run.config_hash != ws.config.config_hash():
            log.warning("results config hash %s differs from the config's", result.run.config_hash)
    else:
        from llmops_action.evaluate import evaluate

        repo, sha = _repo_and_sha(ws, "baseline save", head_sha)
        if reuse_existing:
            store = store or open_configured_store(ws)
            stored = store.load(sha, ws.config.suite, ws.config.config_hash())
            if stored is not None:
                where = next(
                    (
                        r.location
                        for r in store.list(ws.config.suite)
                        if r.sha == sha and r.config_hash == stored.run.config_hash
                    ),
                    "the baseline store",
                )
                return PushOutcome(stored, where, exit_code_for(stored.verdict), existing=True)
        say(f"evaluating commit {sha[:12]} (suite {ws.config.suite}, {len(ws.cases)} cases)")
        if not allow_dirty and head_sha is None and (dirty := _tracked_changes(repo, ws.root)):
            raise UserInputError(
                f"uncommitted changes to {', '.join(dirty[:5])}: a baseline must be exactly commit {sha[:12]}",
                hint="Commit or stash them first (or pass --allow-dirty if you really mean it).",
            )
        result = evaluate(
            ws,
            api_key=api_key,
            use_cache=use_cache,
            git_sha=sha,
            git_branch=current_branch(repo),
            event=event,
            progress=progress,
        )
        result.write(out_dir / RESULTS_FILE)
    if result.verdict == "incomplete":
        return PushOutcome(result, None, EXIT_INCOMPLETE)
    check_saveable(result)
    say(f"saving it to the {ws.config.baseline.store} baseline store")
    location = (store or open_configured_store(ws)).save(result)
    if results is None:
        from llmops_action.tracking import track_result

        track_result(ws.config, result, out_dir, files={RESULTS_FILE: out_dir / RESULTS_FILE})
    return PushOutcome(result, location, exit_code_for(result.verdict))
