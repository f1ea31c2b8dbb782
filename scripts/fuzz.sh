#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a fixed time and prints, per target, the executions, the
# executions per second and the findings (crash, timeout and out-of-memory inputs).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
#
# Environment:
#   FUZZ_TARGETS   targets to run, space-separated (default: all of them)
#   FUZZ_WORK      where the corpora grow and the logs go (default: fuzz/work, git-ignored)
#   FUZZ_SANITIZER address (default) or none: cargo fuzz's -s
#   FIXTURES       the shared fixture mirror, for extra seeds (default: ../shared/fixtures)
#   CARGO_TARGET_DIR is honoured (the fuzz build is large; point it outside the repo)
#
# Findings are written by libFuzzer to fuzz/artifacts/<target>/ and listed at the end; replay
# one with `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>` from fuzz/.
#
# Why RUSTC_BOOTSTRAP=1: cargo fuzz builds with nightly-only flags (`-Zsanitizer=address`,
# `-Cpasses=sancov-module` and friends). Only a stable toolchain is installed here and none can
# be fetched; RUSTC_BOOTSTRAP=1 tells that stable compiler to accept the nightly flags. It
# affects this build only (the fuzz crate has its own workspace and target directory) and
# nothing that ships.
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in
'' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
    ;;
esac

repo="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$repo/fuzz"
work="${FUZZ_WORK:-$fuzz/work}"
sanitizer="${FUZZ_SANITIZER:-address}"
fixtures="${FIXTURES:-$repo/../shared/fixtures}"
all_targets="release control inrelease deb tar_path extract"
targets="${FUZZ_TARGETS:-$all_targets}"
export RUSTC_BOOTSTRAP=1

# Largest input per target: big enough for the seeds, small enough to keep executions fast.
max_len() {
    case "$1" in
    deb | extract) echo 65536 ;;
    tar_path) echo 4096 ;;
    *) echo 16384 ;;
    esac
}

mkdir -p "$work"

