#!/usr/bin/env python3
"""Turns a bench-results directory into report.md plus one SVG chart per suite.

Reads every Google Benchmark JSON file (top-level "context" and "benchmarks") in --dir,
pairs each BM_<Impl>_<Case> with BM_Baseline_<Case> of the same file (the convention of
bench/ratio_reporter.h; the case keeps its suffixes such as /real_time/threads:2, so
impl and baseline only pair with the same suffix), and writes

  <dir>/report.md      machine description, one ratio table per suite, the peer section
  <dir>/<stem>.svg     horizontal bars of each suite's ratios, a line at 1.0
  <dir>/peer.svg       distkit GcraLimiter (and HybridSlidingWindowLimiter) checks/s vs
                       rate-limiter-flexible consumes/s

peer.json (from bench/peer/rate_limiter_flexible_bench.js) and redis_ceiling.json (the
server's own rate for the GCRA script and an empty one, from run-benchmarks.sh) are
optional. Standard library
only, so it runs wherever python3 does.
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from xml.sax.saxutils import escape

PEER_FILE = "peer.json"
# The distkit side of the peer comparison: same shape (64 callers, one connection,
# every check allowed) as the peer benchmark.
PEER_DISTKIT_BENCHMARK = "BM_GcraLimiter_RedisCheck"
PEER_DISTKIT_FILE = "gcra_bench.json"
PEER_TARGET = 2.5  # distkit throughput / peer throughput the issue asks for
# distkit's local-first limiter on the same workload: a row of its own (not the same
# guarantee as GCRA: a bounded overshoot per instance).
PEER_HYBRID_BENCHMARK = "BM_HybridWindow_RedisCheck"
# redis-benchmark's server-side ceiling for one script per check (run-benchmarks.sh).
CEILING_FILE = "redis_ceiling.json"

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def warn(message):
    print(f"bench-report: warning: {message}", file=sys.stderr)


def die(message):
    print(f"bench-report: {message}", file=sys.stderr)
    sys.exit(1)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------- inputs


class Measurement:
    """One benchmark's time per item in ns. per_item is False when the benchmark set no
    items_per_second and the number is real time per iteration instead."""

    def __init__(self, name, ns, per_item, items_per_second):
        self.name = name
        self.ns = ns
        self.per_item = per_item
        self.items_per_second = items_per_second


def measure(entry):
    """Time per item in ns of one benchmark entry, or None if it has no usable time."""
    ips = entry.get("items_per_second")
    if is_number(ips) and ips > 0:
        return 1e9 / ips, True, ips
    real = entry.get("real_time")
    unit = UNIT_NS.get(entry.get("time_unit", "ns"))
    if is_number(real) and real > 0 and unit is not None:
        return real * unit, False, None
    return None


class Suite:
    """One Google Benchmark JSON file."""

    def __init__(self, path, data):
        self.path = path
        self.file = os.path.basename(path)
        self.stem = os.path.splitext(self.file)[0]
        self.context = data["context"] if isinstance(data["context"], dict) else {}
        self.measurements = []  # in the order the file lists them
        self.failed = []  # (name, message) of benchmarks that errored or were skipped
        self._collect(data["benchmarks"])

    def _collect(self, entries):
        # With --benchmark_repetitions a name appears once per repetition (and again as
        # aggregates): take the median of the repetitions, else the median aggregate,
        # else the mean one.
        order, runs, aggregates = [], {}, {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            name = entry.get("run_name") or entry["name"]
            if entry.get("error_occurred") or entry.get("skipped"):
                message = entry.get("error_message") or entry.get("skip_message") or "skipped"
                if name not in [n for n, _ in self.failed]:
                    self.failed.append((name, message))
                continue
            m = measure(entry)
            if m is None:
                continue
            if name not in order:
                order.append(name)
            if entry.get("run_type") == "aggregate":
                if entry.get("aggregate_unit", "time") == "time":
                    aggregates.setdefault(name, {})[entry.get("aggregate_name")] = m
            else:
                runs.setdefault(name, []).append(m)
        for name in order:
            if name in runs:
                ns = statistics.median(r[0] for r in runs[name])
                per_item = all(r[1] for r in runs[name])
                ips = 1e9 / ns if per_item else None
                self.measurements.append(Measurement(name, ns, per_item, ips))
            else:
                agg = aggregates[name].get("median") or aggregates[name].get("mean")
                if agg is not None:
                    self.measurements.append(Measurement(name, *agg))

    def rows(self):
        """(impl, case, measurement, baseline measurement or None) for every non-baseline
        benchmark, split as ratio_reporter.h splits names: BM_<Impl>_<Case>."""
        baselines, others = {}, []
        for m in self.measurements:
            parts = m.name.split("_", 2)
            if len(parts) < 3:
                others.append((m.name, "", m))
            elif parts[1] == "Baseline":
                baselines[parts[2]] = m
            else:
                others.append((parts[1], parts[2], m))
        return [(impl, case, m, baselines.get(case)) for impl, case, m in others]

    def find(self, base_name):
        """The measurement whose name is base_name, with or without /suffixes."""
        for m in self.measurements:
            if m.name == base_name or m.name.split("/", 1)[0] == base_name:
                return m
        return None


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        warn(f"skipping {path}: not readable JSON ({e})")
        return None


def load_results(directory):
    suites, peer, ceiling = [], None, None
    names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    for name in names:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        data = load_json(path)
        if data is None:
            continue
        if name == PEER_FILE:
            if isinstance(data, dict) and is_number(data.get("items_per_second")) \
                    and data["items_per_second"] > 0:
                peer = data
            else:
                warn(f"skipping {path}: no positive items_per_second in it")
            continue
        if name == CEILING_FILE:
            keys = ("empty_script_per_second", "gcra_script_per_second")
            if isinstance(data, dict) and all(is_number(data.get(k)) and data[k] > 0 for k in keys):
                ceiling = data
            else:
                warn(f"skipping {path}: wants positive {' and '.join(keys)}")
            continue
        if not (isinstance(data, dict) and "context" in data
                and isinstance(data.get("benchmarks"), list)):
            warn(f"skipping {path}: not Google Benchmark JSON (no context and benchmarks)")
            continue
        suites.append(Suite(path, data))
    return suites, peer, ceiling


# ------------------------------------------------------------------ machine section


def command_output(argv, cwd=None):
    """First line of a command's output; "not found" when the tool is missing."""
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        return "not found"
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e.__class__.__name__})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    if done.returncode != 0:
        return f"unavailable ({lines[0] if lines else 'exit ' + str(done.returncode)})"
    return lines[0] if lines else "unavailable (no output)"


