#!/usr/bin/env bash
# lab-status.sh: what the local lab is running. Exit 0 when every host answers, 1 otherwise,
# 2 when no lab is up.
set -uo pipefail
source "$(dirname "$0")/lab-lib.sh"

if [[ ! -e $LAB_STATE ]]; then
  echo "no lab is up (scripts/lab-up.sh starts one)"
  exit 2
fi
rc=0
printf '%-8s %-13s %-12s %-8s %-9s %-6s %s\n' HOST ADDRESS NAMESPACE INIT LIBVIRTD SSHD "HOST UUID"
while read -r kind name ns ip init _ _ uuid; do
  [[ $kind == host ]] || continue
  state=down sshd=down
  if kill -0 "$init" 2>/dev/null; then
    nsenter -t "$init" -m test -S /run/libvirt/libvirt-sock 2>/dev/null && state=up
    timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22" 2>/dev/null && sshd=up
  fi
  [[ $state == up && $sshd == up ]] || rc=1
  printf '%-8s %-13s %-12s %-8s %-9s %-6s %s\n' "$name" "$ip" "$ns" "$init" "$state" "$sshd" "$uuid"
done < "$LAB_STATE"
echo "include file: $LAB_INCLUDE"
exit $rc
