#!/usr/bin/env bash
# Builds kerf as one statically linked executable for x86_64 Linux (glibc's libc.a, linked with
# `-C target-feature=+crt-static`), proves that it is static, and copies it to OUT.
#
#   scripts/build-static.sh [OUT]        OUT defaults to examples/kerf
#
# The result needs no shared library, no NSS module and no certificate store: it runs in any
# image, `FROM scratch` included. Host names are resolved by kerf itself (/etc/hosts, then the
# nameservers of /etc/resolv.conf), TLS roots are built in, and signatures are checked in Rust.
# Needs libc.a and a C toolchain: `apt-get install libc6-dev gcc` on Debian or Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
out=${1:-examples/kerf}
target_dir=${CARGO_TARGET_DIR:-target}

if [ "$(uname -m)" != x86_64 ]; then
  echo "error: this script builds for $target and must run on an x86_64 machine" >&2
  exit 1
fi
if ! gcc -print-file-name=libc.a | grep -q /; then
  echo "error: libc.a not found: install glibc's static library (apt-get install libc6-dev)" >&2
  exit 1
fi

started=$(date +%s)
# --target keeps RUSTFLAGS away from build scripts and proc macros, which must stay dynamic.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$target"
built="$target_dir/$target/release/kerf"

mkdir -p "$(dirname "$out")"
# The release profile strips the binary already; this copies it, and strips whatever a profile
# overridden through CARGO_PROFILE_RELEASE_* left in.
strip --strip-debug -o "$out" "$built"

description=$(file -b "$out")
echo "file: $description"
case $description in
  *"statically linked"* | *"static-pie linked"*) ;;
  *)
    echo "error: $out is not statically linked" >&2
    exit 1
    ;;
esac
# glibc's ldd says "statically linked" for a static-pie, "not a dynamic executable" otherwise.
ldd_says=$(ldd "$out" 2>&1 || true)
echo "ldd: $ldd_says"
case $ldd_says in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *)
    echo "error: ldd lists shared libraries for $out" >&2
    exit 1
    ;;
esac
if readelf -d "$out" 2>/dev/null | grep -q NEEDED; then
  echo "error: $out has DT_NEEDED entries" >&2
  exit 1
fi
"$out" version >/dev/null

size=$(stat -c %s "$out")
echo "static kerf: $out, $size bytes ($((size / 1024 / 1024)) MiB)," \
  "built in $(($(date +%s) - started)) s"
