#!/usr/bin/env bash
# lab-up.sh [N]: start the local lab: N (default 3) libvirt "hosts" on this machine.
#
# Each host is a network + mount + UTS + PID namespace with its own libvirt state, host UUID,
# libvirtd and sshd, reachable as qemu+libssh://root@10.200.0.K/system. lab-c (the third host)
# emulates an older CPU generation: its QEMU masks $LAB_MASKED_FEATURES. Guests run under KVM
# only if a Linux guest really boots under this machine's KVM, under TCG otherwise.
#
# Writes scenarios/lab-generated.inc (hosts and guests) for scenarios/local.ini to include.
# Idempotence: refuses to start a second lab; scripts/lab-down.sh removes this one.
set -euo pipefail
source "$(dirname "$0")/lab-lib.sh"

n=${1:-${MM_LAB_HOSTS:-3}}
[[ "$n" =~ ^[0-9]+$ && "$n" -ge 2 && "$n" -le 20 ]] || lab_die "host count '$n': give a number from 2 to 20"
lab_require_root
for cmd in libvirtd virsh sshd qemu-system-x86_64 busybox cpio ssh-keygen nsenter; do
  command -v "$cmd" >/dev/null || [[ -x /usr/sbin/$cmd ]] || lab_die "missing $cmd: run scripts/install-deps.sh"
done

if [[ -e $LAB_STATE ]] || ip netns list 2>/dev/null | grep -q "^$LAB_PREFIX-"; then
  lab_die "a lab is already up (state: $LAB_STATE; namespaces: $(ip netns list | grep -o "^$LAB_PREFIX-[a-z]*" | tr '\n' ' ')); use it, or run scripts/lab-down.sh first"
fi
t0=$(date +%s.%N)

"$REPO_DIR/scripts/lab-guest.sh"
guest=$LAB_CACHE/guest
# The real distro guest (Debian 12 from packages, systemd, qemu-ga, sshd): built once, cached.
"$REPO_DIR/scripts/lab-guest-debian.sh"
kver=$(ls /lib/modules | grep -E '^[0-9].*-amd64$' | sort -V | tail -1)
[[ -r /boot/initrd.img-$kver ]] || lab_die "no /boot/initrd.img-$kver for the Debian guest: reinstall linux-image-$kver"
# The aarch64 guest needs Debian's arm64 packages once; without a mirror it is defined with
# no OS (alive = running), and lab-up says so.
arm_guest=$LAB_CACHE/guest-arm64
arm_why=""
if ! arm_err=$("$REPO_DIR/scripts/lab-guest-arm64.sh" 2>&1); then
  arm_why=$(tail -1 <<< "$arm_err")
  lab_log "WARNING: the aarch64 guest runs no OS in this lab ($arm_why); its cases then prove only that it runs"
fi

# ---- KVM or TCG: decided by booting the real guest, once per kernel/module set ----------
kvm_verdict() {
  local key vfile log pid verdict="qemu" why
  if [[ ! -c /dev/kvm ]]; then
    echo "qemu no /dev/kvm"; return
  fi
  key="$(uname -r) $(ls /sys/module | grep '^kvm' | tr '\n' ' ') $(cat "$guest/stamp")"
  vfile=$LAB_CACHE/kvm-verdict
  if [[ -r $vfile && "$(head -1 "$vfile")" == "$key" ]]; then
    tail -1 "$vfile"; return
  fi
  lab_log "checking whether a Linux guest boots under this machine's KVM (once, up to 20 s)"
  log=$(mktemp)
  qemu-system-x86_64 -accel kvm -m 192 -display none -monitor none -no-reboot -serial "file:$log" \
    -kernel "$guest/vmlinuz" -initrd "$guest/initrd.gz" -append "console=ttyS0 quiet panic=-1" \
    >/dev/null 2>&1 &
  pid=$!
  why="a Linux guest printed no heartbeat in 20 s under /dev/kvm (KVM here cannot boot it; e.g. PVM)"
  for _ in $(seq 1 40); do
    if grep -qa HEARTBEAT "$log"; then verdict=kvm; why="a Linux guest boots under /dev/kvm"; break; fi
    kill -0 "$pid" 2>/dev/null || { why="QEMU -accel kvm exited: $(tail -c 200 "$log" | tr -d '\r')"; break; }
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
  mkdir -p "$LAB_CACHE"
  printf '%s\n%s %s\n' "$key" "$verdict" "$why" > "$vfile"
  echo "$verdict $why"
}
read -r virt_type virt_why <<< "$(kvm_verdict)"
lab_log "guests run under $virt_type: $virt_why"

