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
from cut import CUTS, MIRROR, RELEASE, ROOT, CutFailed, serve  # noqa: E402


def run_timed(argv, env):
    """Returns (wall seconds, CPU seconds: user + system) of one run; raises CutFailed on a
    non-zero exit. CPU time is the figure to compare on a loaded machine, where wall time
    mostly measures the other processes."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            raise CutFailed(f"exit status {code}:\n{errors.read().decode(errors='replace').rstrip()}")
    return wall, usage.ru_utime + usage.ru_stime


def line(label, samples, target):
    walls = [wall for wall, _ in samples]
    cpus = [cpu for _, cpu in samples]
    print(f"  {label:<30} wall {statistics.median(walls):6.3f} s ({min(walls):.3f}-{max(walls):.3f})"
          f"   CPU {statistics.median(cpus):6.3f} s ({min(cpus):.3f}-{max(cpus):.3f}){target}")
    return statistics.median(walls), statistics.median(cpus)


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
        return run_timed(argv, env), root

    failed = False
    try:
        cut([])  # primes the cache, untimed
        plain, with_status = [], []
        root = None
        for _ in range(args.runs):
            plain.append(cut([])[0])
            sample, root = cut(["--dpkg-status"])
            with_status.append(sample)
        print(f"kerf cut large + base-files_chisel, warm, {args.runs} runs each, median (min-max):")
        base_wall, base_cpu = line("without --dpkg-status", plain, "")
        wall, cpu = line("with --dpkg-status", with_status, "")
        print(f"  {'overhead':<30} wall {100 * (wall - base_wall) / base_wall:+5.1f} %"
              f"{'':<17}CPU {100 * (cpu - base_cpu) / base_cpu:+5.1f} %   (target: under 10 %)")
        print(f"kerf sbom on that root, {args.runs} runs each, median (min-max):")
        for fmt in ("spdx-json", "cyclonedx-json"):
            samples = [run_timed([kerf, "sbom", "--root", root, "--format", fmt], env)
                       for _ in range(args.runs)]
            line(f"--format {fmt}", samples, "   (target: under 0.2 s)")
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
