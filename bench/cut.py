#!/usr/bin/env python3
"""Times `kerf cut` against the fixture mirror, cold and warm.

Usage: bench/cut.py [--runs N] [--kerf PATH] [--cut small|large]

Serves ../shared/fixtures/noble-mirror on loopback from this process, builds the release binary
unless --kerf is given, and cuts the chosen slices from the ubuntu-24.04 corpus branch N times
(default 5) cold (a fresh cache and a fresh root each run) and N times warm (one cache primed by
an untimed first run, a fresh root each run). Everything is deleted at the end, not between runs
(about 1 GB for the large cut with 5 runs). Prints the median, min and max wall time, the
median peak RSS, and the ratios against chisel v1.4.1 on the same cuts: about 12 s cold and
12 s warm and 270 MB (../shared/research/chisel-reference-run.md, loopback mirror).

Then the same warm cut written as an OCI image (`--oci-layout`, no `--root`), with the gzip
and the zstd layer, N times each; it prints what writing the image adds to the warm cut, next
to the cold cut's time (the budget: at most the cold cut's time again) and the peak RSS (the
layer is streamed: the budget is 200 MB).
"""
import argparse
import functools
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
MIRROR = os.path.join(SHARED, "fixtures", "noble-mirror")
RELEASE = os.path.join(SHARED, "corpus", "chisel-releases", "ubuntu-24.04")

CUTS = {
    "small": ["base-files_base", "libc6_libs", "openssl_bins"],
    "large": [
        "base-files_base", "base-files_release-info", "ca-certificates_data", "tzdata_zoneinfo",
        "libc6_libs", "libssl3t64_libs", "openssl_bins", "python3.12_standard", "coreutils_bins",
        "bash_bins", "dash_bins", "busybox_bins", "curl_bins", "grep_bins", "sed_bins", "tar_bins",
        "gzip_bins",
    ],
}

# chisel v1.4.1 against a loopback mirror, same cuts (research note, section 2): about 12 s
# either way, and about 270 000 kB peak RSS (`/usr/bin/time -v`, which counts in KiB, as ru_maxrss).
CHISEL_COLD_S = 12.0
CHISEL_WARM_S = 12.0
CHISEL_RSS_MIB = 270_000 / 1024


class CutFailed(Exception):
    pass


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def serve(directory):
    """A threaded static server on a free loopback port; returns it and its base URL."""
    handler = functools.partial(QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def run_once(argv, env):
    """Returns (wall seconds, peak RSS in MiB) of one run; raises CutFailed on a non-zero exit."""
    # stderr goes to a file, not a pipe: nothing reads a pipe while wait4 waits.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    code = proc.returncode
    if code != 0:
        raise CutFailed(f"exit status {code}:\n{stderr.rstrip()}")
    return wall, usage.ru_maxrss / 1024


def summarise(samples):
    walls = [wall for wall, _ in samples]
    rss = [peak for _, peak in samples]
    return statistics.median(walls), min(walls), max(walls), statistics.median(rss)


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
    env = dict(os.environ)
    for name in ("KERF_CACHE_DIR", "KERF_ARCHIVE_URL", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    # Roots and caches are all kept until the end: on ext4, creating files soon after deleting
    # many others is slow (the kernel looks for recently deleted inodes to avoid), which made a
    # warm large cut look twice as slow when each run's root was removed before the next.
    work = tempfile.mkdtemp(prefix="kerf-bench-cut-")
    counter = iter(range(1_000_000))

    def cut(cache, compression=None):
        place = os.path.join(work, f"out-{next(counter)}")
        output = ["--root", place] if compression is None else [
            "--oci-layout", place, "--tag", "bench", "--oci-compression", compression]
        argv = [kerf, "cut", "-q", "--release", RELEASE, *output, "--cache-dir", cache,
                "--archive-url", f"ubuntu={url}ubuntu/", *slices]
        return run_once(argv, env)

    def cold():
        return [cut(tempfile.mkdtemp(prefix="cache-", dir=work)) for _ in range(args.runs)]

    warm_cache = tempfile.mkdtemp(prefix="cache-", dir=work)

    def warm():
        cut(warm_cache)  # primes the cache, untimed
        return [cut(warm_cache) for _ in range(args.runs)]

    def image(compression):
        return lambda: [cut(warm_cache, compression) for _ in range(args.runs)]

    print(f"kerf cut {args.cut}: {' '.join(slices)}")
    print(f"{'case':<6} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MiB':>13} {'chisel/kerf wall':>17} {'chisel/kerf RSS':>16}")
    failed = False
    medians = {}
    try:
        for case, measure, chisel_s in (("cold", cold, CHISEL_COLD_S), ("warm", warm, CHISEL_WARM_S)):
            try:
                median, low, high, rss = summarise(measure())
            except CutFailed as error:
                print(f"{case:<6} failed: {error}")
                failed = True
                continue
            medians[case] = median
            print(f"{case:<6} {args.runs:>4} {median:>9.3f} {low:>7.3f} {high:>7.3f} {rss:>13.1f} "
                  f"{chisel_s / median:>16.1f}x {CHISEL_RSS_MIB / rss:>15.1f}x")
        print()
        print(f"{'image (warm cut)':<18} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MiB':>13} {'added s':>8} {'cold cut s':>11}")
        for compression in ("gzip", "zstd"):
            try:
                median, low, high, rss = summarise(image(compression)())
            except CutFailed as error:
                print(f"{compression:<18} failed: {error}")
                failed = True
                continue
            added = median - medians.get("warm", 0.0)
            print(f"{compression:<18} {args.runs:>4} {median:>9.3f} {low:>7.3f} {high:>7.3f} {rss:>13.1f} "
                  f"{added:>8.3f} {medians.get('cold', 0.0):>11.3f}")
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"({args.runs} runs each; chisel v1.4.1, loopback mirror: {CHISEL_COLD_S:.0f} s cold, "
          f"{CHISEL_WARM_S:.0f} s warm, {CHISEL_RSS_MIB:.0f} MiB peak RSS)")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