# ---- the lab's SSH identity: one client key, a host key per host --------------------------
mkdir -p "$LAB_DIR/ssh" "$LAB_DIR/bin" "$LAB_DIR/hosts" "$LAB_DIR/shared"
ssh-keygen -q -t ed25519 -N '' -C migmatrix-lab -f "$LAB_DIR/ssh/id_ed25519" <<< y >/dev/null
cp "$LAB_DIR/ssh/id_ed25519.pub" "$LAB_DIR/ssh/authorized_keys"
: > "$LAB_DIR/ssh/known_hosts"
cat > "$LAB_DIR/ssh/config" <<EOF
Host $LAB_NET.*
  User root
  IdentityFile $LAB_DIR/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $LAB_DIR/ssh/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
EOF
# libvirt runs plain `ssh` for qemu+ssh URIs (and libvirtd does for p2p): this one, first in PATH,
# adds the lab's config, so nothing touches ~/.ssh.
cat > "$LAB_DIR/bin/ssh" <<EOF
#!/bin/sh
exec /usr/bin/ssh -F $LAB_DIR/ssh/config "\$@"
EOF
chmod +x "$LAB_DIR/bin/ssh"

# ---- network: a bridge in the root namespace, a veth per host -----------------------------
ip link add "$LAB_BRIDGE" type bridge
ip addr add "$LAB_NET.254/24" dev "$LAB_BRIDGE"
ip link set "$LAB_BRIDGE" up
: > "$LAB_STATE.tmp"
mv "$LAB_STATE.tmp" "$LAB_STATE"        # from here on, lab-down can clean up a half-built lab
echo "bridge $LAB_BRIDGE" >> "$LAB_STATE"
# The guests' network: one L2 segment across the hosts, so a guest keeps its address when it
# moves. Each host has a bridge mmbr0 (guests use bridge = mmbr0) with a veth onto mmguest0.
ip link add "$LAB_GUEST_BRIDGE" type bridge
echo "bridge $LAB_GUEST_BRIDGE" >> "$LAB_STATE"
ip addr add "$LAB_GUEST_NET.254/24" dev "$LAB_GUEST_BRIDGE"
ip link set "$LAB_GUEST_BRIDGE" up

