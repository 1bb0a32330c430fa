"""Baseline stores (dir, git-branch, mlflow) behind one port, and the choice of base for a PR."""

from llmops_action.adapters.baseline.store import BaselineKey, BaselineRecord, BaselineStore, open_store

__all__ = ["BaselineKey", "BaselineRecord", "BaselineStore", "open_store"]
