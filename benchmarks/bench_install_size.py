"""Runtime install size: a fresh virtual environment with llmops-action and its runtime dependencies only.

Target (issue 5): site-packages under 400 MB. mlflow-skinny + sqlalchemy + alembic, not full mlflow.
Installs from PyPI (the package itself from this checkout). Also checks the embedded MLflow store
works there: one log_run into sqlite, without pandas.

Run: .venv/bin/python benchmarks/bench_install_size.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MB = 400

SMOKE = r"""
import sys, tempfile
from pathlib import Path
from llmops_action.core.config import TrackingConfig
from llmops_action.core.results import ModelInfo, RunMeta, RunResult, CaseResult
meta = RunMeta(suite="s", tool_version="0", config_hash="c", dataset_hash="d", metrics_hash="m",
               git_sha="a" * 40, git_branch="main", provider=ModelInfo(type="outputs"),
               started_at="2025-01-01T00:00:00Z", finished_at="2025-01-01T00:00:01Z")
run = RunResult(run=meta, cases=[CaseResult(id="1", prompt="p", output="x", score=1.0)], aggregates={"score": 1.0})
from llmops_action.adapters.tracking import log_run
out = log_run(run, cfg=TrackingConfig(), out_dir=Path(tempfile.mkdtemp()), repo="o/r", environ={})
print("embedded store:", "ok" if out.run_id else out.warning, "| pandas installed:", "pandas" in sys.modules or __import__("importlib.util").util.find_spec("pandas") is not None)
"""


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = Path(root, f)
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def package_sizes(site: Path) -> dict[str, int]:
    """Size per top-level entry of site-packages, with each *.dist-info folded into its package's name."""
    sizes: dict[str, int] = {}
    for entry in site.iterdir():
        size = dir_size(entry) if entry.is_dir() else entry.stat().st_size
        name = entry.name.split("-")[0] if entry.name.endswith((".dist-info", ".data")) else entry.name
        key = name.lower().replace("_", "-").removesuffix(".py").removesuffix(".libs")
        sizes[key] = sizes.get(key, 0) + size
    return sizes


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = Path(tmp) / "venv"
        venv.create(env_dir, with_pip=True)
        py = env_dir / "bin" / "python"
        started = time.monotonic()
        subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
            check=True,
        )
        elapsed = time.monotonic() - started
        site = Path(
            subprocess.run(
                [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        total = dir_size(site)
        # pip/setuptools come with every venv; report them but they are not the package's weight.
        sizes = package_sizes(site)
        tooling = sum(
            v
            for k, v in sizes.items()
            if k in ("pip", "setuptools", "-distutils-hack", "distutils-precedence.pth")
        )
        mb = total / 1e6
        print(
            f"fresh venv, `pip install {REPO}` (runtime deps only) in {elapsed:.0f} s, python {sys.version.split()[0]}"
        )
        print(
            f"site-packages: {mb:.1f} MB ({(total - tooling) / 1e6:.1f} MB without pip/setuptools); "
            f"target < {TARGET_MB} MB: {'OK' if mb < TARGET_MB else 'OVER'}"
        )
        print("biggest 10 packages:")
        for name, size in sorted(sizes.items(), key=lambda kv: kv[1], reverse=True)[:10]:
            print(f"  {name:<28} {size / 1e6:7.1f} MB")
        smoke = subprocess.run([str(py), "-c", SMOKE], capture_output=True, text=True, check=False)
        print(smoke.stdout.strip() or smoke.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
