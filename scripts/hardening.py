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
   have exited 0. The kill moment is drawn from the cut's measured duration (cold or warm, per
   selection), so that most kills land while the cut is working.
5. Interrupted extension: N trials of a second cut (openssl_bins ca-certificates_data, with
   --delta) into a root that holds base-files_base base-files_chisel libc6_libs, killed at a
   moment drawn from that cut's measured duration. After the kill, the root's manifest must
   describe only what is there (each file with its hash and mode, each link, each directory);
   the rerun must give the tree and manifest of one cut of both selections, and its delta laid
   over a copy of the first root must give that tree too.

Needs ../shared (the fixture mirror and the corpus). Builds the release binary unless --kerf.
"""
import argparse
import functools
import hashlib
import json
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


def timed(command):
    """Seconds one run of `command` takes; it must succeed."""
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    return time.monotonic() - started


def durations(kerf, url, work, reference_cache):
    """(cold, warm) seconds of each selection's cut, measured once each."""
    measured = {}
    for index, slices in enumerate(SELECTIONS):
        cold_cache = os.path.join(work, f"timing-cache-{index}")
        cold = timed(cut_command(kerf, url, os.path.join(work, f"timing-cold-{index}"),
                                 cold_cache, slices))
        warm = timed(cut_command(kerf, url, os.path.join(work, f"timing-warm-{index}"),
                                 reference_cache, slices))
        measured[index] = (cold, warm)
        for path in (cold_cache, os.path.join(work, f"timing-cold-{index}"),
                     os.path.join(work, f"timing-warm-{index}")):
            shutil.rmtree(path, ignore_errors=True)
    return measured


def kill_moment(rng, duration):
    """A moment inside the run: after the process started, before it would have ended."""
    return rng.uniform(0.05, 0.95) * duration


def kill_trials(kerf, url, work, trees, measured, count, rng):
    """Returns (trials, killed while running, reruns correct, caches clean, killed cuts that
    claimed success)."""
    cache = os.path.join(work, "kill-cache")
    correct = clean = lied = killed = 0
    for trial in range(count):
        index = rng.randrange(len(SELECTIONS))
        slices = SELECTIONS[index]
        root = os.path.join(work, f"killed-{trial}")
        # Every few trials the cache starts empty again, so kills land in downloads too.
        cold = trial % 5 == 0 or not os.path.isdir(cache)
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        process = subprocess.Popen(cut_command(kerf, url, root, cache, slices),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_moment(rng, measured[index][0 if cold else 1]))
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


EXTEND_BASE = ["base-files_base", "base-files_chisel", "libc6_libs"]
EXTEND_MORE = ["openssl_bins", "ca-certificates_data"]
MANIFEST = os.path.join("var", "lib", "chisel", "manifest.wall")


def manifest_records(root):
    """The manifest's records, decompressed with the zstd tool."""
    text = subprocess.run(["zstd", "-dc", os.path.join(root, MANIFEST)], capture_output=True,
                          check=True).stdout.decode()
    return [json.loads(line) for line in text.splitlines()[1:] if line.strip()]


def manifest_lies(root):
    """What the root's manifest says that is not so, as a list of problems (empty: true)."""
    problems = []
    try:
        records = manifest_records(root)
    except (subprocess.CalledProcessError, ValueError) as error:
        return [f"unreadable manifest: {error}"]
    for record in records:
        if record.get("kind") != "path":
            continue
        path = record["path"]
        host = os.path.join(root, path.lstrip("/"))
        if path.endswith("/"):
            if not os.path.isdir(host):
                problems.append(f"{path}: not a directory")
        elif record.get("link"):
            if not os.path.islink(host) or os.readlink(host) != record["link"]:
                problems.append(f"{path}: not a link to {record['link']}")
        elif "sha256" in record:
            if os.path.islink(host) or not os.path.isfile(host):
                problems.append(f"{path}: not a file")
                continue
            with open(host, "rb") as file:
                digest = hashlib.sha256(file.read()).hexdigest()
            if digest != record.get("final_sha256", record["sha256"]):
                problems.append(f"{path}: content differs")
            if f"0{os.lstat(host).st_mode & 0o1777:o}" != record["mode"]:
                problems.append(f"{path}: mode differs")
    return problems


