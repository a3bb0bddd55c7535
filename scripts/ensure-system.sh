#!/usr/bin/env bash
# Makes sure the Debian packages vouch's demo and tests use are present: swtpm, swtpm-tools,
# tpm2-tools (a peer to agree with), libtss2-dev (the native TCTI bridge), chromium (the
# headless browser the tarball test runs the package in), postgresql (Debian's postgresql-15:
# the tests start their own server from /usr/lib/postgresql/*/bin) and python3-grpcio +
# python3-grpc-tools (a second gRPC implementation the Workload API interop test talks to). As root it installs
# what is missing and says so in one line; otherwise it stops with the exact apt-get line to run.
set -eu
need=()
command -v swtpm >/dev/null 2>&1 || need+=(swtpm)
command -v swtpm_setup >/dev/null 2>&1 || need+=(swtpm-tools)
command -v tpm2_createek >/dev/null 2>&1 || need+=(tpm2-tools)
{ [ -f /usr/include/tss2/tss2_tctildr.h ] || pkg-config --exists tss2-tctildr 2>/dev/null; } || need+=(libtss2-dev)
command -v xxd >/dev/null 2>&1 || need+=(xxd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
pg_lib="${VOUCH_POSTGRES_LIB:-/usr/lib/postgresql}"
ls "$pg_lib"/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
py=/usr/bin/python3
{ [ -x "$py" ] && "$py" -c 'import grpc' >/dev/null 2>&1; } || need+=(python3-grpcio)
{ [ -x "$py" ] && "$py" -c 'import grpc_tools' >/dev/null 2>&1; } || need+=(python3-grpc-tools)
[ ${#need[@]} -eq 0 ] && exit 0
line="apt-get install -y --no-install-recommends ${need[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "vouch: missing system packages; run as root: apt-get update && $line" >&2
  exit 1
fi
echo "vouch: installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/vouch-apt.log 2>&1 || {
  echo "vouch: apt-get failed; see /tmp/vouch-apt.log" >&2
  exit 1
}