# Binary seeds, made fresh each run: .debs with every compression, data.tars with links, long
# names and PAX names, hostile data.tars whose names and links try to leave the root, and a few
# real packages and index stanzas from the fixture mirror when it is there.
make_seeds() {
    local out="$work/seeds"
    rm -rf "$out"
    mkdir -p "$out"/{deb,extract,control}
    local tmp
    tmp="$(mktemp -d)"

    local tree="$tmp/tree"
    mkdir -p "$tree/usr/bin" "$tree/usr/share/doc/fuzz" "$tree/var/lib/fuzz"
    local deep="$tree/usr/share/fuzz/a-directory-name-long-enough/to-need/a-gnu-long-name-or-a-pax-path/in-the-tar"
    mkdir -p "$deep"
    printf 'hello\n' >"$tree/usr/bin/fuzz"
    chmod 4755 "$tree/usr/bin/fuzz"
    printf 'copyright\n' >"$tree/usr/share/doc/fuzz/copyright"
    printf 'deep\n' >"$deep/file-with-a-long-name"
    ln -s fuzz "$tree/usr/bin/fz"
    ln "$tree/usr/bin/fuzz" "$tree/usr/bin/fuzz2"
    local tar_flags=(--owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name)
    tar "${tar_flags[@]}" --format=gnu -cf "$tmp/data.tar" -C "$tree" .
    tar "${tar_flags[@]}" --format=pax -cf "$tmp/data-pax.tar" -C "$tree" .
    cp "$tmp/data.tar" "$out/extract/gnu.tar"
    cp "$tmp/data-pax.tar" "$out/extract/pax.tar"

    mkdir -p "$tmp/control"
    printf 'Package: fuzz\nVersion: 1.0\nArchitecture: amd64\nDescription: fuzz\n' \
        >"$tmp/control/control"
    tar "${tar_flags[@]}" -czf "$tmp/control.tar.gz" -C "$tmp/control" .
    printf '2.0\n' >"$tmp/debian-binary"
    gzip -9n <"$tmp/data.tar" >"$tmp/data.tar.gz"
    xz -9 <"$tmp/data.tar" >"$tmp/data.tar.xz"
    zstd -q -19 <"$tmp/data.tar" >"$tmp/data.tar.zst"
    local compression
    for compression in "" .gz .xz .zst; do
        (cd "$tmp" && rm -f pkg.deb && ar qc pkg.deb debian-binary control.tar.gz "data.tar$compression")
        cp "$tmp/pkg.deb" "$out/deb/fuzz${compression:-.none}.deb"
    done

    if command -v python3 >/dev/null; then
        python3 - "$out/extract" <<'EOF'
import io, sys, tarfile

def entry(tar, name, kind=tarfile.REGTYPE, link="", data=b"", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.size = kind, link, mode, len(data)
    tar.addfile(info, io.BytesIO(data))

hostile = {
    "symlink-out.tar": [
        ("./etc/", tarfile.DIRTYPE, "", b""),
        ("./etc/up", tarfile.SYMTYPE, "../../../../..", b""),
        ("./etc/up/escaped", tarfile.REGTYPE, "", b"out\n"),
        ("./abs", tarfile.SYMTYPE, "/", b""),
        ("./abs/tmp/escaped", tarfile.REGTYPE, "", b"out\n"),
    ],
    "names-out.tar": [
        ("./../escaped", tarfile.REGTYPE, "", b"out\n"),
        ("/escaped", tarfile.REGTYPE, "", b"out\n"),
        ("./a/../../escaped", tarfile.REGTYPE, "", b"out\n"),
        ("./hard", tarfile.LNKTYPE, "./../outside", b""),
        ("./dev", tarfile.CHRTYPE, "", b""),
    ],
    "replaced.tar": [
        ("./d/", tarfile.DIRTYPE, "", b""),
        ("./d/f", tarfile.REGTYPE, "", b"one\n"),
        ("./d", tarfile.SYMTYPE, "..", b""),
        ("./d/f", tarfile.REGTYPE, "", b"two\n"),
        ("./l", tarfile.LNKTYPE, "./d/f", b""),
    ],
}
for file, entries in hostile.items():
    with tarfile.open(f"{sys.argv[1]}/{file}", "w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, link, data in entries:
            entry(tar, name, kind, link, data)
EOF
    fi

    if [ -d "$fixtures/noble-mirror" ]; then
        local deb
        while read -r deb; do
            cp "$deb" "$out/deb/"
            (cd "$tmp" && rm -f data.tar.zst && ar x "$deb" data.tar.zst &&
                zstd -qdf data.tar.zst -o "$out/extract/$(basename "$deb" .deb).tar") || true
        done < <(find "$fixtures/noble-mirror" -name '*.deb' -size -40k | sort | head -n 3)
        local index
        for index in "$fixtures"/noble-mirror/ubuntu/dists/noble/main/binary-amd64/Packages.gz; do
            [ -f "$index" ] || continue
            gzip -dc "$index" | awk -v RS= -v ORS='\n\n' 'NR <= 4' >"$out/control/noble-main" || true
        done
    fi
    rm -rf "$tmp"
}

echo "building the fuzz targets (sanitizer: $sanitizer)" >&2
(cd "$fuzz" && cargo fuzz build -s "$sanitizer" >&2)
make_seeds

# The extract target creates and removes a root per input: on tmpfs that is ten times faster.
scratch="$(mktemp -d -p /dev/shm kerf-fuzz.XXXXXX 2>/dev/null || mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"

started="$work/started"
touch "$started"
results=()
for target in $targets; do
    corpus="$work/corpus/$target"
    mkdir -p "$corpus" "$fuzz/artifacts/$target"
    seeds=()
    for dir in "$fuzz/seeds/$target" "$work/seeds/$target"; do
        [ -d "$dir" ] && seeds+=("$dir")
    done
    dict=()
    [ -f "$fuzz/dicts/$target.dict" ] && dict=(-dict="$fuzz/dicts/$target.dict")
    log="$work/$target.log"
    echo "fuzzing $target for ${seconds}s" >&2
    status=0
    (cd "$fuzz" && cargo fuzz run -s "$sanitizer" "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}") >"$log" 2>&1 || status=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    findings="$(find "$fuzz/artifacts/$target" -type f -newer "$started" | wc -l)"
    if [ "$status" -ne 0 ] && [ "$findings" -eq 0 ]; then
        findings="failed (exit $status, see $log)"
    fi
    results+=("$target|$seconds|${runs:-?}|${speed:-?}|$findings")
done

printf '\n| target | seconds | executions | exec/s | findings |\n|---|---:|---:|---:|---|\n'
for row in "${results[@]}"; do
    IFS='|' read -r target secs runs speed findings <<<"$row"
    printf '| %s | %s | %s | %s | %s |\n' "$target" "$secs" "$runs" "$speed" "$findings"
done
new="$(find "$fuzz/artifacts" -type f -newer "$started")"
if [ -n "$new" ]; then
    printf '\nfindings:\n%s\n' "$new"
    exit 1
fi
