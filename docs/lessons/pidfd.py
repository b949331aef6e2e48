"""Lesson 4, exercise: what a pid number and a pidfd say before and after the reap."""
import os
import signal
import subprocess
import time


def probe(what, send):
    try:
        send()
        return f"{what}: delivered"
    except ProcessLookupError:
        return f"{what}: no such process"


child = subprocess.Popen(["sleep", "30"])
fd = os.pidfd_open(child.pid)
os.kill(child.pid, signal.SIGKILL)
time.sleep(0.2)  # dead, not yet reaped: a zombie
print("zombie:", probe("kill(pid, 0)", lambda: os.kill(child.pid, 0)), "|",
      probe("pidfd_send_signal(fd, 0)", lambda: signal.pidfd_send_signal(fd, 0)))
child.wait()     # reaped: the number is free for anyone
print("reaped:", probe("kill(pid, 0)", lambda: os.kill(child.pid, 0)), "|",
      probe("pidfd_send_signal(fd, 0)", lambda: signal.pidfd_send_signal(fd, 0)))
os.close(fd)
