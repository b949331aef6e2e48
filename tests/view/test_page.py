"""The view page in a real headless Chromium: load a recorded run, move to an instant,
and read what the page shows (the DOM), as a person would look at it.

The instants and the expected states come from the trace itself (read here in
Python), not from the page: node k SIGKILLed, reaped, restarted with a new pid; the
token between two nodes; the leader of the last round.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

DATA = pathlib.Path(__file__).parent / "data"
KILL_HOLDER = DATA / "kill-holder-8.jsonl"
BIG_RING = DATA / "kill-holder-64.jsonl"
PAUSE_HOLDER = DATA / "pause-holder-6.jsonl"
DEADLINE_S = 20


def ringemu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def records_of(path: pathlib.Path) -> list[dict]:
    found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    records = [r for r in found if "kind" in r]
    return sorted(records, key=lambda r: r["t_ns"])


def ms_since_start(records: list[dict], t_ns: int) -> float:
    return (t_ns - records[0]["t_ns"]) / 1e6


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The pages under test, made with the command a user runs."""
    out = tmp_path_factory.mktemp("pages")
    made = {}
    for name, trace in (("kill", KILL_HOLDER), ("big", BIG_RING), ("pause", PAUSE_HOLDER)):
        made[name] = out / f"{name}.html"
        done = ringemu("view", str(trace), "--out", str(made[name]))
        assert done.returncode == 0, done.stderr
    made["counterexample"] = out / "counterexample.html"
    done = ringemu("check", "--nodes", "3", "--faults", "restart", "--mutation",
                   "forward-own-id", "--view", str(made["counterexample"]))
    assert done.returncode == 1, done.stdout + done.stderr
    return made


