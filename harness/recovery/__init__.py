"""The recovery pipeline and the supervisor (see pipeline.py)."""
from .pipeline import Orchestrator, Recovery, SnapshotResult

__all__ = ["Orchestrator", "Recovery", "SnapshotResult"]
