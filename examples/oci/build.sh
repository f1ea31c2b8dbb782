#!/bin/sh
# The image of examples/Dockerfile, built by kerf alone: no Dockerfile, no daemon, no root.
#
#   examples/oci/build.sh [LAYOUT_DIR] [TAG]       (default: ./openssl-image latest)
#
# writes an OCI image layout holding openssl from the bundled ubuntu-24.04 release, run as the
# user `app` (UID and GID 1000). The same inputs give the same bytes, whoever runs it: the
# image's times are the newest InRelease `Date` (or SOURCE_DATE_EPOCH when set). kerf reads
# KERF_ARCHIVE_URL (a mirror) and KERF_CACHE_DIR as usual. Then, for example:
#
#   skopeo copy oci:./openssl-image:latest docker://registry.example/openssl:latest
#   skopeo copy oci:./openssl-image:latest docker-daemon:openssl:latest
#   podman run --rm oci:./openssl-image:latest
set -eu
layout="${1:-./openssl-image}"
tag="${2:-latest}"
exec kerf cut --release ubuntu-24.04 \
  --oci-layout "$layout" --tag "$tag" \
  --entrypoint /usr/bin/openssl --cmd version \
  --user app:1000:1000 \
  --label org.opencontainers.image.title=openssl \
  base-files_base libc6_libs openssl_bins
