#!/usr/bin/env bash
# Install every Debian package vestnik needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt. No downloads other
# than Debian's package archive. Run as root (or with sudo available).
set -euo pipefail

PKGS=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-system1.81-dev
  libssl-dev libc-ares-dev liburing-dev liblmdb-dev lmdb-utils
  libprotobuf-dev protobuf-compiler
  libfmt-dev libtomlplusplus-dev libcli11-dev libidn2-dev
  libjemalloc-dev
  # runtime data: time zones for the templates' date filters
  tzdata
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  curl python3 python3-aiosmtpd python3-dkim python3-dnslib dnsmasq-base
  postfix opendkim opendkim-tools swaks libnet-ssleay-perl openssl procps time
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; we only want its binaries (smtp-sink,
# smtp-source, a throwaway instance in tests), never a running system MTA.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The packaged daemons must not run on this machine: tests start their own
# instances on loopback ports.
for svc in postfix opendkim dnsmasq; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "install-deps: done"
