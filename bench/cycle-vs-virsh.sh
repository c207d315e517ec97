#!/usr/bin/env bash
# Benchmark (issue 4): the same migration cycle, on the same lab, in the same invocation, as a
# plain bash + virsh script and as migmatrix. Goal: migmatrix <= 0.8x the script's wall time.
# Also prints migmatrix's own CPU time as a share of its wall time (an upper bound on the
# harness's time outside libvirt calls; goal <= 2 %).
#
# The cycle, per iteration: define + start on lab-a, wait until the guest agent's clock has
# advanced twice, migrate live to lab-b (persistent, undefinesource), check it runs there and
# its clock advances twice, migrate back, check again, destroy + undefine.
# Needs the lab up (scripts/lab-up.sh). Usage: bench/cycle-vs-virsh.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lab-lib.sh
n=${1:-5}
[[ -r $LAB_INCLUDE ]] || lab_die "the lab is not up: scripts/lab-up.sh"
guest=$LAB_CACHE/guest
A="qemu+ssh://root@$LAB_NET.1/system?command=$LAB_DIR/bin/ssh"
B="qemu+ssh://root@$LAB_NET.2/system?command=$LAB_DIR/bin/ssh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/guest.xml" <<XML
<domain type='qemu'>
  <name>bench-virsh</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.gz</initrd><cmdline>console=ttyS0 quiet panic=-1</cmdline></os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>
  <devices><serial type='pty'/><console type='pty'/>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <memballoon model='none'/></devices>
</domain>
XML

# What a careful shell script does: poll, with a sleep, until the agent's clock moved twice.
wait_alive() {   # URI
  local prev=-1 got=0 t
  for _ in $(seq 1 240); do
    t=$(virsh -c "$1" domtime bench-virsh 2>/dev/null | awk '/Time:/ {print $2}') || true
    if [[ -n "$t" && "$t" -gt "$prev" ]]; then
      if ((prev >= 0)); then got=$((got + 1)); fi
      prev=$t
      ((got >= 2)) && return 0
    fi
    sleep 0.5
  done
  echo "guest not alive on $1" >&2; return 1
}

script_cycle() {
  virsh -q -c "$A" define "$tmp/guest.xml" >/dev/null
  virsh -q -c "$A" start bench-virsh >/dev/null
  wait_alive "$A"
  virsh -q -c "$A" migrate --live --persistent --undefinesource bench-virsh "$B"
  [[ $(virsh -c "$B" domstate bench-virsh) == running ]]
  wait_alive "$B"
  virsh -q -c "$B" migrate --live --persistent --undefinesource bench-virsh "$A"
  [[ $(virsh -c "$A" domstate bench-virsh) == running ]]
  wait_alive "$A"
  virsh -q -c "$A" destroy bench-virsh >/dev/null
  virsh -q -c "$A" undefine bench-virsh >/dev/null
}

cat > "$tmp/bench.ini" <<INI
[run]
include = $LAB_INCLUDE
ping_pong = true
boot_timeout = 120
alive_timeout = 60
[matrix]
pairs = lab-a>lab-b
guests = linux-agent
modes = custom:qemu64
repeat = $n
INI

t0=$(date +%s.%N)
for i in $(seq 1 "$n"); do script_cycle; done
t1=$(date +%s.%N)
/usr/bin/time -f "%U %S %e" -o "$tmp/mm.time" build/migmatrix run "$tmp/bench.ini" --db "$tmp/bench.db" >/dev/null 2>&1
read -r user sys wall < "$tmp/mm.time"

awk -v n="$n" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" -v m="$wall" -v u="$user" -v k="$sys" 'BEGIN {
  printf "iterations: %d\n", n
  printf "bash + virsh: %.1f s (%.2f s per cycle)\n", s, s / n
  printf "migmatrix:    %.1f s (%.2f s per cycle)\n", m, m / n
  printf "ratio migmatrix / script: %.2f (goal <= 0.80)\n", m / s
  printf "migmatrix CPU (user+sys): %.2f s = %.2f %% of its wall time (goal <= 2 %%)\n", u + k, 100 * (u + k) / m
}'
