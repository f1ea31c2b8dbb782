#!/usr/bin/env python3
"""Times a locked cut (`kerf cut --locked`) against the plain cut it pins, cold and warm.

Usage: bench/lock.py [--runs N] [--kerf PATH] [--cut small|large]

Serves ../shared/fixtures/noble-mirror on loopback, builds the release binary unless --kerf is
given, makes a lock of the chosen slices (the ubuntu-24.04 corpus branch, amd64) with
`kerf lock`, then times, N times each (default 5), interleaved so that a noisy neighbour slows
both alike:

- plain cold: `kerf cut` of the slices, a fresh cache and root each run;
- locked cold: `kerf cut --locked`, a fresh cache and root each run;
- plain warm and locked warm: one primed cache each, a fresh root each run.

Prints the median, min and max wall time and median peak RSS of each, and the two ratios the
lock must keep: locked/plain cold (at most 0.5: a locked cut reads no index) and locked/plain
warm (at most 1.0).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

# The fixture paths, the two cuts, the loopback server and the timed run are cut.py's.
from cut import CUTS, MIRROR, RELEASE, ROOT, SHARED, CutFailed, run_once, serve


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kerf", help="a kerf binary to time instead of building one")
    parser.add_argument("--cut", choices=sorted(CUTS), default="small")
    args = parser.parse_args()
    if not os.path.isdir(MIRROR) or not os.path.isdir(RELEASE):
        sys.exit(f"no fixture mirror or corpus under {SHARED}: this benchmark needs ../shared beside the checkout")
    kerf = args.kerf
    if kerf is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        kerf = os.path.join(target, "release", "kerf")
    slices = CUTS[args.cut]
    server, url = serve(MIRROR)
    env = {name: value for name, value in os.environ.items()
           if name not in ("KERF_CACHE_DIR", "KERF_ARCHIVE_URL", "http_proxy", "HTTP_PROXY",
                           "all_proxy", "ALL_PROXY")}
    work = tempfile.mkdtemp(prefix="kerf-bench-lock-")
    counter = iter(range(1_000_000))
    archive = ["--archive-url", f"ubuntu={url}ubuntu/"]
    lock = os.path.join(work, "kerf.lock")
    try:
        run_once([kerf, "lock", "-q", "--release", RELEASE, "--arch", "amd64", "--cache-dir",
                  os.path.join(work, "lock-cache"), *archive, "-o", lock, *slices], env)

        def plain(cache):
            root = os.path.join(work, f"root-{next(counter)}")
            return run_once([kerf, "cut", "-q", "--release", RELEASE, "--arch", "amd64",
                             "--root", root, "--cache-dir", cache, *archive, *slices], env)

        def locked(cache):
            root = os.path.join(work, f"root-{next(counter)}")
            return run_once([kerf, "cut", "-q", "--locked", lock, "--root", root,
                             "--cache-dir", cache, *archive], env)

        def fresh():
            return tempfile.mkdtemp(prefix="cache-", dir=work)

        samples = {"plain cold": [], "locked cold": [], "plain warm": [], "locked warm": []}
        for _ in range(args.runs):
            samples["plain cold"].append(plain(fresh()))
            samples["locked cold"].append(locked(fresh()))
        plain_cache, locked_cache = fresh(), fresh()
        plain(plain_cache)
        locked(locked_cache)
        for _ in range(args.runs):
            samples["plain warm"].append(plain(plain_cache))
            samples["locked warm"].append(locked(locked_cache))
    except CutFailed as error:
        sys.exit(f"a run failed: {error}")
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"kerf cut {args.cut}: {' '.join(slices)}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'case':<12} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MiB':>13}")
    medians = {}
    for case, runs in samples.items():
        walls = [wall for wall, _ in runs]
        medians[case] = statistics.median(walls)
        rss = statistics.median(peak for _, peak in runs)
        print(f"{case:<12} {len(runs):>4} {medians[case]:>9.3f} {min(walls):>7.3f} {max(walls):>7.3f} {rss:>13.1f}")
    print(f"locked/plain cold: {medians['locked cold'] / medians['plain cold']:.2f} (target <= 0.50)")
    print(f"locked/plain warm: {medians['locked warm'] / medians['plain warm']:.2f} (target <= 1.00)")


if __name__ == "__main__":
    main()
