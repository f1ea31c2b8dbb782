#!/usr/bin/env python3
"""Times `kerf lint` and `kerf info <every package>` over whole corpus branches.

Usage: bench/release.py [--runs N] [--kerf PATH] [BRANCH ...]

Builds the release binary unless --kerf is given, runs each command N times (default 10) per
branch, and prints the median, min and max wall time and the median peak RSS. Branches default
to every one under ../shared/corpus/chisel-releases. For comparison, chisel validates the whole
release on every command: 18.6 s for `info` on ubuntu-26.04 on the same kind of machine
(../shared/research/chisel-reference-run.md).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "chisel-releases")


def run_once(argv):
    """Returns (wall seconds, peak RSS in MiB) of one run; fails loudly on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv[:4])} ... failed:\n{stderr}")
    return wall, usage.ru_maxrss / 1024


def measure(argv, runs):
    samples = [run_once(argv) for _ in range(runs)]
    walls = [wall for wall, _ in samples]
    rss = [peak for _, peak in samples]
    return statistics.median(walls), min(walls), max(walls), statistics.median(rss)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--kerf", help="a kerf binary to time instead of building one")
    parser.add_argument("branches", nargs="*")
    args = parser.parse_args()
    if not os.path.isdir(CORPUS):
        sys.exit(f"no corpus at {CORPUS}: this benchmark needs ../shared beside the checkout")
    kerf = args.kerf
    if kerf is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        kerf = os.path.join(ROOT, "target", "release", "kerf")
    branches = args.branches or sorted(os.listdir(CORPUS))

    print(f"{'branch':<14} {'command':<6} {'files':>5} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MiB':>13}")
    for branch in branches:
        release = os.path.join(CORPUS, branch)
        files = sorted(os.listdir(os.path.join(release, "slices")))
        packages = [name[: -len(".yaml")] for name in files if name.endswith(".yaml")]
        commands = {
            "lint": [kerf, "lint", "--release", release],
            "info": [kerf, "info", "--release", release, *packages],
        }
        for name, argv in commands.items():
            median, low, high, rss = measure(argv, args.runs)
            print(f"{branch:<14} {name:<6} {len(files):>5} {median:>9.3f} {low:>7.3f} {high:>7.3f} {rss:>13.1f}")
    print(f"({args.runs} runs each; chisel: 18.6 s for info on ubuntu-26.04)")


if __name__ == "__main__":
    main()
