"""Every command on every lesson page runs, as written, and the page's claims hold.

A page states its claims about the traces its commands record in ```claims
blocks (harness/teach/claims.py): the events it says happen do happen, in that
order; the ones it says never happen do not. Each page's test runs all of its
``$`` lines (the story's and the exercises') in a fresh folder and then checks
every claim, so a page whose story stops being true fails here.
"""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from harness.teach.claims import Claim, check_output, claims_of, parse_step
from harness.tracefile import read_trace

LESSONS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "lessons"
PAGES = sorted(LESSONS.glob("[0-9]-*.md"))

pytestmark = pytest.mark.real


def commands(page: pathlib.Path) -> list[str]:
    """The ``$ `` lines of the page's console blocks."""
    blocks = re.findall(r"```console\n(.*?)```", page.read_text(), flags=re.S)
    return [line.strip()[2:] for block in blocks for line in block.splitlines()
            if line.strip().startswith("$ ")]


def run_page(page: pathlib.Path, where: pathlib.Path) -> list[subprocess.CompletedProcess]:
    for script in LESSONS.glob("*.py"):
        shutil.copy(script, where)
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}")
    done = []
    for command in commands(page):
        result = subprocess.run(command, shell=True, cwd=where, env=env, text=True,
                                capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
                                executable="/bin/bash")
        assert result.returncode == 0, f"{page.name}: {command}\n{result.stdout}{result.stderr}"
        done.append(result)
    return done


def check_claims(page: pathlib.Path, where: pathlib.Path,
                 outputs: list[subprocess.CompletedProcess]) -> None:
    claims = claims_of(page.read_text())
    assert claims, f"{page.name} states no claims"
    failed = []
    for claim in claims:
        if claim.file.startswith("$"):
            problem = check_output(claim, outputs[int(claim.file[1:]) - 1].stdout)
        else:
            problem = claim.check(read_trace(str(where / claim.file)))
        if problem:
            failed.append(f"{claim.file}: {claim.text}\n    -> {problem}")
    assert not failed, f"{page.name}: claims that no longer hold:\n" + "\n".join(failed)


def test_there_are_nine_lessons_each_with_commands_claims_pictures_and_exercises():
    assert len(PAGES) == 9
    for page in PAGES:
        text = page.read_text()
        assert commands(page), page.name
        assert claims_of(text), page.name
        pictures = re.findall(r"!\[[^]]*\]\(([^)]+\.(?:svg|png))\)", text)
        assert pictures, page.name
        for picture in pictures:
            assert (LESSONS / picture).is_file(), picture
        exercises = text.split("## Exercises", 1)
        assert len(exercises) == 2, f"{page.name} has no Exercises section"
        answers = exercises[1].count("*Answer:*")
        assert 2 <= answers <= 3, f"{page.name}: {answers} exercises with answers"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_command_runs_and_every_claim_holds(page, tmp_path):
    outputs = run_page(page, tmp_path)
    check_claims(page, tmp_path, outputs)


# --- the claims checker itself, on hand-made histories ----------------------------------


def _history() -> list[dict]:
    kinds = [("fault", {"fault": "SIGSTOP"}, 1, 10), ("fault", {"fault": "SIGCONT"}, 1, 10),
             ("fault", {"fault": "SIGSTOP"}, 2, 20), ("fault", {"fault": "SIGKILL"}, 2, 20),
             ("link_down", {"side": "left"}, 3, 30), ("node_exited", {"exitcode": -9}, 2, 20),
             ("ring_stopping", {}, 0, 5), ("link_down", {"side": "right"}, 1, 10)]
    return [{"t_ns": i, "pos": pos, "id": pos + 1, "pid": pid, "kind": kind, **fields}
            for i, (kind, fields, pos, pid) in enumerate(kinds)]


def test_an_order_claim_tries_every_binding_of_its_named_steps():
    claim = Claim("t", "order fault fault=SIGSTOP as S -> fault fault=SIGKILL pid=S.pid")
    assert claim.check(_history()) is None  # the second SIGSTOP, not the first
    assert Claim("t", "order node_exited -> fault fault=SIGKILL").check(_history())


def test_until_and_never_bound_a_claim_in_time():
    history = _history()
    assert Claim("t", "order fault fault=SIGKILL -> link_down pos=1").check(history) is None
    assert Claim("t", "order fault fault=SIGKILL -> link_down pos=1 until ring_stopping"
                 ).check(history)
    assert Claim("t", "never link_down pos=1 after fault fault=SIGKILL before ring_stopping"
                 ).check(history) is None
    assert Claim("t", "never link_down after fault fault=SIGKILL").check(history)


def test_count_and_output_claims():
    assert Claim("t", "count fault = 4").check(_history()) is None
    assert Claim("t", "count fault fault=SIGSTOP >= 3").check(_history())
    assert check_output(Claim("$1", "contains status 137"), "status 137\n") is None
    assert check_output(Claim("$1", "contains status 137"), "status 0\n")


def test_a_step_that_does_not_parse_is_an_error():
    with pytest.raises(ValueError):
        parse_step("fault fault~SIGKILL")