@pytest.fixture
def screenshots(tmp_path):
    """Where this run's screenshots go: $RINGEMU_SCREENSHOTS if set, else tmp."""
    import os
    folder = pathlib.Path(os.environ.get("RINGEMU_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, page: pathlib.Path, fragment: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get("about:blank")
    browser.get(page.as_uri() + (f"#{fragment}" if fragment else ""))
    WebDriverWait(browser, DEADLINE_S).until(
        lambda b: b.execute_script("return document.body.dataset.ready") == "true")
    return browser


def node(browser, pos: int):
    return browser.find_element("css selector", f"#ring g.node[data-pos='{pos}']")


def wait_until(browser, test, what: str):
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, DEADLINE_S, poll_frequency=0.05).until(
        lambda b: test(), message=what)


def fragment_of(browser) -> dict[str, str]:
    raw = browser.execute_script("return location.hash").lstrip("#")
    return dict(part.split("=", 1) for part in raw.split("&") if "=" in part)


def clock_ms(browser) -> float:
    """The instant the page shows, in ms (its clock reads "12.345 ms / 300.000 ms")."""
    return float(browser.find_element("id", "clock").text.split()[0])


def console_errors(browser) -> list[dict]:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


# --- what happened in the recorded run ------------------------------------------------


def the_kill(records):
    kill = next(r for r in records if r["kind"] == "fault" and r["fault"] == "SIGKILL")
    reaped = next(r for r in records if r["kind"] == "node_exited" and r["pid"] == kill["pid"])
    restarted = next(r for r in records if r["kind"] == "restarted"
                     and r["pos"] == kill["pos"] and r["t_ns"] > kill["t_ns"])
    return kill, reaped, restarted


def the_replacement_runs(records, restarted) -> dict:
    """The first record of the new process (it runs before the harness says so)."""
    return next(r for r in records if r["pid"] == restarted["pid"])


def test_a_killed_node_is_shown_dead_then_restarted_with_its_new_pid(browser, pages,
                                                                    screenshots):
    records = records_of(KILL_HOLDER)
    kill, reaped, restarted = the_kill(records)
    victim = kill["pos"]
    between = (reaped["t_ns"] + the_replacement_runs(records, restarted)["t_ns"]) // 2
    open_page(browser, pages["kill"], f"t={ms_since_start(records, between):.6f}")
    shown = node(browser, victim)
    assert shown.get_attribute("data-life") == "reaped"
    assert shown.get_attribute("data-pid") == str(kill["pid"])
    assert "dead" in shown.find_element("css selector", ".l2").text
    browser.save_screenshot(str(screenshots / "view-dead.png"))

    after = restarted["t_ns"] + 1000
    open_page(browser, pages["kill"], f"t={ms_since_start(records, after):.6f}")
    shown = node(browser, victim)
    assert shown.get_attribute("data-life") == "up"
    assert shown.get_attribute("data-pid") == str(restarted["pid"]) != str(kill["pid"])
    assert shown.get_attribute("data-restarted") == "true"
    assert f"pid {restarted['pid']}" in shown.find_element("css selector", ".l1").text
    assert console_errors(browser) == []

    # the replacement was started outside the ring: bypassed until it rejoins
    if restarted.get("outside"):
        assert shown.get_attribute("data-bypassed") == "true"
        rejoined = next(r for r in records if r["kind"] == "rejoined"
                        and r["pos"] == victim and r["t_ns"] > restarted["t_ns"])
        open_page(browser, pages["kill"], f"t={ms_since_start(records, rejoined['t_ns']):.6f}")
        assert node(browser, victim).get_attribute("data-bypassed") == "false"
        assert node(browser, victim).get_attribute("data-pid") == str(restarted["pid"])


def test_between_the_kill_and_the_reap_the_node_is_killed_but_not_reaped(browser, pages):
    records = records_of(KILL_HOLDER)
    kill, reaped, _ = the_kill(records)
    open_page(browser, pages["kill"], f"t={ms_since_start(records, kill['t_ns'] + 1000):.6f}")
    flashes = browser.find_elements("css selector", f"#flashes .flash[data-pos='{kill['pos']}']")
    assert flashes and "SIGKILL" in flashes[0].get_attribute("data-what")    # where it struck
    assert node(browser, kill["pos"]).get_attribute("data-life") == "killed"
    open_page(browser, pages["kill"],
              f"t={ms_since_start(records, (kill['t_ns'] + reaped['t_ns']) // 2):.6f}")
    assert node(browser, kill["pos"]).get_attribute("data-life") == "killed"


def test_the_token_is_drawn_on_the_link_it_travels(browser, pages):
    records = records_of(KILL_HOLDER)
    n = max(r["pos"] for r in records) + 1
    _, _, restarted = the_kill(records)
    passed = next(r for r in records if r["kind"] == "token_passed"
                  and r["t_ns"] > restarted["t_ns"] and r["epoch"] >= 2)
    received = next(r for r in records if r["kind"] == "token_received"
                    and r["epoch"] == passed["epoch"] and r["hop"] == passed["hop"])
    assert received["pos"] == (passed["pos"] + 1) % n
    middle = (passed["t_ns"] + received["t_ns"]) // 2
    open_page(browser, pages["kill"], f"t={ms_since_start(records, middle):.6f}")
    tokens = browser.find_elements("css selector", "#inflight .msg[data-kind='token']")
    assert [(t.get_attribute("data-src"), t.get_attribute("data-dst"),
             t.get_attribute("data-tag")) for t in tokens] == [
        (str(passed["pos"]), str(received["pos"]), f"e{passed['epoch']}")]
    # in flight: neither end holds it
    for pos in (passed["pos"], received["pos"]):
        assert node(browser, pos).get_attribute("data-holds") == ""

    # one event later (the receipt) the receiver holds it and nothing is in flight
    open_page(browser, pages["kill"], f"t={ms_since_start(records, received['t_ns']):.6f}")
    assert node(browser, received["pos"]).get_attribute("data-holds") == str(passed["epoch"])
    assert not browser.find_elements("css selector", "#inflight .msg[data-kind='token']")


def test_the_leader_of_the_last_round_is_marked(browser, pages):
    records = records_of(KILL_HOLDER)
    leader = [r for r in records if r["kind"] == "leader"][-1]
    open_page(browser, pages["kill"], f"t={ms_since_start(records, leader['t_ns']):.6f}")
    marked = browser.find_elements("css selector", "#ring g.node[data-role='leader']")
    assert [m.get_attribute("data-pos") for m in marked] == [str(leader["pos"])]
    assert marked[0].find_element("css selector", ".star").get_attribute("display") == "inline"
    assert marked[0].get_attribute("data-round") == str(leader["round"])


def test_a_stopped_holder_is_bypassed_with_its_stale_token_which_is_fenced_on_waking(
        browser, pages):
    records = records_of(PAUSE_HOLDER)
    stop = next(r for r in records if r["kind"] == "fault" and r["fault"] == "SIGSTOP")
    bypassed = next(r for r in records if r["kind"] == "bypassed")
    new_epoch = next(r for r in records if r["kind"] == "token_created"
                     and r["t_ns"] > bypassed["t_ns"])
    wake = next(r for r in records if r["kind"] == "fault" and r["fault"] == "SIGCONT")
    fenced = next(r for r in records if r["kind"] == "token_fenced" and r["t_ns"] > wake["t_ns"])
    assert stop["pos"] == bypassed["pos"] == wake["pos"]
    asleep = (new_epoch["t_ns"] + wake["t_ns"]) // 2
    open_page(browser, pages["pause"], f"t={ms_since_start(records, asleep):.6f}")
    shown = node(browser, stop["pos"])
    assert shown.get_attribute("data-life") == "stopped"
    assert shown.get_attribute("data-bypassed") == "true"
    assert shown.get_attribute("data-holds") == str(fenced["epoch"])     # the old token
    badge = shown.find_element("css selector", ".tokenbadge")
    assert "stale" in badge.get_attribute("class")
    assert browser.find_elements("css selector", "#bypasslinks path")   # the splice

    open_page(browser, pages["pause"], f"t={ms_since_start(records, fenced['t_ns']):.6f}")
    assert all(node(browser, pos).get_attribute("data-holds") != str(fenced["epoch"])
               for pos in range(max(r["pos"] for r in records) + 1))
    assert int(node(browser, fenced["pos"]).get_attribute("data-fence")) >= new_epoch["epoch"]


def test_clicking_the_diagram_moves_the_cursor_and_the_address(browser, pages):
    from selenium.webdriver.common.action_chains import ActionChains
    open_page(browser, pages["kill"])
    canvas = browser.find_element("id", "diagram")
    width = canvas.size["width"]
    seen = []
    for fraction in (0.3, 0.7):
        x = int(width * fraction)
        ActionChains(browser).move_to_element_with_offset(
            canvas, x - width // 2, 0).click().perform()
        wait_until(browser, lambda: float(browser.find_element("id", "cursor")
                                          .get_attribute("data-x")) > 0, "the cursor")
        cursor_x = float(browser.find_element("id", "cursor").get_attribute("data-x"))
        assert abs(cursor_x - x) <= 2.5, (cursor_x, x)
        shown_ms = clock_ms(browser)
        wait_until(browser, lambda: round(float(fragment_of(browser).get("t", -1)), 3)
                   == shown_ms, "the address to hold the cursor's instant")
        seen.append(shown_ms)
    assert seen[0] < seen[1]
    # the address opens the same moment
    clock = browser.find_element("id", "clock").text
    open_page(browser, pages["kill"], "t=" + fragment_of(browser)["t"])
    assert browser.find_element("id", "clock").text == clock


def test_keys_step_event_by_event_and_to_the_next_fault(browser, pages):
    from selenium.webdriver.common.keys import Keys
    from harness.teach.view.model import GROUPS
    records = records_of(KILL_HOLDER)
    faults = [i for i, r in enumerate(records) if r["kind"] in GROUPS["fault"]]
    assert records[faults[0]]["kind"] == "fault"
    open_page(browser, pages["kill"])
    body = browser.find_element("tag name", "body")
    body.send_keys("f")
    wait_until(browser, lambda: fragment_of(browser).get("e") == str(faults[0]), "first fault")
    assert "fault" in browser.find_element("id", "eventline").text
    body.send_keys("f")
    wait_until(browser, lambda: fragment_of(browser).get("e") == str(faults[1]), "next fault")
    body.send_keys("F")
    wait_until(browser, lambda: fragment_of(browser).get("e") == str(faults[0]),
               "previous fault")
    body.send_keys(Keys.ARROW_RIGHT)
    wait_until(browser, lambda: fragment_of(browser).get("e") == str(faults[0] + 1),
               "one event on")
    body.send_keys(Keys.ARROW_LEFT)
    wait_until(browser, lambda: fragment_of(browser).get("e") == str(faults[0]),
               "one event back")


def test_play_moves_time_forward_and_pause_stops_it(browser, pages):
    open_page(browser, pages["kill"], "t=0")
    body = browser.find_element("tag name", "body")
    body.send_keys(" ")
    wait_until(browser, lambda: float(fragment_of(browser).get("t", 0)) > 0, "time to move")
    body.send_keys(" ")
    assert browser.find_element("id", "play").text == "▶"


def test_search_looks_at_every_event_and_enter_jumps_to_the_next(browser, pages):
    from selenium.webdriver.common.keys import Keys
    records = records_of(KILL_HOLDER)
    leaders = [i for i, r in enumerate(records) if r["kind"] == "leader"]
    open_page(browser, pages["kill"])
    box = browser.find_element("id", "search")
    box.send_keys("kind:leader")
    box.send_keys(Keys.ENTER)
    wait_until(browser, lambda: fragment_of(browser).get("e") == str(leaders[0]),
               "the first leader")
    assert f"{len(leaders)}" in browser.find_element("id", "searchinfo").text
    box.send_keys(Keys.ENTER)
    wait_until(browser, lambda: fragment_of(browser).get("e") == str(leaders[1]),
               "the second leader")
    # by node and round: the candidates of round 2 at one node
    pos = records[leaders[1]]["pos"]
    box.clear()
    box.send_keys(f"node:{pos} round:2")
    want = [i for i, r in enumerate(records) if r["pos"] == pos and r.get("round") == 2]
    wait_until(browser, lambda: browser.find_element("id", "searchinfo").text.startswith(
        f"{len(want)} matching"), "the count of matches")


def test_a_node_panel_shows_its_state_and_its_log_up_to_the_cursor(browser, pages):
    records = records_of(KILL_HOLDER)
    _, _, restarted = the_kill(records)
    victim = restarted["pos"]
    instant = restarted["t_ns"] + 1000
    open_page(browser, pages["kill"], f"t={ms_since_start(records, instant):.6f}")
    node(browser, victim).find_element("css selector", "circle.body").click()
    panel = browser.find_element("id", "nodepanel")
    wait_until(browser, lambda: panel.is_displayed(), "the node panel")
    assert f"{restarted['pid']}" in panel.find_element(
        "css selector", "td[data-field='pid']").text
    rows = panel.find_elements("css selector", ".log [data-i]")
    mine = [i for i, r in enumerate(records) if r["pos"] == victim and r["t_ns"] <= instant]
    assert [int(r.get_attribute("data-i")) for r in rows] == mine[-300:]
    assert fragment_of(browser).get("node") == str(victim)
    # a row of the log is a link to its instant
    rows[0].click()
    wait_until(browser, lambda: fragment_of(browser).get("e") == str(mine[0]), "the row's event")


def test_the_checker_verdict_links_each_violation_to_its_instant(browser, pages, screenshots):
    open_page(browser, pages["counterexample"])
    verdict = browser.find_element("id", "verdict")
    assert "bad" in verdict.get_attribute("class")
    assert "termination" in verdict.text
    link = verdict.find_element("css selector", "a[data-t]")
    link.click()
    wait_until(browser, lambda: "e" in fragment_of(browser), "the violation's instant")
    t_ms = float(fragment_of(browser)["t"])
    assert abs(t_ms * 1e6 - float(link.get_attribute("data-t"))) < 1
    browser.save_screenshot(str(screenshots / "view-counterexample.png"))


def test_64_nodes_all_drawn_and_hiding_and_highlighting_work(browser, pages, screenshots):
    open_page(browser, pages["big"])
    assert len(browser.find_elements("css selector", "#ring g.node")) == 64
    note = browser.find_element("id", "diagnote")
    assert "64/64 nodes shown" in note.text
    hide = browser.find_element("id", "hide")
    hide.send_keys("16-63")
    wait_until(browser, lambda: "16/64 nodes shown" in note.text, "58 rows hidden")
    assert len(browser.find_elements("css selector", "#ring g.node.hidden")) == 48
    highlight = browser.find_element("id", "highlight")
    highlight.send_keys("3,5")
    wait_until(browser, lambda: len(browser.find_elements(
        "css selector", "#ring g.node.hl")) == 2, "two highlighted nodes")
    browser.save_screenshot(str(screenshots / "view-64.png"))


def test_the_page_loads_nothing_from_anywhere(browser, pages):
    open_page(browser, pages["kill"])
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched == []
    assert console_errors(browser) == []


def test_a_replacement_s_links_show_why_they_are_down(browser, tmp_path, screenshots):
    """Given a fresh kill-holder run, when the cursor is just after the replacement
    started (outside the ring, with no links yet), then its panel says its links
    are down because it started without them, not that it read EOF."""
    trace, page = tmp_path / "kill.jsonl", tmp_path / "kill.html"
    done = ringemu("trace", "--scenario", "kill-holder", "--nodes", "5", "--seed", "3",
                   "--out", str(tmp_path / "kill.svg"), "--trace", str(trace),
                   "--view", str(page))
    assert done.returncode == 0, done.stderr
    records = records_of(trace)
    _, _, restarted = the_kill(records)
    rejoined = next(r for r in records if r["kind"] == "rejoined"
                    and r["pid"] == restarted["pid"])
    unwired = [r for r in records if r["kind"] == "link_down" and r["pid"] == restarted["pid"]
               and r["t_ns"] < rejoined["t_ns"]]  # later ones: the run's orderly end
    assert sorted((r["side"], r["cause"]) for r in unwired) == [
        ("left", "never_wired"), ("right", "never_wired")]
    instant = max(r["t_ns"] for r in unwired) + 1000
    open_page(browser, page, f"t={ms_since_start(records, instant):.6f}")
    node(browser, restarted["pos"]).find_element("css selector", "circle.body").click()
    panel = browser.find_element("id", "nodepanel")
    wait_until(browser, lambda: panel.is_displayed(), "the node panel")
    links = panel.find_element("css selector", "td[data-field='links']").text
    assert links == "left DOWN (started without it), right DOWN (started without it)"
    browser.save_screenshot(str(screenshots / "view-unwired.png"))
    assert console_errors(browser) == []
