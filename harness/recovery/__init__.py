"""Recovery: a view of the ring built from its events (view.py), a supervisor that
restarts, bypasses and rejoins nodes (supervisor.py), and the pipeline that notices
a lost or duplicated token and elects a leader to regenerate it (pipeline.py)."""
from .pipeline import Recovery, RecoveryPipeline, SnapshotResult
from .supervisor import Supervisor
from .view import RingView

__all__ = ["Recovery", "RecoveryPipeline", "RingView", "SnapshotResult", "Supervisor"]