def proc_field(path, key):
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                field, _, value = line.partition(":")
                if field.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def memory_total():
    kb = proc_field("/proc/meminfo", "MemTotal")
    try:
        return f"{int(kb.split()[0]) / (1024 * 1024):.1f} GiB"
    except (AttributeError, ValueError, IndexError):
        return "not found"


def git_commit():
    commit = command_output(["git", "rev-parse", "--short", "HEAD"], cwd=REPO)
    if commit.startswith(("not found", "unavailable")):
        return commit
    # Benchmarks are often run on a work tree with changes; say so.
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=REPO, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        status = ""
    return commit + (" (with uncommitted changes)" if status.strip() else "")


def size_text(size):
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


def caches_text(caches):
    if not isinstance(caches, list) or not caches:
        return "not reported"
    parts = []
    for c in caches:
        if not isinstance(c, dict):
            continue
        text = f"L{c.get('level', '?')} {c.get('type', '')} {size_text(c.get('size', 0))}"
        if c.get("num_sharing", 1) > 1:
            text += f" (shared by {c['num_sharing']})"
        parts.append(text)
    return ", ".join(parts)


def machine_section(suites):
    ctx = suites[0].context
    hosts = sorted({str(s.context.get("host_name", "?")) for s in suites})
    load = ctx.get("load_avg")
    load_text = " ".join(f"{x:.2f}" for x in load if is_number(x)) if isinstance(load, list) else "not reported"
    build_type = ctx.get("library_build_type", "not reported")
    items = [
        ("Host", ", ".join(hosts) + ("  (the suites ran on different hosts!)" if len(hosts) > 1 else "")),
        ("CPUs", f"{ctx.get('num_cpus', '?')} at {ctx.get('mhz_per_cpu', '?')} MHz"
                 + ("; frequency scaling on" if ctx.get("cpu_scaling_enabled") else "")),
        ("CPU model", proc_field("/proc/cpuinfo", "model name") or "not found"),
        ("Caches", caches_text(ctx.get("caches"))),
        ("Load average at start (1, 5, 15 min)", load_text + f" (from {suites[0].file})"),
        ("Memory", memory_total()),
        ("Kernel", command_output(["uname", "-srm"])),
        ("Google Benchmark library build", str(build_type)
         + (" (the benchmark library itself, not distkit's code, which `make bench` builds "
            "optimised)" if build_type == "debug" else "")),
        ("redis-server", command_output(["redis-server", "--version"])),
        ("node", command_output(["node", "--version"])),
        ("g++", command_output(["g++", "--version"])),
        ("distkit commit", git_commit()),
    ]
    lines = ["## Machine", ""]
    lines += [f"- **{k}:** {md(v)}" for k, v in items]
    return lines


