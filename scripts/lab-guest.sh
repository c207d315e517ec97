#!/usr/bin/env bash
# Builds the lab's Linux guest from Debian packages, once, into $LAB_CACHE/guest/:
#   vmlinuz    the Debian kernel (linux-image-amd64)
#   initrd.gz  busybox + an init (lab-guest-init) that prints "HEARTBEAT n" on the console
#              every second, plus qemu-ga and the virtio modules it needs for the agent channel,
#              and /bin/mm-cpuid (scripts/lab-guest-cpuid.c, built here, static).
# Kernel command line switches read by the init:
#   hb_use=aes        every beat first executes an AES-NI instruction (mm-cpuid --use aes); when
#                     the guest's CPU loses aes (a move onto lab-c), it faults and the heartbeat
#                     stops: a hang with a real cause.
#   hb_cpuid=1        after every beat, print "CPUID <records>" (mm-cpuid --line): the guest's
#                     own CPUID for the console cpu_probe.
#   hb_libc=baseline  PID 1 runs with glibc's SSE4.2 routines off (GLIBC_TUNABLES), so it survives
#                     a move that takes sse4.2 away; without it, PID 1 dies of SIGILL there.
#   hb_stop_after=N   stop heartbeating (and stop the agent) after N beats, but keep running:
#                     only for tests of the liveness probe itself.
set -euo pipefail
source "$(dirname "$0")/lab-lib.sh"

out=$LAB_CACHE/guest
kver=$(ls /lib/modules | grep -E '^[0-9].*-amd64$' | sort -V | tail -1)
[[ -n "$kver" && -r /boot/vmlinuz-$kver ]] || lab_die "no Debian kernel in /boot: install linux-image-amd64 (scripts/install-deps.sh)"
stamp="$kver $(sha256sum /bin/busybox /usr/sbin/qemu-ga "$0" "$(dirname "$0")/lab-guest-init" "$(dirname "$0")/lab-guest-cpuid.c" | cut -c1-16 | tr "\n" " ")"
if [[ -r $out/stamp && "$(cat "$out/stamp")" == "$stamp" && -r $out/initrd.gz ]]; then
  exit 0
fi

lab_log "building the guest image from kernel $kver"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,lib/modules,etc,run,var}
ln -s ../run "$root/var/run"
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
ln -s ../bin/busybox "$root/sbin/hwclock"       # guest-set-time needs hwclock

# qemu-ga and the libraries ldd names (the initramfs has no package manager).
cp /usr/sbin/qemu-ga "$root/bin/qemu-ga"
for lib in $(ldd /usr/sbin/qemu-ga | grep -oE '/[^ ]+'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# Load order matters: each module needs symbols of the ones before it.
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console; do
  f=$(find "/lib/modules/$kver/kernel/drivers" -name "$m.ko*" | head -1)
  [[ -n "$f" ]] || lab_die "kernel $kver has no module $m"
  case $f in
    *.ko.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -qdc "$f" > "$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done

# The CPUID helper: static, so it needs nothing from the initramfs.
command -v gcc >/dev/null || lab_die "gcc is needed to build the guest's CPUID helper: run scripts/install-deps.sh"
gcc -O2 -static -Wall -Wextra -Werror -o "$root/bin/mm-cpuid" "$(dirname "$0")/lab-guest-cpuid.c" ||
  lab_die "cannot build the guest's CPUID helper (static glibc: package libc6-dev)"

cp "$(dirname "$0")/lab-guest-init" "$root/init"
chmod +x "$root/init"

mkdir -p "$out"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz.tmp"
cp "/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "$stamp" > "$out/stamp"
lab_log "guest image ready: $out ($(du -h "$out/initrd.gz" | cut -f1) initrd)"
