"""How responsive is the view page on a big trace? Build it, open it in headless
Chromium, and time loading, scrubbing, stepping, redrawing and searching.

    .venv/bin/python scripts/measure_view.py TRACE.jsonl [--samples 60]

Every number is measured in this one run on this machine; see BENCHMARKS.md.
Scrubbing is timed in the page from the new instant to the second animation frame
after it (so the ring's DOM update, style, layout and paint are all inside).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from harness.tracefile import read_trace  # noqa: E402
from harness.teach.view import write_html  # noqa: E402

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1500,900")

_SCRUB = """
const [instants, done] = [arguments[0], arguments[arguments.length - 1]];
const took = [];
(async () => {
  for (const t of instants) {
    const t0 = performance.now();
    ringview.setTime(t);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    took.push(performance.now() - t0);
  }
  done(took);
})();
"""


def summary(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   max {values[-1]:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace")
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    t0 = time.perf_counter()
    records = read_trace(args.trace)
    t1 = time.perf_counter()
    page = os.path.join(tempfile.mkdtemp(), "view.html")
    write_html(records, page, title=os.path.basename(args.trace))
    t2 = time.perf_counter()
    print(f"machine          {os.cpu_count()} CPUs, load average "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()) + " (1, 5, 15 min)")
    print(f"trace            {len(records)} events, {os.path.getsize(args.trace) / 1e6:.1f} MB")
    print(f"read             {(t1 - t0) * 1000:7.0f} ms")
    print(f"build page       {(t2 - t1) * 1000:7.0f} ms  ({os.path.getsize(page) / 1e6:.1f} MB)")

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS + (f"--user-data-dir={tempfile.mkdtemp()}",):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_script_timeout(300)
        loads = []
        for _ in range(3):
            driver.get("about:blank")
            start = time.perf_counter()
            driver.get("file://" + page)
            while driver.execute_script("return document.body.dataset.ready") != "true":
                time.sleep(0.01)
            loads.append((time.perf_counter() - start) * 1000)
        in_page = driver.execute_script("return ringview.loadMs")
        print(f"load (to ready)  {summary(loads)}   (in page: {in_page:.0f} ms since navigation)")
        span = driver.execute_script("return ringview.timeOf(ringview.uEnd)")
        rng = random.Random(1)
        instants = [rng.uniform(0, span) for _ in range(args.samples)]
        took = driver.execute_async_script(_SCRUB, instants)
        print(f"scrub (random)   {summary(took)}   (to the second frame after: 2 frames = 33 ms)")
        script = driver.execute_script("""
            const took = [];
            for (const t of arguments[0]) { const t0 = performance.now(); ringview.setTime(t); took.push(performance.now() - t0); }
            return took;""", instants)
        print(f"scrub (script)   {summary(script)}   (state fold, ring DOM, cursor)")
        n = driver.execute_script("return ringview.events")
        starts = [rng.randrange(n - 2) for _ in range(args.samples)]
        steps = driver.execute_script("""
            const took = [];
            for (const i of arguments[0]) {
              ringview.setIndex(i);
              const t0 = performance.now(); ringview.setIndex(i + 1); took.push(performance.now() - t0);
            }
            return took;""", starts)
        print(f"step (next evt)  {summary(steps)}   (script only)")
        draws = driver.execute_async_script("""
            const done = arguments[arguments.length - 1], took = [];
            (async () => {
              for (let j = 0; j < 10; j++) {
                const t0 = performance.now();
                ringview.redraw();
                await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
                took.push(performance.now() - t0);
              }
              done([took, ringview.drawStats()]);
            })();""")
        print(f"diagram (whole)  {summary(draws[0])}   ({draws[1]['messages']} messages drawn, "
              f"{draws[1]['skipped']} merged; to the second frame after)")
        searches = driver.execute_script("""
            const took = [], found = [];
            for (const q of ["kind:fenced", "node:3 kind:token_received", "round:1", "epoch:1 hop:7"]) {
              const t0 = performance.now(); found.push(ringview.search(q)); took.push(performance.now() - t0);
            }
            ringview.search("");
            return [took, found];""")
        print(f"search (all ev.) {summary(searches[0])}   (matches {searches[1]})")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
