"""What the machine is, and whether someone else used it during the run."""
from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import sys
import time

import psutil


def describe(start_method: str) -> dict:
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = psutil.virtual_memory()
    return {"cpus": os.cpu_count(), "cpu_model": model,
            "memory_gib": round(memory.total / 2**30, 1),
            "python": platform.python_version(), "implementation": sys.implementation.name,
            "platform": platform.platform(), "kernel": platform.release(),
            "start_method": start_method,
            "start_methods_available": multiprocessing.get_all_start_methods(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


class Neighbours:
    """CPU time used by everything but this process and its children between start()
    and stop(): on a machine other people share, that is the noise in every number.
    (System-wide busy time from /proc/stat, minus this process's and its reaped
    children's rusage; measure with every child reaped.)"""

    def __init__(self) -> None:
        self._busy = self._ours = self._wall = 0.0
        self.load_before = os.getloadavg()

    @staticmethod
    def _system_busy() -> float:
        times = psutil.cpu_times()
        return sum(getattr(times, name, 0.0) for name in
                   ("user", "nice", "system", "irq", "softirq"))

    @staticmethod
    def _our_cpu() -> float:
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total

    def start(self) -> None:
        self._busy, self._ours = self._system_busy(), self._our_cpu()
        self._wall = time.monotonic()
        self.load_before = os.getloadavg()

    def stop(self) -> dict:
        wall = time.monotonic() - self._wall
        busy = self._system_busy() - self._busy
        ours = self._our_cpu() - self._ours
        others = max(0.0, busy - ours)
        cores = os.cpu_count() or 1
        return {"wall_s": wall, "our_cpu_s": ours, "other_cpu_s": others,
                "other_cpu_share": others / (wall * cores) if wall > 0 else None,
                "load_before": list(self.load_before), "load_after": list(os.getloadavg()),
                "shared": others > 0.05 * wall * cores}
