#!/usr/bin/env bash
# lab-down.sh: stop the local lab and remove everything it made: its processes (only the
# PIDs it started), namespaces, links and runtime state. Keeps $LAB_CACHE (guest images,
# capabilities cache). Safe to run when no lab is up.
set -euo pipefail
source "$(dirname "$0")/lab-lib.sh"
lab_require_root

if [[ ! -e $LAB_STATE ]]; then
  left=$(ip netns list 2>/dev/null | grep -o "^$LAB_PREFIX-[a-z0-9]*" || true)
  if [[ -n "$left" ]]; then
    # A lab whose state file is gone: remove its namespaces and links, but kill nothing we cannot prove is ours.
    lab_log "no state file, but lab namespaces exist: removing $(echo $left)"
    for ns in $left; do ip netns del "$ns" 2>/dev/null || true; ip link del "$ns" 2>/dev/null || true; done
    ip link del "$LAB_BRIDGE" 2>/dev/null || true
    ip link del "$LAB_GUEST_BRIDGE" 2>/dev/null || true
  else
    lab_log "no lab is up"
  fi
  rm -f "$LAB_INCLUDE"
  exit 0
fi

# Keep a warm QEMU capabilities cache for the next lab-up, one per kind of host.
while read -r kind name _ _ _ _ hkind _; do
  [[ $kind == host ]] || continue
  caps=$LAB_DIR/hosts/$name/cache-libvirt/qemu/capabilities
  if [[ -d $caps && -n "$(ls -A "$caps" 2>/dev/null)" && ! -d $LAB_CACHE/caps-$hkind.new ]]; then
    mkdir -p "$LAB_CACHE"
    rm -rf "$LAB_CACHE/caps-$hkind.new"
    cp -a "$caps" "$LAB_CACHE/caps-$hkind.new"
  fi
done < "$LAB_STATE"
for d in "$LAB_CACHE"/caps-*.new; do
  [[ -d $d ]] || continue
  rm -rf "${d%.new}"
  mv "$d" "${d%.new}"
done

is_ours() {   # the PID still runs the init we started (PIDs get reused)
  grep -qa "$LAB_DIR/hosts/$2/init.sh" "/proc/$1/cmdline" 2>/dev/null
}
# SIGTERM to a namespace's PID 1 ends it, and the kernel then kills everything in that
# namespace: libvirtd, sshd and every QEMU.
while read -r kind name _ _ init _; do
  [[ $kind == host ]] && is_ours "$init" "$name" && kill -TERM "$init" 2>/dev/null || true
done < "$LAB_STATE"
for _ in $(seq 1 100); do
  alive=0
  while read -r kind name _ _ init _; do
    [[ $kind == host ]] && is_ours "$init" "$name" && alive=1
  done < "$LAB_STATE"
  ((alive)) || break
  sleep 0.05
done
while read -r kind name _ _ init _; do
  if [[ $kind == host ]] && is_ours "$init" "$name"; then
    lab_log "$name: init $init ignored SIGTERM; killing it"
    kill -KILL "$init" 2>/dev/null || true
  fi
done < "$LAB_STATE"

while read -r kind name ns _; do
  case $kind in
    host) ip netns del "$ns" 2>/dev/null || true; ip link del "$ns" 2>/dev/null || true ;;
    bridge) ip link del "$name" 2>/dev/null || true ;;
  esac
done < "$LAB_STATE"

rm -rf "$LAB_DIR"
rm -f "$LAB_INCLUDE"
lab_log "down"
