"""The node: pure protocol state machines (``emulator.protocol``), the process
runtime that gives them real pipes and timers (``emulator.runtime``), and an
in-memory simulator that runs the same protocol classes in one process."""
