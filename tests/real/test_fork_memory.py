"""What a fork node inherits from the harness and would copy if it touched it.

Every node is forked from the harness, so each page of the harness's heap that a
node writes to becomes the node's own (copy-on-write): what a child does first
thing with what it inherited decides how its private memory grows with N."""
from __future__ import annotations

import multiprocessing.util
import os

import pytest

from harness.cluster import Cluster
from harness.config import RingConfig
from harness.history import History

pytestmark = pytest.mark.real

DEADLINE_S = 30.0
PLANTED = 3000  # a ring of 3000 nodes holds one Popen finalizer per node

_report_to: list[str] = []  # a folder while a test listens; fork children write there


def _after_fork_in_child() -> None:
    if _report_to:  # runs in the child, before multiprocessing clears anything
        with open(os.path.join(_report_to[0], str(os.getpid())), "w") as report:
            report.write(str(len(multiprocessing.util._finalizer_registry)))


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Owner:
    """Something a finalizer can watch (Finalize needs a weak reference)."""


def test_a_node_is_forked_with_multiprocessing_s_finalizers_set_aside(tmp_path):
    """Given a harness holding 3000 multiprocessing finalizers, when a node is
    restarted (forked), then the child inherits an empty finalizer registry, and
    the harness's registry is whole again afterwards, the new node's finalizer
    with it. (A fork child clears the registry it inherits first thing: that
    writes to every finalizer and copies the pages they sit on, one per node
    started before it, so each node's memory grew with N.)"""
    owners = [_Owner() for _ in range(PLANTED)]
    history = History()
    with Cluster(RingConfig(ids=(3, 1, 2)), sink=history) as cluster:
        known = set(multiprocessing.util._finalizer_registry)
        for owner in owners:
            multiprocessing.util.Finalize(owner, len, args=((),))
        planted = set(multiprocessing.util._finalizer_registry) - known
        try:
            cluster.kill(1)
            assert cluster.wait_until(lambda: not cluster.nodes[1].running, DEADLINE_S)
            _report_to.append(str(tmp_path))
            try:
                cluster.restart(1)
            finally:
                _report_to.clear()
            node_pid = cluster.nodes[1].pid
            seen = int((tmp_path / str(node_pid)).read_text())
            registry = set(multiprocessing.util._finalizer_registry)
            assert planted <= registry
            assert cluster.nodes[1].process._popen.finalizer.still_active()
        finally:
            for key in planted:
                multiprocessing.util._finalizer_registry.pop(key, None)
    assert len(planted) == PLANTED
    assert seen == 0, f"the node inherited {seen} finalizers"