def extension_trials(kerf, url, work, count, rng):
    """Returns (trials, killed while running, manifests true after the kill, reruns equal to
    one cut, deltas equal to one cut, killed cuts that claimed success)."""
    cache = os.path.join(work, "extend-cache")
    base = os.path.join(work, "extend-base")
    union = os.path.join(work, "extend-union")
    subprocess.run(cut_command(kerf, url, base, cache, EXTEND_BASE), check=True,
                   capture_output=True)
    subprocess.run(cut_command(kerf, url, union, cache, EXTEND_BASE + EXTEND_MORE), check=True,
                   capture_output=True)
    expected_tree = treesum(union)
    expected_manifest = manifest_records(union)
    base_manifest = manifest_records(base)
    # Which manifest each kill left: the old one, the reduced one of a cut at work, the final.
    left = {"old": 0, "reduced": 0, "final": 0, "unreadable": 0}
    # The extension's own duration, warm, measured on a copy of the base.
    sample = os.path.join(work, "extend-sample")
    shutil.copytree(base, sample, symlinks=True)
    duration = timed(cut_command(kerf, url, sample, cache, EXTEND_MORE))
    shutil.rmtree(sample)
    killed = true_manifests = reruns = deltas = lied = after_commit = 0
    for trial in range(count):
        root = os.path.join(work, f"extend-{trial}")
        delta = os.path.join(work, f"extend-delta-{trial}")
        shutil.copytree(base, root, symlinks=True)
        process = subprocess.Popen(
            cut_command(kerf, url, root, cache, ["--delta", delta + "-killed", *EXTEND_MORE]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_moment(rng, duration))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        if process.returncode == 0 and treesum(root) != expected_tree:
            lied += 1
        # A kill after the final manifest leaves a finished root: its rerun has nothing to add,
        # so its delta is empty; the delta of a complete run was checked when it finished.
        try:
            records = manifest_records(root)
            kind = ("old" if records == base_manifest else
                    "final" if records == expected_manifest else "reduced")
        except (subprocess.CalledProcessError, ValueError):
            kind = "unreadable"  # manifest_lies says so below
        left[kind] += 1
        finished = process.returncode == 0 or kind == "final"
        problems = manifest_lies(root)
        if problems:
            sys.stderr.write(f"extension trial {trial}: the manifest lies: {problems[:5]}\n")
        else:
            true_manifests += 1
        rerun = subprocess.run(
            cut_command(kerf, url, root, cache, ["--delta", delta, *EXTEND_MORE]),
            capture_output=True, text=True)
        if (rerun.returncode == 0 and treesum(root) == expected_tree
                and manifest_records(root) == expected_manifest):
            reruns += 1
        else:
            sys.stderr.write(f"extension trial {trial}: rerun differs: {rerun.stderr[-500:]}\n")
        layered = os.path.join(work, f"extend-layered-{trial}")
        shutil.copytree(base, layered, symlinks=True)
        used = delta + "-killed" if process.returncode == 0 else delta
        if os.path.isdir(used):
            subprocess.run(["cp", "-a", used + "/.", layered], check=True)
        if finished and process.returncode != 0:
            after_commit += 1
        elif treesum(layered) == expected_tree:
            deltas += 1
        else:
            sys.stderr.write(f"extension trial {trial}: base + delta differs from one cut\n")
        for path in (root, layered, delta, delta + "-killed"):
            shutil.rmtree(path, ignore_errors=True)
    sys.stderr.write("extension trials: manifests left by the kills: "
                     + ", ".join(f"{count} {kind}" for kind, count in left.items()) + "\n")
    return count, killed, true_manifests, reruns, deltas, after_commit, lied


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
    parser.add_argument("--only-kills", action="store_true",
                        help="run only the concurrency and interruption trials")
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
    for name, filters in [] if args.only_kills else GROUPS:
        passed, failed = run_group(filters)
        rows.append((name, passed + failed, passed, "-"))

    server, url = serve(MIRROR)
    work = tempfile.mkdtemp(prefix="kerf-hardening-")
    try:
        trees, reference_cache = references(kerf, url, work)
        measured = durations(kerf, url, work, reference_cache)
        correct, clean = concurrency(kerf, url, work, trees)
        rows.append(("8 concurrent cuts, one cache", len(SELECTIONS), correct,
                     "cache clean" if clean else "CACHE CORRUPT"))
        trials, killed, reruns, caches, lied = kill_trials(
            kerf, url, work, trees, measured, args.trials, random.Random(args.seed))
        rows.append((f"SIGKILL then rerun ({trials} trials)", trials, reruns,
                     f"{killed} killed mid-cut; {caches}/{trials} caches clean; "
                     f"{lied} killed cuts claimed success"))
        trials, killed, true_manifests, reruns, deltas, after_commit, lied = extension_trials(
            kerf, url, work, args.trials, random.Random(args.seed))
        rows.append((f"SIGKILL extension, rerun ({trials})", trials, reruns,
                     f"{killed} killed mid-cut; {true_manifests}/{trials} manifests true "
                     f"after the kill; {deltas}/{trials - after_commit} deltas = one cut "
                     f"({after_commit} killed after the manifest, delta not checked); "
                     f"{lied} killed cuts claimed success"))
        if true_manifests != trials or deltas != trials - after_commit or lied:
            rows.append(("extension invariants", 1, 0, "see the messages above"))
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
