#!/usr/bin/env bash
# Builds the lab's aarch64 guest, once, into $LAB_CACHE/guest-arm64/:
#   Image      Debian's arm64 kernel (linux-image-arm64), an uncompressed Image
#   initrd.gz  Debian's arm64 static busybox + the same heartbeat init as the x86 guest
# The arm64 packages are fetched with apt-get into a private state under $LAB_CACHE/apt-arm64,
# so the machine's dpkg architectures and package lists stay as they are. Nothing is installed.
# Exits non-zero with the reason when the packages cannot be had (no mirror reachable).
set -euo pipefail
source "$(dirname "$0")/lab-lib.sh"

out=$LAB_CACHE/guest-arm64
stamp="$(sha256sum "$0" "$(dirname "$0")/lab-guest-init" | cut -c1-16 | tr "\n" " ")"
if [[ -r $out/stamp && "$(cat "$out/stamp")" == "$stamp" && -r $out/initrd.gz && -r $out/Image ]]; then
  exit 0
fi

apt=$LAB_CACHE/apt-arm64
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
apt_arm64() {
  apt-get -q -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$apt/lists" \
    -o Dir::Cache="$apt/cache" -o Dir::State::status=/dev/null "$@"
}
lab_log "fetching Debian's arm64 kernel and busybox for the aarch64 guest (about 61 MB, once)"
apt_arm64 update >/dev/null || lab_die "cannot fetch the arm64 package lists (apt-get update failed)"
kpkg=$(apt-cache -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$apt/lists" \
         -o Dir::Cache="$apt/cache" -o Dir::State::status=/dev/null depends linux-image-arm64 |
       sed -n 's/^ *Depends: \(linux-image-[0-9].*-arm64\)$/\1/p' | head -1)
[[ -n "$kpkg" ]] || lab_die "no arm64 kernel package behind linux-image-arm64"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt's download sandbox user cannot write to a root-only mktemp dir.
chmod 755 "$tmp"
(cd "$tmp" && apt_arm64 download "$kpkg" busybox-static >/dev/null 2>&1) ||
  lab_die "cannot download $kpkg and busybox-static for arm64"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done

root=$tmp/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,run}
cp "$tmp/x/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$(dirname "$0")/lab-guest-init" "$root/init"
chmod +x "$root/init"

mkdir -p "$out"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz.tmp"
cp "$tmp"/x/boot/vmlinuz-*-arm64 "$out/Image.tmp"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
mv "$out/Image.tmp" "$out/Image"
echo "$stamp" > "$out/stamp"
lab_log "aarch64 guest ready: $out (kernel from $kpkg)"
