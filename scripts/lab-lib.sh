# lab-lib.sh: shared settings of the local lab scripts. Sourced, not run.
# Paths can be moved with MM_LAB_DIR (runtime state, gone after lab-down) and
# MM_LAB_CACHE (guest images, capabilities cache, KVM verdict: kept between labs).

LAB_DIR=${MM_LAB_DIR:-/var/tmp/migmatrix-lab}
LAB_CACHE=${MM_LAB_CACHE:-/var/cache/migmatrix-lab}
LAB_STATE=$LAB_DIR/state            # one line per host: NAME NETNS IP INIT_PID VETH
LAB_NET=10.200.0                    # hosts are .1, .2, …; the root namespace is .254
LAB_BRIDGE=mmlab0
LAB_GUEST_NET=10.200.1               # the guests' network; the root namespace is .254
LAB_GUEST_BRIDGE=mmguest0          # its bridge in the root namespace; each host has mmbr0 on it
LAB_PREFIX=mmlab                    # netns and link names start with this
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_INCLUDE=$REPO_DIR/scenarios/lab-generated.inc

# CPU features lab-c's QEMU masks, to emulate an older CPU generation. Guests whose CPU
# model needs one of them start on lab-a/lab-b but cannot migrate onto lab-c.
LAB_MASKED_FEATURES=${MM_LAB_MASKED_FEATURES:-pclmulqdq,aes,sse4.2}

lab_die() { echo "lab: $*" >&2; exit 1; }
lab_log() { echo "lab: $*" >&2; }

lab_host_name() { printf 'lab-%b' "\\x$(printf %x $((97 + $1)))"; }   # 0 -> lab-a

lab_require_root() {
  [[ $(id -u) -eq 0 ]] || lab_die "needs root (namespaces, libvirtd, sshd); run it with sudo"
  command -v unshare >/dev/null && command -v ip >/dev/null || lab_die "needs util-linux and iproute2: scripts/install-deps.sh"
}
