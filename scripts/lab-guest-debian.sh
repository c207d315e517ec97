#!/usr/bin/env bash
# Builds, once, the lab's real distro guest: a Debian 12 root filesystem made from Debian packages
# (systemd, udev, qemu-guest-agent, openssh-server, cpuid, iproute2) with mmdebstrap, written into
# an ext4 image without mounting anything (mkfs.ext4 -d). It boots the host's own Debian kernel
# and initramfs (linux-image-amd64) directly, root=/dev/vda. Output, in $LAB_CACHE/debian/:
#   disk.raw      the pristine image (lab-up copies it into the lab for each lab)
#   id_ed25519    the key root logs in with (authorized in the image)
#   host_ed25519.pub  the guest's sshd host key, for the lab's known_hosts
# The network comes from the kernel command line: systemd-network-generator turns
# ip=ADDR::GW:MASK::eth0:off into a systemd-networkd configuration, so one image serves guests
# with different addresses.
set -euo pipefail
source "$(dirname "$0")/lab-lib.sh"

out=$LAB_CACHE/debian
packages=systemd-sysv,udev,dbus,qemu-guest-agent,openssh-server,iproute2,cpuid,procps
sources=$(ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -1 || true)
[[ -n $sources ]] || lab_die "no apt sources on this machine: mmdebstrap takes the mirror from them"
command -v mmdebstrap >/dev/null || lab_die "mmdebstrap is missing: run scripts/install-deps.sh"
kver=$(ls /lib/modules | grep -E '^[0-9].*-amd64$' | sort -V | tail -1)
[[ -n "$kver" && -r /boot/vmlinuz-$kver ]] || lab_die "no Debian kernel in /boot: install linux-image-amd64 (scripts/install-deps.sh)"
# The guest boots the host's kernel package; udev in the guest loads these from the image (the
# agent's port needs virtio_console; the initramfs brings only what mounts the root).
modules="virtio_console virtio_net virtio_blk virtio_pci autofs4 serio_raw"
stamp="$kver $packages $(sha256sum "$0" | cut -c1-16)"
if [[ -r $out/stamp && "$(cat "$out/stamp")" == "$stamp" && -r $out/disk.raw ]]; then
  exit 0
fi

lab_log "building the Debian 12 guest image (mmdebstrap, about a minute)"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ssh-keygen -q -t ed25519 -N '' -C migmatrix-lab-guest -f "$tmp/id_ed25519"
# The apt mirror is the machine's own (never a hard-coded one): mmdebstrap reads the sources file.
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd.service systemd-network-generator.service' \
  --customize-hook='echo migmatrix-guest > "$1/etc/hostname"' \
  --customize-hook='mkdir -p "$1/root/.ssh" && chmod 700 "$1/root/.ssh"' \
  --customize-hook="cp '$tmp/id_ed25519.pub' \"\$1/root/.ssh/authorized_keys\"" \
  --customize-hook='echo "/dev/vda / ext4 defaults 0 1" > "$1/etc/fstab"' \
  --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
  bookworm "$tmp/root" "$sources"
[[ -r $tmp/root/etc/ssh/ssh_host_ed25519_key.pub ]] || lab_die "the image has no sshd host key"
for m in $modules; do
  modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | sort -u | while read -r ko; do
  install -D -m 644 "$ko" "$tmp/root$ko"
done
cp /lib/modules/"$kver"/modules.{order,builtin,builtin.modinfo} "$tmp/root/lib/modules/$kver/"
depmod -b "$tmp/root" "$kver"
mkfs.ext4 -q -F -L mmroot -d "$tmp/root" "$tmp/disk.raw" 1G
cp "$tmp/root/etc/ssh/ssh_host_ed25519_key.pub" "$out/host_ed25519.pub"
install -m 600 "$tmp/id_ed25519" "$out/id_ed25519"
mv "$tmp/disk.raw" "$out/disk.raw"
echo "$stamp" > "$out/stamp"
lab_log "Debian guest image: $(du -h --apparent-size "$out/disk.raw" | cut -f1) ($(du -h "$out/disk.raw" | cut -f1) used)"