start_host() {
  local i=$1 name ip ns h uuid kind wrapper=""
  name=$(lab_host_name "$i")
  ip=$LAB_NET.$((i + 1))
  ns=$LAB_PREFIX-${name#lab-}
  h=$LAB_DIR/hosts/$name
  kind=plain
  [[ $i -eq 2 ]] && kind=masked
  mkdir -p "$h"/{lib-libvirt,cache-libvirt/qemu,log-libvirt}

  ip netns add "$ns"
  ip link add "$ns" type veth peer name eth0 netns "$ns"
  ip link set "$ns" master "$LAB_BRIDGE" up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip link add "$ns-g" type veth peer name gport netns "$ns"
  ip link set "$ns-g" master "$LAB_GUEST_BRIDGE" up
  ip -n "$ns" link add mmbr0 type bridge
  ip -n "$ns" link set gport master mmbr0 up
  ip -n "$ns" link set mmbr0 up

  # Private libvirt configuration: a copy of the system's, without networks (no dnsmasq here).
  rm -rf "$h/etc-libvirt"
  cp -a /etc/libvirt "$h/etc-libvirt"
  rm -rf "$h/etc-libvirt/qemu/networks" "$h/etc-libvirt/qemu/autostart"
  uuid=$(cat /proc/sys/kernel/random/uuid)
  cat > "$h/etc-libvirt/libvirtd.conf" <<EOF
# migmatrix lab host $name
listen_tls = 0
listen_tcp = 0
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
host_uuid = "$uuid"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  cat > "$h/etc-libvirt/qemu.conf" <<EOF
# migmatrix lab host $name
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
stdio_handler = "file"
migration_address = "$ip"
migration_host = "$ip"
migration_port_min = 49152
migration_port_max = 49215
EOF
  # lab-b's platform hook. On an incoming migration libvirt pipes the domain XML through
  # hooks/qemu ("NAME migrate begin") and runs what it prints, as platforms do to adapt guests to
  # a node. This one re-stamps guests of the linux-restamp profile with the node's crash policy
  # (on_crash restart): a real change of the domain XML across migration, which libvirt accepts
  # (lifecycle actions are not guest ABI) and marks with a "hook-script" taint. Empty output
  # leaves every other guest as it came. libvirtd looks for hooks when it starts.
  if [[ $i -eq 1 ]]; then
    mkdir -p "$h/etc-libvirt/hooks"
    cat > "$h/etc-libvirt/hooks/qemu" <<'EOF'
#!/bin/sh
if [ "$2" = migrate ] && [ "$3" = begin ]; then
  case $1 in
    *-linux-restamp) exec sed 's#<on_crash>destroy</on_crash>#<on_crash>restart</on_crash>#' ;;
  esac
fi
cat > /dev/null
EOF
    chmod +x "$h/etc-libvirt/hooks/qemu"
  fi

  # A warm QEMU capabilities cache saves 2-12 s per host. The blind lab-c (MM_LAB_MASK_VISIBLE=0,
  # below) starts from libvirt's own probe, not from a cache corrected by an earlier lab.
  if [[ -d $LAB_CACHE/caps-$kind ]] && ! [[ $kind == masked && ${MM_LAB_MASK_VISIBLE:-1} == 0 ]]; then
    cp -a "$LAB_CACHE/caps-$kind" "$h/cache-libvirt/qemu/capabilities"
  fi

  if [[ $kind == masked ]]; then
    # An older CPU generation: QEMU drops these features from every -cpu it is given.
    # Kept in the cache and rewritten only when it changes: libvirt re-probes QEMU whenever
    # the binary's ctime changes, and the wrapper is the binary lab-c sees.
    wrapper=$LAB_CACHE/qemu-wrapper-$name
    : > "$h/qemu-real"
    mkdir -p "$LAB_CACHE"
    cat > "$wrapper.new" <<EOF
#!/bin/bash
# lab-c's qemu-system-x86_64: the real one, with CPU features masked ($LAB_MASKED_FEATURES).
# The real one: $(stat -c '%s bytes, modified %y' /usr/bin/qemu-system-x86_64) (a new QEMU rewrites
# this wrapper, and libvirt then probes it anew).
mask=",$(echo "$LAB_MASKED_FEATURES" | sed 's/,/=off,/g')=off"
args=()
cpu_next=0
for a in "\$@"; do
  if ((cpu_next)); then a="\$a\$mask"; cpu_next=0; fi
  [[ \$a == -cpu ]] && cpu_next=1
  args+=("\$a")
done
export QEMU_MODULE_DIR=/usr/lib/x86_64-linux-gnu/qemu
exec $h/qemu-real -L /usr/share/qemu -L /usr/share/seabios -L /usr/lib/ipxe/qemu "\${args[@]}"
EOF
    chmod +x "$wrapper.new"
    if cmp -s "$wrapper.new" "$wrapper"; then rm -f "$wrapper.new"; else mv "$wrapper.new" "$wrapper"; fi
  fi

  # Names resolve locally: libvirt looks up its own hostname, and an unreachable DNS server
  # would cost 5 s per API call.
  { echo "127.0.0.1 localhost"; echo "$ip $name"
    for j in $(seq 0 $((n - 1))); do echo "$LAB_NET.$((j + 1)) $(lab_host_name "$j")"; done; } > "$h/hosts"
  echo "# migmatrix lab: no DNS" > "$h/resolv.conf"

  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$h/ssh_host_ed25519_key" <<< y >/dev/null
  echo "$ip $(cut -d' ' -f1,2 "$h/ssh_host_ed25519_key.pub")" >> "$LAB_DIR/ssh/known_hosts"
  cat > "$h/sshd_config" <<EOF
ListenAddress $ip
HostKey $h/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $LAB_DIR/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv PATH=$LAB_DIR/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF

  # PID 1 of the host's PID namespace. It must reap orphans at once: libvirt waits for a
  # killed QEMU to leave /proc, and the machine's own init reaps slowly.
  cat > "$h/init.sh" <<EOF
#!/bin/bash
set -e
hostname $name
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sshd /run/libvirt /run/lock
mount --bind $h/etc-libvirt /etc/libvirt
mount --bind $h/lib-libvirt /var/lib/libvirt
mount --bind $h/cache-libvirt /var/cache/libvirt
mount --bind $h/log-libvirt /var/log/libvirt
mount --bind $h/hosts /etc/hosts
mount --bind $h/resolv.conf /etc/resolv.conf
if [[ -n "$wrapper" ]]; then
  mount --bind /usr/bin/qemu-system-x86_64 $h/qemu-real
  mount --bind $wrapper /usr/bin/qemu-system-x86_64
fi
export PATH=$LAB_DIR/bin:/usr/sbin:/usr/bin:/sbin:/bin
/usr/sbin/libvirtd -d
/usr/sbin/sshd -f $h/sshd_config -E $h/sshd.log
trap 'exit 0' TERM INT
set +e
while :; do sleep 5 & wait \$!; done
EOF
  setsid ip netns exec "$ns" unshare --mount --uts --pid --fork --mount-proc --propagation private \
    /bin/bash "$h/init.sh" > "$h/init.log" 2>&1 < /dev/null &
  local outer=$! init=""
  for _ in $(seq 1 50); do
    init=$(pgrep -P "$outer" 2>/dev/null | head -1 || true)
    [[ -n "$init" ]] && break
    sleep 0.02
  done
  [[ -n "$init" ]] || lab_die "$name: its namespace init did not start (see $h/init.log)"
  echo "host $name $ns $ip $init $outer $kind $uuid" >> "$LAB_STATE"
}

