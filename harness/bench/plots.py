"""PNG charts of a bench document (matplotlib, the optional extra ``plot``)."""
from __future__ import annotations

import importlib.util
import os


def matplotlib_missing() -> bool:
    return importlib.util.find_spec("matplotlib") is None


def write_plots(document: dict, directory: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    sections = document["sections"]
    written = []
    for name, draw in (("transport", _transport), ("elections", _elections),
                       ("recovery", _recovery), ("restart", _restart), ("scale", _scale),
                       ("campaign", _campaign)):
        if name not in sections:
            continue
        if name == "elections" and "comparison" in sections[name]:
            figure = pyplot.figure(figsize=(12, 5.5))
            try:
                _election_algorithms(figure, sections[name]["comparison"])
                figure.tight_layout()
                path = os.path.join(directory, "bench-election-algorithms.png")
                figure.savefig(path, dpi=110)
                written.append(path)
            finally:
                pyplot.close(figure)
        figure = pyplot.figure(figsize=(10, 7 if name == "transport" else 5.5))
        try:
            draw(figure, sections[name])
            figure.tight_layout()
            path = os.path.join(directory, f"bench-{name}.png")
            figure.savefig(path, dpi=110)
            written.append(path)
        finally:
            pyplot.close(figure)
    return written


def _errors(summary: dict) -> tuple[float, float]:
    return summary["median"] - summary["q1"], summary["q3"] - summary["median"]


def _transport(figure, section: dict) -> None:
    axes = figure.add_subplot()
    rows = section["rows"]
    labels = [f"{r['what']}" + (f" (N={r['nodes']})" if r["nodes"] > 2 else "")
              + (f", {r['placement']}" if "placement" in r else "") for r in rows]
    medians = [r["hop_us"]["median"] for r in rows]
    low, high = zip(*(_errors(r["hop_us"]) for r in rows))
    axes.barh(range(len(rows)), medians, xerr=[low, high], color="tab:blue", alpha=0.8)
    axes.set_yticks(range(len(rows)), labels)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("one hop, µs (median, bars: interquartile range; log scale)")
    axes.set_title("Token hop vs raw pipes, same run")


def _elections(figure, section: dict) -> None:
    axes = figure.add_subplot()
    colours = {"ascending": "tab:green", "descending": "tab:red", "random": "tab:blue",
               "random (mean)": "tab:purple"}
    for kind, colour in colours.items():
        rows = sorted((r for r in section["rows"] if r["arrangement"] == kind),
                      key=lambda r: (r["nodes"], r["seed"] or 0))
        if not rows:
            continue
        if kind != "random":
            axes.plot([r["nodes"] for r in rows], [r["closed_form_total"] for r in rows],
                      "-", color=colour, alpha=0.6,
                      label={"ascending": "2n-1+n", "descending": "n(n+1)/2+n",
                             "random (mean)": "n·H_n+n"}[kind])
        axes.plot([r["nodes"] for r in rows], [r["sim_total"] for r in rows], "o",
                  color=colour, fillstyle="none", label=f"simulator, {kind}")
        real = [r for r in rows if r["real_total"] is not None]
        if real:
            axes.plot([r["nodes"] for r in real], [r["real_total"] for r in real], "x",
                      color=colour, markersize=9, label=f"real ring, {kind}")
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("nodes (all candidates)")
    axes.set_ylabel("messages per round (Candidate + Elected)")
    axes.set_title("Chang-Roberts cost: closed forms, simulator, real ring")
    axes.legend(fontsize=7, ncol=2)


ALGORITHM_COLOURS = {"cr": "tab:blue", "lelann": "tab:red", "hs": "tab:green",
                     "franklin": "tab:orange", "peterson": "tab:purple"}


def _election_algorithms(figure, comparison: dict) -> None:
    """Messages per round against N, one panel per arrangement: n² versus n log n."""
    import math
    sizes = comparison["sizes"]
    for index, kind in enumerate(("random", "descending")):
        axes = figure.add_subplot(1, 2, index + 1)
        axes.plot(sizes, [n * n for n in sizes], ":", color="gray", label="n²")
        axes.plot(sizes, [2 * n * math.log2(n) for n in sizes], "--", color="gray",
                  label="2n lg n")
        for name in comparison["algorithms"]:
            rows = sorted((r for r in comparison["rows"]
                           if r["algorithm"] == name and r["arrangement"] == kind),
                          key=lambda r: r["nodes"])
            colour = ALGORITHM_COLOURS.get(name, "black")
            axes.plot([r["nodes"] for r in rows], [r["messages"] for r in rows], "o-",
                      color=colour, fillstyle="none", label=f"{name} (simulator)")
            real = [r for r in rows if r["real_messages"] is not None]
            if real:
                axes.plot([r["nodes"] for r in real], [r["real_messages"] for r in real],
                          "x", color=colour, markersize=10, markeredgewidth=2,
                          label=f"{name} (real ring)")
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xlabel("nodes (all candidates)")
        axes.set_ylabel("messages per round (announcement included)")
        axes.set_title(f"IDs {kind}" + (" (Chang–Roberts' worst case)"
                                        if kind == "descending" else " (seeded)"))
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=7, ncol=2)


