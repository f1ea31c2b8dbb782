#!/usr/bin/env python3
"""Times `kerf cut` against the fixture mirror, cold and warm, next to the gunzip floor.

Usage: bench/cut.py [--runs N] [--kerf PATH]... [--cut small|large|both] [--no-image]

Serves ../shared/fixtures/noble-mirror on loopback from this process, builds the release binary
unless --kerf is given, and cuts the chosen slices (default: the small cut, then the large one)
from the ubuntu-24.04 corpus branch N times (default 5) cold (a fresh cache and a fresh root
each run) and N times warm (one cache primed by an untimed first run, a fresh root each run).
Everything is deleted at the end, not between runs (about 1 GB for the large cut with 5 runs).

To compare binaries, give --kerf more than once: within each case their runs alternate (A, B,
A, B, ...; each with a cache of its own), so a change of load or of the disk weighs on all of
them alike, and each is printed with its ratio to the first. Comparing separate invocations is
misleading on ext4: the files one run deletes at its end make file creation slower for minutes
after (most likely the kernel passing over recently deleted inodes when it allocates), which
slowed the large cut of each invocation in a row by 20 to 40 % whichever binary ran.

The floor is what a cold cut cannot skip: GNU gzip decompressing the six Packages.gz indexes
of the fixture one after another (`gzip -dc` each, to /dev/null). It is measured in the same
run, once after every timed cut, so the load of the machine weighs on both alike. Every case
prints the median, min and max wall time, the median as a ratio to the floor's median, the
median peak RSS, and the ratios against chisel v1.4.1 on the same cuts: about 12 s cold and
12 s warm and 270 MB (../shared/research/chisel-reference-run.md, loopback mirror). The size
of the binary timed is printed too: built here, it is what `cargo install` puts on PATH.

Then (unless --no-image) the same warm cut written as an OCI image (`--oci-layout`, no
`--root`), with the gzip and the zstd layer, N times each; it prints what writing the image adds
to the warm cut, next to the cold cut's time (the budget: at most the cold cut's time again) and
the peak RSS (the layer is streamed: the budget is 200 MB).
"""
import argparse
import functools
import glob
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
INDEXES = sorted(glob.glob(os.path.join(MIRROR, "ubuntu", "dists", "*", "*", "binary-amd64", "Packages.gz")))

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
    # The files earlier runs wrote are flushed first, untimed: otherwise a cut pays for the
    # writeback of the roots before it (a large cut writes 65 MB), and whichever binary runs
    # second in a session looks up to twice as slow.
    os.sync()
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


