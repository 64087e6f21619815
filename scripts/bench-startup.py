#!/usr/bin/env python3
"""Start-up time and memory of Issuance Desk beside a bare Tauri window.

Both are release builds made the same way. Each run starts the app on a virtual X
display, waits for its page to report "ready" (the UiReady event in Issuance Desk,
the same protocol in the bare window), then lets it settle and sums RSS and PSS
over the app and every process it spawned (WebKit web and network processes).

    python3 scripts/bench-startup.py [--runs 7] [--no-build]

Prints the medians with min–max, the PSS of each kind of process (the app's own, WebKit's web
and network processes), and RESULT lines that scripts/bench-all.sh collects.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = {
    "bare Tauri window": ROOT / "target/measure/bare-window",
    "Issuance Desk": ROOT / "target/measure/issuance-desk",
}


def children_of(pid):
    """All descendants of pid, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def process_kind(pid, root):
    """'app' for the app itself, else the WebKit helper's name (web, network, ...)."""
    if pid == root:
        return "app"
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "other"
    return {"WebKitWebProces": "web", "WebKitNetworkPr": "network"}.get(name, name)


def memory_kib(pids, root):
    """(RSS, PSS, {kind: PSS}) summed over pids, in KiB."""
    rss = pss = 0
    by_kind = {}
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
                kind = process_kind(pid, root)
                by_kind[kind] = by_kind.get(kind, 0) + int(line.split()[1])
    return rss, pss, by_kind


def one_run(binary, env, settle):
    # (WebKit may still be writing its shader cache as it exits: leftovers are not an error)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        ready_file = Path(tmp) / "ready"
        run_env = dict(env, ISSUANCE_DESK_READY_FILE=str(ready_file),
                       XDG_DATA_HOME=f"{tmp}/data", XDG_CONFIG_HOME=f"{tmp}/config",
                       XDG_CACHE_HOME=f"{tmp}/cache")
        start = time.time_ns()
        proc = subprocess.Popen([str(binary)], env=run_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while not (ready_file.exists() and ready_file.read_text().strip()):
                if proc.poll() is not None:
                    raise RuntimeError(f"{binary.name} exited with {proc.returncode} before ready")
                if time.time() > deadline:
                    raise RuntimeError(f"{binary.name} not ready within 60 s")
                time.sleep(0.005)
            ready_ms = (int(ready_file.read_text()) - start) / 1e6
            time.sleep(settle)
            rss, pss, by_kind = memory_kib(children_of(proc.pid), proc.pid)
            return ready_ms, rss / 1024, pss / 1024, {k: v / 1024 for k, v in by_kind.items()}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after ready before measuring memory")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--no-compositing", action="store_true",
                        help="run both apps with WEBKIT_DISABLE_COMPOSITING_MODE=1 (where the memory goes)")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["npm", "--prefix", "ui", "run", "build", "--silent"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--profile", "measure", "-p", "issuance-desk", "-p", "bare-window"],
                       cwd=ROOT, check=True)

    env = dict(os.environ)
    if args.no_compositing:
        env["WEBKIT_DISABLE_COMPOSITING_MODE"] = "1"
    xvfb = None
    if "DISPLAY" not in env:
        if not shutil.which("Xvfb"):
            sys.exit("Xvfb is missing: run scripts/setup.sh")
        display = ":97"
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env["DISPLAY"] = display
        time.sleep(1)
    try:
        results = {name: [] for name in APPS}
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            for name, binary in APPS.items():
                results[name].append(one_run(binary, env, args.settle))
    finally:
        if xvfb:
            xvfb.terminate()

    def values(name, i):
        return [r[i] for r in results[name]]

    def summary(name, i, unit):
        v = values(name, i)
        return f"{statistics.median(v):.0f} {unit} ({min(v):.0f}–{max(v):.0f})"

    base, app = "bare Tauri window", "Issuance Desk"
    mode = ", WebKit compositing off in both" if args.no_compositing else ""
    print(f"\nStart-up and memory, median (min–max) of {args.runs} interleaved runs "
          f"(release builds, Xvfb, {os.cpu_count()} cores{mode})\n")
    print("| app | exec → UI ready | RSS, all processes | PSS, all processes |")
    print("|---|---|---|---|")
    for name in APPS:
        print(f"| {name} | {summary(name, 0, 'ms')} | {summary(name, 1, 'MiB')} | {summary(name, 2, 'MiB')} |")
    ratios = []
    for i in range(3):
        # Ratio of the medians, and the range of the per-pair ratios (run k of each app).
        pairs = [a[i] / b[i] for a, b in zip(results[app], results[base])]
        ratios.append((statistics.median(values(app, i)) / statistics.median(values(base, i)), min(pairs), max(pairs)))
    print("| ratio (desk / bare), pairs min–max | " + " | ".join(f"**{r:.2f}** ({lo:.2f}–{hi:.2f})" for r, lo, hi in ratios) + " |")

    kinds = sorted({k for name in APPS for r in results[name] for k in r[3]})
    print("\nPSS by process, median MiB\n")
    print("| app | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for name in APPS:
        cells = [f"{statistics.median(r[3].get(k, 0) for r in results[name]):.1f}" for k in kinds]
        print(f"| {name} | " + " | ".join(cells) + " |")

    prefix = "nocomp_" if args.no_compositing else ""
    for key, i in (("ready_ms", 0), ("rss_mib", 1), ("pss_mib", 2)):
        for tag, name in (("bare", base), ("desk", app)):
            v = values(name, i)
            print(f"RESULT|{prefix}startup_{key}_{tag}|{len(v)}|{statistics.median(v):.1f}|-|{min(v):.1f}|{max(v):.1f}")
        r, lo, hi = ratios[i]
        print(f"RESULT|{prefix}startup_{key}_ratio|{args.runs}|{r:.3f}|-|{lo:.3f}|{hi:.3f}")
    for tag, name in (("bare", base), ("desk", app)):
        for k in kinds:
            v = [r[3].get(k, 0) for r in results[name]]
            print(f"RESULT|{prefix}pss_{k}_{tag}|{len(v)}|{statistics.median(v):.1f}|-|{min(v):.1f}|{max(v):.1f}")


if __name__ == "__main__":
    main()