def _recovery(figure, section: dict) -> None:
    axes = figure.add_subplot()
    rows = section["rows"]
    labels = [f"N={r['nodes']}\n{r['state_dir']}\n{r['reporting']}" for r in rows]
    bottom = [0.0] * len(rows)
    for key, colour in (("snapshot", "tab:orange"), ("lead", "tab:gray"),
                        ("election_without_lead", "tab:blue"), ("regeneration", "tab:green")):
        values = [r[key]["ms"]["median"] / (r["hop_us"]["median"] / 1e3) / r["nodes"]
                  for r in rows]
        axes.bar(range(len(rows)), values, bottom=bottom, color=colour,
                 label=key.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, values)]
    axes.plot(range(len(rows)), [2.5] * len(rows), "k_", markersize=40,
              label="floor: N/2 + 2N hops")
    axes.plot(range(len(rows)), [7.5] * len(rows), "r_", markersize=40, label="goal: 3x floor")
    axes.set_xticks(range(len(rows)), labels)
    axes.set_ylabel("phase length, in units of N hops (measured hop)")
    axes.set_title("Recovery after a token loss (detection not shown)")
    axes.legend(fontsize=8)


def _restart(figure, section: dict) -> None:
    axes = figure.add_subplot()
    keys = ("bare_start_ms", "eof_ms", "reaped_ms", "start_to_running_ms", "rewired_ms",
            "token_ms")
    rows = section["rows"]
    width = 0.8 / max(1, len(rows))
    for index, row in enumerate(rows):
        positions = [k + index * width for k in range(len(keys))]
        axes.bar(positions, [row[k]["median"] for k in keys], width=width,
                 label=row["start_method"])
    axes.set_xticks([k + 0.4 - width / 2 for k in range(len(keys))],
                    ["bare start", "EOF", "reaped", "start→running", "rewired", "token"])
    axes.set_ylabel("ms after the SIGKILL (bare start: from Process.start)")
    axes.set_yscale("log")
    axes.set_title("Restart milestones, 8-node ring")
    axes.legend()


def _scale(figure, section: dict) -> None:
    left, right = figure.subplots(1, 2)
    rows = section["rows"]
    nodes = [r["nodes"] for r in rows]
    left.plot(nodes, [r["memory"]["uss_mib"]["median"] for r in rows], "o-", label="USS")
    left.plot(nodes, [r["memory"]["rss_mib"]["median"] for r in rows], "s-", label="RSS")
    left.set_xscale("log", base=2)
    left.set_xlabel("nodes")
    left.set_ylabel("MiB per node")
    left.legend()
    left.set_title("Memory per node")
    right.plot(nodes, [r["launch_ms"]["median"] for r in rows], "o-", label="launch per node")
    right.plot(nodes, [r["all_running_ms"] / r["nodes"] for r in rows], "s-",
               label="all running / N")
    right.set_xscale("log", base=2)
    right.set_xlabel("nodes")
    right.set_ylabel("ms per node")
    right.legend()
    right.set_title("Start cost per node")


def _campaign(figure, section: dict) -> None:
    axes = figure.add_subplot()
    rows = section["rows"] + [{"scenario": "(no fault)", **section["no_fault"]}]
    axes.bar(range(len(rows)), [r["per_minute"] for r in rows], color="tab:blue")
    axes.set_xticks(range(len(rows)), [r["scenario"] for r in rows])
    axes.set_ylabel("trials per minute (from the median trial)")
    axes.set_title("Chaos campaign throughput, N = 8")
