#!/usr/bin/env python3
"""Times what makes a root readable by scanners: `cut --dpkg-status` and `kerf sbom`.

Usage: bench/scanner.py [--runs N] [--kerf PATH]

Serves ../shared/fixtures/noble-mirror on loopback (as bench/cut.py does), primes one cache
with an untimed cut, then runs the fixture's large cut plus base-files_chisel (the manifest
`kerf sbom` reads) N times warm without --dpkg-status and N times with it, alternating, each
into a fresh root, and prints the medians and the overhead. Then times `kerf sbom` on such a
root N times per format (SPDX, CycloneDX), output to /dev/null.
Targets (issue 15): --dpkg-status adds under 10% to a warm large cut; sbom under 0.2 s.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cut import CUTS, MIRROR, RELEASE, ROOT, CutFailed, run_once, serve  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kerf", help="a kerf binary to time instead of building one")
    args = parser.parse_args()
    if not os.path.isdir(MIRROR) or not os.path.isdir(RELEASE):
        sys.exit("no fixture mirror or corpus beside the checkout: this benchmark needs ../shared")
    kerf = args.kerf
    if kerf is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        kerf = os.path.join(target, "release", "kerf")
    slices = CUTS["large"] + ["base-files_chisel"]

    server, url = serve(MIRROR)
    env = dict(os.environ)
    for name in ("KERF_CACHE_DIR", "KERF_ARCHIVE_URL", "SOURCE_DATE_EPOCH", "http_proxy", "HTTP_PROXY"):
        env.pop(name, None)
    work = tempfile.mkdtemp(prefix="kerf-bench-scanner-")
    cache = os.path.join(work, "cache")
    counter = iter(range(1_000_000))

    def cut(extra):
        root = os.path.join(work, f"root-{next(counter)}")
        argv = [kerf, "cut", "-q", "--release", RELEASE, "--root", root, "--cache-dir", cache,
                "--archive-url", f"ubuntu={url}ubuntu/", *extra, *slices]
        wall, _ = run_once(argv, env)
        return wall, root

    failed = False
    try:
        cut([])  # primes the cache, untimed
        plain, with_status = [], []
        root = None
        for _ in range(args.runs):
            plain.append(cut([])[0])
            wall, root = cut(["--dpkg-status"])
            with_status.append(wall)
        base, extra = statistics.median(plain), statistics.median(with_status)
        print(f"kerf cut large + base-files_chisel, warm, {args.runs} runs each (median, min-max):")
        print(f"  without --dpkg-status {base:7.3f} s  ({min(plain):.3f}-{max(plain):.3f})")
        print(f"  with --dpkg-status    {extra:7.3f} s  ({min(with_status):.3f}-{max(with_status):.3f})")
        print(f"  overhead              {100 * (extra - base) / base:+6.1f} %   (target: under 10 %)")
        for fmt in ("spdx-json", "cyclonedx-json"):
            walls = []
            for _ in range(args.runs):
                start = time.perf_counter()
                done = subprocess.run([kerf, "sbom", "--root", root, "--format", fmt],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
                walls.append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise CutFailed(f"kerf sbom exit status {done.returncode}: {done.stderr.decode()}")
            print(f"kerf sbom --format {fmt:<15} {statistics.median(walls):.3f} s median "
                  f"({min(walls):.3f}-{max(walls):.3f})   (target: under 0.2 s)")
    except CutFailed as error:
        print(f"failed: {error}")
        failed = True
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
