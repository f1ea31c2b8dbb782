#!/usr/bin/env python3
"""Runs kerf's hardening rigs and prints one table.

Usage: scripts/hardening.py [--kerf PATH] [--trials N] [--fuzz-seconds S] [--skip-fuzz]

1. The fault matrix, hostile packages, hostile releases and hostile scripts: the test groups
   that hold them, run with `cargo test`, counted from cargo's summary lines.
2. The fuzzers (scripts/fuzz.sh, S seconds per target), their executions and findings.
3. Concurrency: 8 kerf processes, each cutting a different selection, all at once into their own
   roots with ONE shared, empty cache, from the fixture mirror on loopback; each tree must equal
   the tree of the same selection cut alone.
4. Interruption: N trials (default 50) of a cut killed with SIGKILL at a random moment, then the
   same cut run again into the same root with the same cache. The rerun must succeed, its tree
   must equal the reference, every blob in the cache must hash to its name, and no killed cut may
   have exited 0.

Needs ../shared (the fixture mirror and the corpus). Builds the release binary unless --kerf.
"""
import argparse
import functools
import hashlib
import http.server
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
MIRROR = os.path.join(SHARED, "fixtures", "noble-mirror")
RELEASE = os.path.join(SHARED, "corpus", "chisel-releases", "ubuntu-24.04")
TREESUM = os.path.join(SHARED, "treesum.py")

# Test groups (cargo test filters) per row of the table.
GROUPS = [
    ("fault matrix (server faults)", ["--lib", "cut::fault_tests"]),
    ("fault matrix (HTTP client)", ["--lib", "archive::fetch"]),
    ("hostile packages", ["--lib", "cut::hostile_tests"]),
    ("hostile packages (escapes)", ["--lib", "cut::tests::a_hostile"]),
    ("hostile .deb containers", ["--lib", "deb::"]),
    ("hostile releases (YAML, rules)", ["--lib", "release::"]),
    ("hostile scripts (unit)", ["--lib", "mutate::"]),
    ("hostile scripts (binary)", ["--test", "integration", "mutate_scripts::hostile"]),
    ("existing roots", ["--lib", "cut::tests::cutting_into_an_existing_root"]),
    ("concurrent cuts (in-process)", ["--lib", "cut::hostile_tests::concurrent"]),
]

# Eight different selections for the concurrency trial.
SELECTIONS = [
    ["base-files_base", "libc6_libs", "openssl_bins"],
    ["base-files_base", "bash_bins"],
    ["base-files_base", "coreutils_bins"],
    ["base-files_base", "ca-certificates_data", "base-files_chisel"],
    ["base-files_base", "curl_bins"],
    ["base-files_base", "python3.12_standard"],
    ["base-files_base", "tzdata_zoneinfo", "base-files_chisel"],
    ["base-files_base", "grep_bins", "sed_bins", "tar_bins", "gzip_bins", "dash_bins"],
]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client killed mid-download resets its connection: expected here


def serve(directory):
    handler = functools.partial(QuietHandler, directory=directory)
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/ubuntu/"


def run_group(args):
    """(passed, failed) of one cargo test filter."""
    result = subprocess.run(
        ["cargo", "test", "--locked", "-q", *args],
        cwd=ROOT, capture_output=True, text=True,
    )
    passed = failed = 0
    for match in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed", result.stdout):
        passed += int(match.group(1))
        failed += int(match.group(2))
    if result.returncode != 0 and failed == 0:
        failed = 1  # a build failure counts as a failed group
        sys.stderr.write(result.stderr[-2000:])
    return passed, failed


def cut_command(kerf, url, root, cache, slices):
    return [kerf, "cut", "-q", "--arch", "amd64", "--release", RELEASE, "--root", root,
            "--cache-dir", cache, "--archive-url", f"ubuntu={url}", *slices]


def treesum(root):
    return subprocess.run([sys.executable, TREESUM, root], capture_output=True, text=True,
                          check=True).stdout


def cache_is_clean(cache):
    """Every content-addressed blob hashes to its name."""
    blobs = os.path.join(cache, "sha256-v1")
    for directory, _, files in os.walk(blobs):
        for name in files:
            if not re.fullmatch(r"[0-9a-f]{64}", name):
                continue  # a temporary file of a killed cut, cleaned up later
            with open(os.path.join(directory, name), "rb") as file:
                if hashlib.sha256(file.read()).hexdigest() != name:
                    return False
    return True


