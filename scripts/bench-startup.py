#!/usr/bin/env python3
"""Start-up time and memory of Issuance Desk beside a bare Tauri window.

Both are release builds made the same way. Each run starts the app on a virtual X
display, waits for its page to report "ready" (the UiReady event in Issuance Desk,
the same protocol in the bare window), then lets it settle and sums RSS and PSS
over the app and every process it spawned (WebKit web and network processes).

    python3 scripts/bench-startup.py [--runs 7] [--no-build]
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
    "bare Tauri window": ROOT / "target/release/bare-window",
    "Issuance Desk": ROOT / "target/release/issuance-desk",
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


def memory_kib(pids):
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def one_run(binary, env, settle):
    with tempfile.TemporaryDirectory() as tmp:
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
            rss, pss = memory_kib(children_of(proc.pid))
            return ready_ms, rss / 1024, pss / 1024
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
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["npm", "--prefix", "ui", "run", "build", "--silent"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release", "-p", "issuance-desk", "-p", "bare-window"],
                       cwd=ROOT, check=True)

    env = dict(os.environ)
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

    def med(name, i):
        return statistics.median(r[i] for r in results[name])

    base, app = "bare Tauri window", "Issuance Desk"
    print(f"\nStart-up and memory, median of {args.runs} runs (release builds, Xvfb, {os.cpu_count()} cores)\n")
    print("| app | exec → UI ready | RSS, all processes | PSS, all processes |")
    print("|---|---|---|---|")
    for name in APPS:
        print(f"| {name} | {med(name, 0):.0f} ms | {med(name, 1):.0f} MiB | {med(name, 2):.0f} MiB |")
    print(f"| ratio (desk / bare) | {med(app, 0) / med(base, 0):.2f} | {med(app, 1) / med(base, 1):.2f} "
          f"| {med(app, 2) / med(base, 2):.2f} |")


if __name__ == "__main__":
    main()