def floor_once():
    """Wall seconds for GNU gzip to decompress the six indexes one after another."""
    start = time.perf_counter()
    for index in INDEXES:
        subprocess.run(["gzip", "-dc", index], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def summarise(samples):
    walls = [wall for wall, _ in samples]
    rss = [peak for _, peak in samples]
    return statistics.median(walls), min(walls), max(walls), statistics.median(rss)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kerf", action="append",
                        help="a kerf binary to time instead of building one; repeat it to compare binaries")
    parser.add_argument("--cut", choices=[*sorted(CUTS), "both"], default="both")
    parser.add_argument("--no-image", action="store_true", help="skip the OCI image cases")
    args = parser.parse_args()
    if not os.path.isdir(MIRROR) or not os.path.isdir(RELEASE):
        sys.exit(f"no fixture mirror or corpus under {SHARED}: this benchmark needs ../shared beside the checkout")
    if len(INDEXES) != 6 or shutil.which("gzip") is None:
        sys.exit(f"the floor needs GNU gzip and the six Packages.gz of {MIRROR} (found {len(INDEXES)})")
    binaries = args.kerf
    if binaries is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binaries = [os.path.join(target, "release", "kerf")]
    for kerf in binaries:
        if not os.access(kerf, os.X_OK):
            sys.exit(f"{kerf}: not an executable file")
    cuts = sorted(CUTS, reverse=True) if args.cut == "both" else [args.cut]

    server, url = serve(MIRROR)
    env = dict(os.environ)
    for name in ("KERF_CACHE_DIR", "KERF_ARCHIVE_URL", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    # Roots and caches are all kept until the end: on ext4, creating files soon after deleting
    # many others is slow (the kernel looks for recently deleted inodes to avoid), which made a
    # warm large cut look twice as slow when each run's root was removed before the next.
    work = tempfile.mkdtemp(prefix="kerf-bench-cut-")
    counter = iter(range(1_000_000))
    floors = []

    def cut(kerf, slices, cache, compression=None):
        place = os.path.join(work, f"out-{next(counter)}")
        output = ["--root", place] if compression is None else [
            "--oci-layout", place, "--tag", "bench", "--oci-compression", compression]
        argv = [kerf, "cut", "-q", "--release", RELEASE, *output, "--cache-dir", cache,
                "--archive-url", f"ubuntu={url}ubuntu/", *slices]
        return run_once(argv, env)

    def timed(kerf, slices, cache, compression=None):
        """One timed cut, then one floor sample under the same load."""
        sample = cut(kerf, slices, cache, compression)
        floors.append(floor_once())
        return sample

    def alternating(one_run):
        """args.runs samples of each binary, taken in turn; a list of samples per binary."""
        samples = [[] for _ in binaries]
        for _ in range(args.runs):
            for which, kerf in enumerate(binaries):
                samples[which].append(one_run(kerf, which))
        return samples

    # (binary index, cut, case) → (median, min, max, peak RSS median); ratios are taken at the
    # end, against the median of every floor sample of the run.
    results = {}
    failed = False
    try:
        floors.append(floor_once())
        for name in cuts:
            slices = CUTS[name]
            warm_caches = [tempfile.mkdtemp(prefix="cache-", dir=work) for _ in binaries]

            def cold(kerf, _which, slices=slices):
                return timed(kerf, slices, tempfile.mkdtemp(prefix="cache-", dir=work))

            def warm(kerf, which, slices=slices, caches=warm_caches):
                return timed(kerf, slices, caches[which])

            def image(kerf, which, compression, slices=slices, caches=warm_caches):
                return timed(kerf, slices, caches[which], compression)

            cases = [("cold", cold), ("warm", warm)]
            if not args.no_image:
                for compression in ("gzip", "zstd"):
                    cases.append((f"image {compression}", functools.partial(image, compression=compression)))
            for case, measure in cases:
                try:
                    if case == "warm":
                        for which, kerf in enumerate(binaries):
                            cut(kerf, slices, warm_caches[which])  # primes the cache, untimed
                    for which, samples in enumerate(alternating(measure)):
                        results[(which, name, case)] = summarise(samples)
                except CutFailed as error:
                    print(f"{name} {case} failed: {error}")
                    failed = True
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)

    floor = statistics.median(floors)
    print(f"gunzip floor (GNU gzip -dc over the six indexes, one after another): median {floor:.3f} s, "
          f"min {min(floors):.3f} s, max {max(floors):.3f} s, {len(floors)} samples taken between the cuts")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for which, kerf in enumerate(binaries):
        print()
        size = os.stat(kerf).st_size
        print(f"binary timed: {size / 1e6:.1f} MB ({size} bytes), {kerf}")
        against = f"{'/ first':>8}" if which > 0 else ""
        print(f"{'cut':<6} {'case':<11} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'/ floor':>8} "
              f"{'peak RSS MiB':>13} {'chisel/kerf wall':>17} {'chisel/kerf RSS':>16}{against}")
        for (index, name, case), (median, low, high, rss) in results.items():
            if index != which:
                continue
            chisel = f"{(CHISEL_COLD_S if case == 'cold' else CHISEL_WARM_S) / median:>16.1f}x" if case in ("cold", "warm") else f"{'':>17}"
            first = results.get((0, name, case))
            ratio = f"{median / first[0]:>7.2f}x" if which > 0 and first else ""
            print(f"{name:<6} {case:<11} {args.runs:>4} {median:>9.3f} {low:>7.3f} {high:>7.3f} {median / floor:>7.2f}x "
                  f"{rss:>13.1f} {chisel} {CHISEL_RSS_MIB / rss:>15.1f}x{ratio}")
            if case.startswith("image") and (which, name, "warm") in results:
                added = median - results[(which, name, "warm")][0]
                cold = results.get((which, name, "cold"), (0.0,))[0]
                print(f"{'':<6} {'':<11} writing the image adds {added:.3f} s to the warm cut (budget: the cold cut, {cold:.3f} s)")
    print(f"({args.runs} runs each; chisel v1.4.1, loopback mirror: {CHISEL_COLD_S:.0f} s cold, "
          f"{CHISEL_WARM_S:.0f} s warm, {CHISEL_RSS_MIB:.0f} MiB peak RSS)")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
