"""The node process: the only code inside a node that does I/O."""