# ------------------------------------------------------------------------- formatting


def md(text):
    """Text safe inside a markdown table cell or list item."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def time_text(ns):
    for unit, factor in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= factor:
            return f"{ns / factor:.3g} {unit}"
    return f"{ns:.3g} ns"


def rate_text(per_second):
    for unit, factor in (("M", 1e6), ("k", 1e3)):
        if per_second >= factor:
            return f"{per_second / factor:.3g}{unit}/s"
    return f"{per_second:.3g}/s"


def ratio_text(ratio):
    return f"{ratio:.2f}" if ratio < 10 else f"{ratio:.1f}"


# ------------------------------------------------------------------------------- SVG

BOLD = 'font-weight="bold"'


def font(size=12, extra=""):
    # Generic families only: the SVG must render without fetching anything.
    return (f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="{size}"'
            + (" " + extra if extra else ""))


CHAR_WIDTH = 7.0  # rough width of one 12 px character; there is no text metrics API here


def nice_step(span, ticks=5):
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def svg_document(width, height, body, title):
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        *body,
        "</svg>",
        "",
    ])


def bar_chart(title, subtitle, bars, marker, axis_label, value_format):
    """Horizontal bars from 0. bars: (label, value, colour, tooltip); marker: (value,
    label) of a dashed vertical line, or None."""
    bar_h, gap, top = 22, 8, 74  # top leaves room for title, subtitle and marker label
    label_w = min(420, int(max(len(b[0]) for b in bars) * CHAR_WIDTH) + 16)
    plot_w = 420
    value_w = 90  # room for the number printed after the longest bar
    width = label_w + plot_w + value_w
    height = top + len(bars) * (bar_h + gap) + 44
    biggest = max([b[1] for b in bars] + ([marker[0]] if marker else []))
    step = nice_step(biggest * 1.05)
    scale_max = step * math.ceil(biggest * 1.05 / step)
    x = lambda v: label_w + plot_w * v / scale_max  # noqa: E731
    plot_bottom = top + len(bars) * (bar_h + gap)

    body = [
        f'<text x="12" y="22" {font(15, BOLD)}>{escape(title)}</text>',
        f'<text x="12" y="42" {font()} fill="#555555">{escape(subtitle)}</text>',
    ]
    tick = 0.0
    while tick <= scale_max + step / 1000:
        tx = x(tick)
        body.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{plot_bottom}" '
                    f'stroke="#e4e4e4"/>')
        body.append(f'<text x="{tx:.1f}" y="{plot_bottom + 16}" {font(11)} '
                    f'text-anchor="middle" fill="#555555">{escape(value_format(tick, True))}</text>')
        tick += step
    body.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{plot_bottom + 34}" {font()} '
                f'text-anchor="middle" fill="#555555">{escape(axis_label)}</text>')
    for i, (label, value, colour, tooltip) in enumerate(bars):
        y = top + i * (bar_h + gap)
        w = max(x(value) - label_w, 1.0)
        body.append(f"<g><title>{escape(tooltip)}</title>")
        body.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" {font()} '
                    f'text-anchor="end">{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                    f'fill="{colour}"/>')
        body.append(f'<text x="{label_w + w + 5:.1f}" y="{y + bar_h * 0.7:.1f}" {font()}>'
                    f"{escape(value_format(value, False))}</text>")
        body.append("</g>")
    if marker:
        mx = x(marker[0])
        body.append(f'<line x1="{mx:.1f}" y1="{top - 10}" x2="{mx:.1f}" y2="{plot_bottom}" '
                    f'stroke="#222222" stroke-width="1.5" stroke-dasharray="5,3"/>')
        body.append(f'<text x="{mx + 4:.1f}" y="{top - 12}" {font(11)}>'
                    f"{escape(marker[1])}</text>")
    return svg_document(width, height, body, title)


FASTER, SLOWER = "#3a8d5c", "#d0743c"


def suite_chart(suite, rows):
    bars = []
    for impl, case, m, base in rows:
        ratio = m.ns / base.ns
        bars.append((f"{impl} {case}", ratio, FASTER if ratio < 1 else SLOWER,
                     f"{impl} {case}: {time_text(m.ns)} vs baseline {time_text(base.ns)}"))
    return bar_chart(
        f"{suite.stem}: time per item relative to the baseline",
        "< 1 (green) is faster than BM_Baseline_<Case> of the same run; > 1 (orange) slower",
        bars, (1.0, "1.0 = baseline"), "ratio (impl / baseline)",
        lambda v, axis: (f"{v:g}" if axis else ratio_text(v)))


def peer_chart(distkit_bars, peer):
    """distkit_bars: (label, checks per second) pairs."""
    peer_ips = peer["items_per_second"]
    bars = [(label, ips, FASTER, f"{label}: {rate_text(ips)}") for label, ips in distkit_bars]
    bars += [
        (f"rate-limiter-flexible {peer.get('rate_limiter_flexible_version', '?')} + ioredis "
         f"{peer.get('ioredis_version', '?')}", peer_ips,
         "#6b7fa8", f"RateLimiterRedis.consume via ioredis {peer.get('ioredis_version', '?')}: "
                    f"{rate_text(peer_ips)}"),
    ]
    return bar_chart(
        "Rate-limit checks per second against a local redis-server",
        f"{peer.get('callers', '?')} concurrent callers, one connection, every check allowed",
        bars, (PEER_TARGET * peer_ips, f"target {PEER_TARGET:g}x peer"), "checks per second",
        lambda v, axis: rate_text(v) if v > 0 else "0")


# ---------------------------------------------------------------------------- report


def suite_section(suite, directory, written):
    rows = suite.rows()
    date = suite.context.get("date", "unknown date")
    load = suite.context.get("load_avg")
    # The load at the start of each suite says how busy the machine was for its numbers.
    load_text = (", load average " + " ".join(f"{x:.2f}" for x in load if is_number(x))
                 if isinstance(load, list) and load else "")
    lines = [f"## {suite.stem}", "", f"From `{suite.file}`, run {date}{load_text}.", ""]
    if not suite.measurements:
        lines += ["No benchmark in this file has a usable time.", ""]
    paired = [r for r in rows if r[3] is not None and r[3].ns > 0]
    if paired:
        svg = f"{suite.stem}.svg"
        write(os.path.join(directory, svg), suite_chart(suite, paired))
        written.append(svg)
        lines += [f"![{suite.stem}: ratio to baseline per implementation and case]({svg})", ""]
    if rows:
        lines += ["| Impl | Case | Time per item | Baseline time per item | Ratio |",
                  "|---|---|---:|---:|---:|"]
        per_iteration = False
        for impl, case, m, base in rows:
            mark = "" if m.per_item and (base is None or base.per_item) else " †"
            per_iteration |= bool(mark)
            base_text = time_text(base.ns) if base else "no baseline"
            ratio = ratio_text(m.ns / base.ns) if base and base.ns > 0 else "–"
            lines.append(f"| {md(impl)} | `{md(case)}` | {time_text(m.ns)} | {base_text} | "
                         f"{ratio}{mark} |")
        lines.append("")
        if per_iteration:
            lines += ["† one side reports no items_per_second, so its time is real time per "
                      "iteration, not per item.", ""]
    elif suite.measurements:
        lines += ["No BM_<Impl>_<Case> benchmarks besides baselines.", ""]
    for name, message in suite.failed:
        lines.append(f"- `{md(name)}` did not run: {md(message)}")
    if suite.failed:
        lines.append("")
    return lines


def peer_section(suites, peer, ceiling, directory, written):
    lines = ["## Peer: rate-limiter-flexible", ""]
    if peer is None:
        return lines + [f"No `{PEER_FILE}`: run bench/peer/rate_limiter_flexible_bench.js "
                        f"with `--out <dir>/{PEER_FILE}` to compare with it.", ""]
    # gcra_bench.json first, then any other suite that happens to carry the benchmark.
    ordered = sorted(suites, key=lambda s: s.file != PEER_DISTKIT_FILE)
    distkit = next((m for m in (s.find(PEER_DISTKIT_BENCHMARK) for s in ordered) if m), None)
    peer_ips = peer["items_per_second"]
    versions = (f"rate-limiter-flexible {peer.get('rate_limiter_flexible_version', '?')}, "
                f"ioredis {peer.get('ioredis_version', '?')}, node {peer.get('node_version', '?')}")
    shape = (f"{peer.get('callers', '?')} callers over {peer.get('keys', '?')} keys for "
             f"{peer.get('seconds', '?')} s, {peer.get('operations', '?')} consumes, "
             f"{peer.get('errors', '?')} errors")
    lines += [
        "The same workload on both sides: 64 concurrent callers on one connection to a local "
        "`redis-server`, 64 keys, a limit so high that every check is allowed and writes. "
        f"distkit is `{PEER_DISTKIT_BENCHMARK}` (`GcraLimiter::check` through `RedisClient`); "
        "the peer is `RateLimiterRedis.consume` of rate-limiter-flexible on ioredis "
        f"({versions}). Unlike the tables above this compares absolute throughputs of two "
        "runs, so both should come from the same machine and session.",
        "",
    ]
    if distkit is None or distkit.items_per_second is None:
        why = ("reports no items_per_second" if distkit else
               f"is in none of the suites (expected in `{PEER_DISTKIT_FILE}`)")
        return lines + [f"- rate-limiter-flexible: {rate_text(peer_ips)} ({md(shape)})",
                        f"- distkit: `{PEER_DISTKIT_BENCHMARK}` {why}, so there is no ratio.", ""]
    ratio = distkit.items_per_second / peer_ips
    verdict = "meets" if ratio >= PEER_TARGET else "misses"
    hybrid = next((m for m in (s.find(PEER_HYBRID_BENCHMARK) for s in ordered) if m), None)
    if hybrid is not None and not hybrid.items_per_second:
        hybrid = None
    bars = [("distkit GcraLimiter", distkit.items_per_second)]
    if hybrid:
        bars.append(("distkit HybridSlidingWindowLimiter", hybrid.items_per_second))
    write(os.path.join(directory, "peer.svg"), peer_chart(bars, peer))
    written.append("peer.svg")
    lines += [
        "![distkit vs rate-limiter-flexible checks per second](peer.svg)",
        "",
        "| Side | Checks per second | Time per check | / peer |",
        "|---|---:|---:|---:|",
        f"| distkit `{md(distkit.name)}` | {rate_text(distkit.items_per_second)} | "
        f"{time_text(1e9 / distkit.items_per_second)} | {ratio:.2f}x |",
    ]
    if hybrid:
        lines.append(
            f"| distkit `{md(hybrid.name)}` (local-first, bounded overshoot) | "
            f"{rate_text(hybrid.items_per_second)} | {time_text(1e9 / hybrid.items_per_second)} | "
            f"{hybrid.items_per_second / peer_ips:.2f}x |")
    lines += [
        f"| rate-limiter-flexible + ioredis | {rate_text(peer_ips)} | {time_text(1e9 / peer_ips)} "
        "| 1x |",
        "",
        f"**GcraLimiter / peer throughput: {ratio:.2f}x** — {verdict} the target of at least "
        f"{PEER_TARGET:g}x.",
        "",
        f"Peer run: {md(shape)}.",
        "",
    ]
    if hybrid:
        lines += [
            "The hybrid limiter decides most checks in the process (within a budget of 5% of "
            "its limit per instance, committing every 10 ms): the same job, a weaker guarantee "
            "(at most limit + (N - 1) x budget per window across N instances).",
            "",
        ]
    if ceiling:
        gcra_cap, empty_cap = ceiling["gcra_script_per_second"], ceiling["empty_script_per_second"]
        lines += [
            "### What one redis-server can execute",
            "",
            "`redis-benchmark` against the same server in the same run (4 connections, 16-deep "
            "pipelines), so the client is not the limit:",
            "",
            "| Script per call | Calls per second | / peer's end-to-end |",
            "|---|---:|---:|",
            f"| distkit's GCRA script (`core/lua/gcra.lua`) | {rate_text(gcra_cap)} | "
            f"{gcra_cap / peer_ips:.2f}x |",
            f"| an empty script (`return 1`) | {rate_text(empty_cap)} | "
            f"{empty_cap / peer_ips:.2f}x |",
            "",
            f"A limiter that runs one script per check cannot pass its script's row, whatever "
            f"the client does. At {PEER_TARGET:g}x the peer a check could cost the server at "
            f"most {time_text(1e9 / (PEER_TARGET * peer_ips))}; the GCRA script costs "
            f"{time_text(1e9 / gcra_cap)} and an empty one {time_text(1e9 / empty_cap)}. "
            f"`GcraLimiter` reaches {distkit.items_per_second / gcra_cap:.2f} of its script's "
            "ceiling.",
            "",
        ]
    if peer.get("errors"):
        lines += [f"The peer run had {peer['errors']} errors; its number is suspect.", ""]
    return lines


def write(path, text):
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        die(f"cannot write {path}: {e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default="bench-results",
                        help="results directory (default: bench-results)")
    args = parser.parse_args()
    directory = args.dir
    if not os.path.isdir(directory):
        die(f"{directory} is not a directory; run `make bench` first")
    suites, peer, ceiling = load_results(directory)
    if not suites:
        die(f"no Google Benchmark JSON files in {directory}; run `make bench` first")

    written = []
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "# distkit benchmark report",
        "",
        f"Generated {now} on {platform.node() or 'unknown host'} from `{directory}` "
        f"({len(suites)} suite{'s' if len(suites) != 1 else ''}"
        f"{', peer run' if peer else ''}).",
        "",
        "Every suite measures its baseline (`BM_Baseline_<Case>`) in the same process as the "
        "implementations (`BM_<Impl>_<Case>`, see `bench/ratio_reporter.h`). The ratio is the "
        "implementation's time per item divided by the baseline's: **below 1 is faster than "
        "the baseline**, above 1 slower. Absolute times on shared machines drift by tens of "
        "percent from run to run; the ratios are what compare across machines and runs.",
        "",
    ]
    lines += machine_section(suites)
    lines.append("")
    for suite in suites:
        lines += suite_section(suite, directory, written)
    lines += peer_section(suites, peer, ceiling, directory, written)
    write(os.path.join(directory, "report.md"), "\n".join(lines).rstrip("\n") + "\n")
    print(f"bench-report: wrote {os.path.join(directory, 'report.md')}"
          + (f" and {', '.join(written)}" if written else ""))


if __name__ == "__main__":
    main()
