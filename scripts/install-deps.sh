#!/usr/bin/env bash
# Install every Debian 12 package migmatrix needs: build, tests and the local lab.
# Idempotent: a no-op (no apt-get call at all) when everything is already there.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config
  libvirt-dev libxml2-dev libssh-dev libsqlite3-dev libcmocka-dev libglib2.0-dev
  # tools used by tests and the lab
  libxml2-utils sqlite3 time iproute2 procps util-linux cpio gzip
  # the local lab: real libvirtd + QEMU hosts with sshd
  libvirt-daemon-system qemu-system-x86 qemu-system-arm qemu-utils qemu-guest-agent
  # the HTML report is tested in a real browser
  chromium
  openssh-server openssh-client busybox-static linux-image-amd64
  # the distro guest: a Debian root filesystem from packages, written into ext4 without mounting
  mmdebstrap e2fsprogs
  # libFuzzer (scripts/fuzz.sh)
  clang
)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (or with sudo) to install them" >&2
  exit 3
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