for i in $(seq 0 $((n - 1))); do
  start_host "$i"
done

# ---- wait until every host answers: libvirt socket and sshd ------------------------------
wait_host() {
  local name=$1 ip=$2 init=$3 h=$LAB_DIR/hosts/$1
  for _ in $(seq 1 300); do
    if nsenter -t "$init" -m test -S /run/libvirt/libvirt-sock 2>/dev/null &&
       timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22" 2>/dev/null; then
      return 0
    fi
    kill -0 "$init" 2>/dev/null || lab_die "$name died during start-up: $(tail -5 "$h/init.log")"
    sleep 0.05
  done
  lab_die "$name did not answer within 15 s (see $h/init.log, $h/log-libvirt/libvirtd.log)"
}
while read -r kind name _ ip init _; do
  [[ $kind == host ]] && wait_host "$name" "$ip" "$init"
done < "$LAB_STATE"

# ---- lab-c: libvirt sees its older CPU, as it would a real one ---------------------------
# The wrapper masks features only where QEMU is given a -cpu, and libvirt probes QEMU without
# one, so libvirt would believe lab-c has the newer CPU: its domain capabilities (host-model,
# usable models), the CPU compare and every prediction from them would be blind to the mask,
# which no real older host is. So once libvirt has probed lab-c's QEMU, its capabilities cache
# is corrected the way a probe of the real older CPU reads: the masked features are off in the
# host CPU expansion, and each model that needs one is not usable, blocked by it. libvirt
# keeps a cache entry while the QEMU binary's ctime is the same, so a restarted libvirtd
# (and lab-c's restarts in the fault tests) loads the corrected one.
# Models come from libvirt's cpu_map, where each model lists all of its features; libvirt calls
# pclmulqdq pclmuldq. MM_LAB_MASK_VISIBLE=0 keeps the blind variant.
mask_caps() {   # FILE: rewrites the x86_64 capabilities cache FILE in place; 0 if it changed
  local file=$1 f lv m needs="" tmp
  for f in ${LAB_MASKED_FEATURES//,/ }; do
    lv=$f; [[ $f == pclmulqdq ]] && lv=pclmuldq
    while read -r m; do
      [[ -n $m ]] && needs+="$m=$f;"
    done < <(grep -l "<feature name='$lv'/>" /usr/share/libvirt/cpu_map/x86_*.xml 2>/dev/null |
             xargs -r sed -n "s/^ *<model name='\([^']*\)'>.*/\1/p")
  done
  [[ -n $needs ]] || lab_die "lab-c: no cpu_map model has any of $LAB_MASKED_FEATURES: check MM_LAB_MASKED_FEATURES"
  tmp=$file.mask
  awk -v feats="$LAB_MASKED_FEATURES" -v needs="$needs" -v q="'" '
    function attr(s, a,   v) {   # the value of attribute a in line s
      v = s; if (!sub(".* " a "=" q, "", v)) return ""
      sub(q ".*", "", v); return v
    }
    function blockers(t, m,   i, k, l, out) {   # the masked features t-model m needs, not yet listed
      out = ""; k = split(need[m], l, " ")
      for (i = 1; i <= k; i++) if (!((t SUBSEP m SUBSEP l[i]) in listed)) out = out "    <blocker name=" q l[i] q "/>\n"
      return out
    }
    BEGIN {
      n = split(feats, F, ","); for (i = 1; i <= n; i++) mask[F[i]] = 1
      n = split(needs, N, ";")
      for (i = 1; i <= n; i++) if (split(N[i], p, "=") == 2) need[p[1]] = need[p[1]] (p[1] in need ? " " : "") p[2]
    }
    /<hostCPU type=/ { inhost = 1 }
    /<\/hostCPU>/ { inhost = 0 }
    inhost && /<property / && attr($0, "type") == "boolean" && attr($0, "value") == "true" && (attr($0, "name") in mask) {
      sub(" migratable=" q "yes" q, ""); sub("value=" q "true" q, "value=" q "false" q); print; next
    }
    /^ *<cpu type=/ && (attr($0, "type") == "kvm" || attr($0, "type") == "tcg") {
      t = attr($0, "type"); m = attr($0, "name")
      if (!(m in need)) { print; next }
      if (attr($0, "usable") == "yes") {
        sub("usable=" q "yes" q "/>", "usable=" q "no" q ">"); printf "%s\n%s  </cpu>\n", $0, blockers(t, m); next
      }
      cur = m; print; next
    }
    cur != "" && /<blocker / { listed[t SUBSEP cur SUBSEP attr($0, "name")] = 1; print; next }
    cur != "" && /<\/cpu>/ { printf "%s", blockers(t, cur); cur = ""; print; next }
    { print }
  ' "$file" > "$tmp" || lab_die "lab-c: could not rewrite $file"
  if cmp -s "$file" "$tmp"; then rm -f "$tmp"; return 1; fi
  # (set -e does not hold in a function called from a condition)
  chmod --reference="$file" "$tmp" && mv "$tmp" "$file" || lab_die "lab-c: could not replace $file"
  return 0
}
mask_visible() {   # NAME IP INIT
  local name=$1 ip=$2 init=$3 h=$LAB_DIR/hosts/$1 file="" in_ns domcaps
  in_ns=(nsenter -t "$init" -m -n -u -p env "PATH=$LAB_DIR/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  domcaps=("${in_ns[@]}" virsh -q -c qemu:///system domcapabilities --virttype qemu --arch x86_64)
  # libvirt probes an emulator when first asked for its capabilities.
  "${domcaps[@]}" > /dev/null ||
    lab_die "$name: libvirt could not probe its QEMU (see $h/log-libvirt/libvirtd.log)"
  file=$(grep -l "<emulator>/usr/bin/qemu-system-x86_64</emulator>" "$h"/cache-libvirt/qemu/capabilities/*.xml \
         2>/dev/null || true)
  file=${file%%$'\n'*}
  [[ -n $file ]] || lab_die "$name: libvirt wrote no capabilities cache for qemu-system-x86_64"
  mask_caps "$file" || return 0   # already as the older CPU reads
  "${in_ns[@]}" pkill -x libvirtd || true
  for i in $(seq 1 100); do
    "${in_ns[@]}" pgrep -x libvirtd > /dev/null || break
    ((i == 100)) && "${in_ns[@]}" pkill -KILL -x libvirtd
    sleep 0.05
  done
  "${in_ns[@]}" rm -f /run/libvirtd.pid
  "${in_ns[@]}" libvirtd -d || lab_die "$name: libvirtd did not restart (see $h/log-libvirt/libvirtd.log)"
  wait_host "$name" "$ip" "$init"
  # libvirt must have kept the corrected entry; had it refused it, it would have probed anew.
  "${domcaps[@]}" > /dev/null ||
    lab_die "$name: libvirt answers no capabilities after its restart (see $h/log-libvirt/libvirtd.log)"
  if mask_caps "$file"; then
    lab_die "$name: libvirt did not keep the corrected capabilities cache ($file); MM_LAB_MASK_VISIBLE=0 runs the blind lab-c"
  fi
}
if [[ ${MM_LAB_MASK_VISIBLE:-1} != 0 ]]; then
  while read -r kind name _ ip init _ hkind _; do
    [[ $kind == host && $hkind == masked ]] && mask_visible "$name" "$ip" "$init"
  done < "$LAB_STATE"
fi

# ---- the include file for scenarios/local.ini ---------------------------------------------
# The "platform default" CPU mode per node, used at hard reboot. Under TCG they differ on
# purpose, each giving a real finding: lab-a host-model (the guest comes back with the node's
# expanded CPU), lab-b host-passthrough (the seed platform's Hygon/ARM default, which TCG
# cannot run: the reboot fails), lab-c custom:Penryn (the old node's baseline: a model without
# its masked features, which every lab host runs).
default_mode() {
  if [[ $virt_type == kvm ]]; then echo host-passthrough; return; fi
  case $1 in
    lab-a) echo host-model ;;
    lab-b) echo host-passthrough ;;
    lab-c) echo custom:Penryn ;;
    *) echo host-model ;;
  esac
}
{
  echo "# Written by scripts/lab-up.sh on $(date -u +%FT%TZ); rewritten at every lab-up. Do not edit."
  echo "# Lab: $LAB_DIR; guests run under $virt_type ($virt_why)."
  echo "# qemu+ssh URIs run $LAB_DIR/bin/ssh, which adds the lab's key and known_hosts."
  while read -r kind name _ ip _ _ hkind _; do
    [[ $kind == host ]] || continue
    cpu="lab x86_64 (QEMU $virt_type)"
    [[ $hkind == masked ]] && cpu="lab x86_64, older generation: $LAB_MASKED_FEATURES masked"
    cat <<EOF

[host:$name]
uri = qemu+ssh://root@$ip/system?command=$LAB_DIR/bin/ssh
# The same host over libssh. libvirt 9.0's libssh transport stalls 5 s on every reply larger
# than about 8 KiB (domcapabilities, migration), so qemu+ssh is the default:
# uri = qemu+libssh://root@$ip/system?known_hosts=$LAB_DIR/ssh/known_hosts&sshauth=privkey&keyfile=$LAB_DIR/ssh/id_ed25519
ssh = root@$ip
ssh_key = $LAB_DIR/ssh/id_ed25519
known_hosts = $LAB_DIR/ssh/known_hosts
arch = x86_64
cpu = $cpu
virt_type = $virt_type
default_cpu_mode = $(default_mode "$name")
# The study's x86 rule: NUMA guests run in host-model only.
numa_cpu_mode = host-model
EOF
  done < "$LAB_STATE"
  # The Linux guest profiles: one kernel and initramfs, different probes and switches.
  linux_guest() {   # NAME PROBE EXTRA-CMDLINE COMMENT [CPU-PROBE]
    cat <<EOF

# $4
[guest:$1]
os = linux
kernel = $guest/vmlinuz
initrd = $guest/initrd.gz
cmdline = console=ttyS0 quiet panic=-1$3
memory_mib = 192
probe = $2
EOF
    [[ -n ${5:-} ]] && echo "cpu_probe = $5"
    return 0
  }
  linux_guest linux console " hb_cpuid=1" \
    'A Debian kernel + busybox initramfs printing "HEARTBEAT n" every second, and its own CPUID after it.' \
    'console:^CPUID (.*)$'
  linux_guest linux-agent agent " hb_libc=baseline" \
    'The same guest with qemu-ga as its probe, as real Windows and RHEL guests use; CPUID through guest-exec.
# Its PID 1 avoids SSE4.2 (hb_libc=baseline), so it survives losing sse4.2 and shows cpu-changed.' \
    'agent:/bin/mm-cpuid'
  linux_guest linux-restamp console "" \
    "The same guest, re-stamped by lab-b's migrate hook (on_crash restart) on arrival there."
  linux_guest linux-aes console " hb_libc=baseline hb_use=aes" \
    'Every heartbeat runs an AES-NI instruction: on a CPU without aes it faults and the heartbeat stops.' \
    'agent:/bin/mm-cpuid'
  linux_guest linux-hang console " hb_stop_after=2" \
    'Stops heartbeating after 2 beats, still running: for tests of the liveness checks themselves.'
  # The built-in builder's shape on q35: topology, 2 NUMA cells, room to hot-plug, an e1000e NIC.
  cat <<EOF

# The builder's own NUMA guest on q35: 2 sockets of 2 cores in 2 cells, 2 of 4 vCPUs booted,
# an e1000e NIC on the guest network (the initramfs has no driver for it: the device is what counts).
[guest:linux-q35]
os = linux
kernel = $guest/vmlinuz
initrd = $guest/initrd.gz
cmdline = console=ttyS0 quiet panic=-1 hb_libc=baseline
machine = q35
memory_mib = 256
vcpus = 2
max_vcpus = 4
topology = 2,2,1
numa = 2
bridge = mmbr0
nic_model = e1000e
probe = agent
cpu_probe = agent:/bin/mm-cpuid
EOF
  # The Debian guest: a fresh copy of the cached image per lab (guests write to it), on the
  # path every host sees; shared storage, so migrations move memory only.
  cp --sparse=always "$LAB_CACHE/debian/disk.raw" "$LAB_DIR/shared/debian.raw"
  for g in 10 11; do echo "$LAB_GUEST_NET.$g $(cut -d' ' -f1,2 "$LAB_CACHE/debian/host_ed25519.pub")"; done \
    > "$LAB_DIR/ssh/guest_known_hosts"
  debian_guest() {   # NAME ADDRESS-SUFFIX PROBE CPU-PROBE COMMENT
    cat <<EOF

# $5
[guest:$1]
os = linux
kernel = /boot/vmlinuz-$kver
initrd = /boot/initrd.img-$kver
cmdline = root=/dev/vda rw console=ttyS0 net.ifnames=0 ip=$LAB_GUEST_NET.$2::$LAB_GUEST_NET.254:255.255.255.0::eth0:off
disk = $LAB_DIR/shared/debian.raw
memory_mib = 512
bridge = mmbr0
probe = $3
cpu_probe = $4
EOF
    [[ $3 == ssh ]] || return 0
    cat <<EOF
probe_ssh = root@$LAB_GUEST_NET.$2
ssh_key = $LAB_CACHE/debian/id_ed25519
known_hosts = $LAB_DIR/ssh/guest_known_hosts
EOF
  }
  debian_guest debian-agent 10 agent "agent:/usr/bin/cpuid -1 -r" \
    'Debian 12 (systemd, udev, qemu-guest-agent, sshd) on the Debian kernel, probed through its agent.'
  debian_guest debian-ssh 11 ssh "ssh:cpuid -1 -r" \
    'The same image probed over ssh on the guest network: its uptime must advance.'

  # The platform's own definition. Its paths are the default cache's; another cache gets a copy.
  template=templates/lab-numa.xml
  if [[ $LAB_CACHE != /var/cache/migmatrix-lab ]]; then
    template=$LAB_DIR/lab-numa.xml
    sed "s|/var/cache/migmatrix-lab|$LAB_CACHE|g" "$REPO_DIR/scenarios/templates/lab-numa.xml" > "$template"
  fi
  cat <<EOF

# A platform-style definition (scenarios/templates/lab-numa.xml): 2 NUMA cells, 2 sockets of 2
# cores, booted with 2 of its 4 vCPUs, so local.ini can hot-plug up to 4.
[guest:platform-numa]
domain_xml = $template
probe = agent
cpu_probe = agent:/bin/mm-cpuid
EOF
  if [[ -z $arm_why ]]; then
    cat <<EOF

# Debian's arm64 kernel + the same heartbeat initramfs with an arm64 busybox, emulated (TCG).
[guest:arm64]
os = linux
arch = aarch64
machine = virt
kernel = $arm_guest/Image
initrd = $arm_guest/initrd.gz
cmdline = console=ttyAMA0 quiet panic=-1
memory_mib = 192
probe = console
EOF
  else
    cat <<EOF

# An aarch64 guest under TCG with no OS ($arm_why): alive when it runs.
[guest:arm64]
os = none
arch = aarch64
machine = virt
memory_mib = 128
EOF
  fi
} > "$LAB_INCLUDE.tmp"
mv "$LAB_INCLUDE.tmp" "$LAB_INCLUDE"

t1=$(date +%s.%N)
lab_log "up: $n hosts in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s; include file $LAB_INCLUDE"
"$REPO_DIR/scripts/lab-status.sh"
