"""The outside of the ring: cluster control, orchestration, history, reports, CLI."""