def references(kerf, url, work):
    """The tree of each selection cut alone, with its own warm cache."""
    cache = os.path.join(work, "reference-cache")
    trees = {}
    for index, slices in enumerate(SELECTIONS):
        root = os.path.join(work, f"reference-{index}")
        subprocess.run(cut_command(kerf, url, root, cache, slices), check=True,
                       capture_output=True)
        trees[index] = treesum(root)
    return trees, cache


def concurrency(kerf, url, work, trees):
    cache = os.path.join(work, "shared-cache")
    processes = []
    for index, slices in enumerate(SELECTIONS):
        root = os.path.join(work, f"concurrent-{index}")
        processes.append((index, root, subprocess.Popen(
            cut_command(kerf, url, root, cache, slices),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
    correct = 0
    for index, root, process in processes:
        _, stderr = process.communicate()
        if process.returncode == 0 and treesum(root) == trees[index]:
            correct += 1
        else:
            sys.stderr.write(f"concurrent cut {index} failed: {stderr.decode()[-500:]}\n")
    return correct, cache_is_clean(cache)


def kill_trials(kerf, url, work, trees, count, rng):
    """Returns (trials, killed while running, reruns correct, caches clean, killed cuts that
    claimed success)."""
    cache = os.path.join(work, "kill-cache")
    correct = clean = lied = killed = 0
    for trial in range(count):
        index = rng.randrange(len(SELECTIONS))
        slices = SELECTIONS[index]
        root = os.path.join(work, f"killed-{trial}")
        # Every few trials the cache starts empty again, so kills land in downloads too.
        if trial % 5 == 0:
            shutil.rmtree(cache, ignore_errors=True)
        process = subprocess.Popen(cut_command(kerf, url, root, cache, slices),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 1.2))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        if process.returncode == 0 and treesum(root) != trees[index]:
            lied += 1
        rerun = subprocess.run(cut_command(kerf, url, root, cache, slices),
                               capture_output=True, text=True)
        if rerun.returncode == 0 and treesum(root) == trees[index]:
            correct += 1
        else:
            sys.stderr.write(f"trial {trial}: rerun failed: {rerun.stderr[-500:]}\n")
        if cache_is_clean(cache):
            clean += 1
        shutil.rmtree(root, ignore_errors=True)
    return count, killed, correct, clean, lied


def fuzz(seconds):
    """Rows (target, executions, findings) from scripts/fuzz.sh, if it is there."""
    script = os.path.join(ROOT, "scripts", "fuzz.sh")
    if not os.path.exists(script):
        return [("(scripts/fuzz.sh absent)", "-", "-")]
    result = subprocess.run(["bash", script, str(seconds)], cwd=ROOT, capture_output=True,
                            text=True)
    sys.stderr.write(result.stdout[-3000:])
    return [("fuzzers", "see scripts/fuzz.sh output above", f"exit {result.returncode}")]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kerf", help="a kerf binary (default: build the release binary)")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--fuzz-seconds", type=int, default=60)
    parser.add_argument("--skip-fuzz", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not os.path.isdir(MIRROR):
        sys.exit("needs ../shared (fixtures and corpus) beside the project")
    kerf = args.kerf
    if kerf is None:
        subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        kerf = os.path.join(target, "release", "kerf")

    rows = []
    for name, filters in GROUPS:
        passed, failed = run_group(filters)
        rows.append((name, passed + failed, passed, "-"))

    server, url = serve(MIRROR)
    work = tempfile.mkdtemp(prefix="kerf-hardening-")
    try:
        trees, _ = references(kerf, url, work)
        correct, clean = concurrency(kerf, url, work, trees)
        rows.append(("8 concurrent cuts, one cache", len(SELECTIONS), correct,
                     "cache clean" if clean else "CACHE CORRUPT"))
        trials, killed, reruns, caches, lied = kill_trials(
            kerf, url, work, trees, args.trials, random.Random(args.seed))
        rows.append((f"SIGKILL then rerun ({trials} trials)", trials, reruns,
                     f"{killed} killed mid-cut; {caches}/{trials} caches clean; "
                     f"{lied} killed cuts claimed success"))
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    fuzz_rows = [] if args.skip_fuzz else fuzz(args.fuzz_seconds)

    print(f"{'rig':<40} {'cases':>6} {'passed':>7}  notes")
    for name, cases, passed, notes in rows:
        print(f"{name:<40} {cases:>6} {passed:>7}  {notes}")
    for target, executions, findings in fuzz_rows:
        print(f"{'fuzz: ' + target:<40} {executions:>6}  {findings}")
    failed = any(cases != passed for _, cases, passed, _ in rows)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
