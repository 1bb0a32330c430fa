"""`dir` baseline store: `<dir>/<suite>/<sha>/<config_hash>.json`, each file written once, atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from llmops_action.adapters.baseline.store import BaselineKey, BaselineRecord, check_saveable
from llmops_action.core.results import RunResult


class DirBaselineStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _file(self, key: BaselineKey) -> Path:
        return self.path / key.relpath

    def load(self, sha: str, suite: str, config_hash: str) -> RunResult | None:
        f = self._file(BaselineKey(sha, suite, config_hash))
        return RunResult.read(f) if f.is_file() else None

    def save(self, result: RunResult) -> str:
        key = check_saveable(result)
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(result.to_json())
            # os.link fails if the target exists, so two writers racing for one key never overwrite:
            # the first wins and the second sees the existing file (write-once).
            with contextlib.suppress(FileExistsError):
                os.link(tmp, target)
        finally:
            os.unlink(tmp)
        return str(target)

    def list(self, suite: str | None = None) -> list[BaselineRecord]:
        if not self.path.is_dir():
            return []
        records = []
        pattern = f"{suite}/*/*.json" if suite else "*/*/*.json"
        for f in self.path.glob(pattern):
            key = BaselineKey.from_relpath(f.relative_to(self.path).as_posix())
            if key is None or f.name.startswith("."):  # a writer's temporary file
                continue
            result = RunResult.read(f)
            saved = datetime.fromtimestamp(f.stat().st_mtime, UTC).isoformat(timespec="seconds")
            records.append(
                BaselineRecord(
                    sha=key.sha,
                    suite=key.suite,
                    config_hash=key.config_hash,
                    saved_at=saved,
                    score=result.aggregates.get("score"),
                    location=str(f),
                )
            )
        records.sort(key=lambda r: (r.saved_at or "", r.sha), reverse=True)
        return records
