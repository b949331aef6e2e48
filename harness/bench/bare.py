"""Targets for bare reference processes: this module imports nothing, so a spawn or
forkserver child that runs them loads only the interpreter, multiprocessing and
the (light) ``harness.bench`` package."""


def say_hello(conn) -> None:
    """Write one byte and exit: the child is running."""
    conn.send_bytes(b"x")


def wait_for_goodbye(conn) -> None:
    """Say it is up, then idle until told to go: a process that did nothing else."""
    conn.send_bytes(b"up")
    conn.recv_bytes()
