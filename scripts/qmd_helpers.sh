# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154  # sets variables for its callers; they set qmd and qmctl
# Sourced by scripts/demo.sh and tests/bench/bench_start.sh: a private qmd in a temporary
# directory (started as the invoking user, waited for, stopped, cleaned up) and a VM spec that
# boots the test guest. Callers set `qmd` and `qmctl` (the binaries) first. Safe under set -e.
#
#   qmd_make_work PREFIX       work=/tmp/PREFIX.XXXXXX (world-readable), socket, qmd_pid=
#   q ARGS...                  qmctl against that qmd
#   qmd_install_guest          build the test guest (cached in build/guest-demo), copy it into
#                              $storage/guest (qmd's storage root); sets `guest` (the cache)
#   qmd_set_flags KVM          qmd_flags (TCG unless KVM is 1; --qemu-user as root;
#                              masquerade as user-mode networking), qemu_user
#   qmd_start                  qmd "${qmd_flags[@]}" in the background, log in $work/qmd.log
#   qmd_wait_api [SECONDS]     until the API answers (60 s); else 1 and `qmd_error` says why
#   qmd_stop                   SIGTERM, wait; returns qmd's exit status
#   qmd_guest_spec NAME        a 1-vCPU, 256 MiB VirtualMachine booting the guest, on stdout
#   qmd_cleanup                no qmd, QEMU or swtpm of ours left; $work removed

qmd_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

qmd_make_work() {
  work=$(mktemp -d "/tmp/$1.XXXXXX") || return 1
  # QEMU (dropped to another user when we are root) must read the guest's kernel here.
  chmod 0755 "$work"
  socket=$work/run/qmd.sock
  storage=$work/storage  # qmd's storage root: the only place a spec may name files
  qmd_pid=
}

q() { "$qmctl" -s "$socket" "$@"; }

qmd_install_guest() {
  guest=$("$qmd_src/tests/guest/build-guest.sh" "$qmd_src/build/guest-demo") || return 1
  # Copied rather than read from a build tree that may be private to its owner.
  mkdir -p "$storage/guest" &&
    install -m 0644 "$guest/vmlinuz" "$guest/initramfs.img" "$storage/guest/"
}

qmd_set_flags() {
  qmd_flags=(--config "$work/qmd.yaml" --state-dir "$work/state" --run-dir "$work/run"
    --storage-root "$storage")
  # A private qmd never builds the NAT network (bridge, nftables, dnsmasq) on the host's own
  # network: its masquerade interfaces are user-mode networking.
  qmd_flags+=(--masquerade user)
  if [[ "$1" != 1 ]]; then
    qmd_flags+=(--emulation)
  fi
  qemu_user=
  if [[ $(id -u) -eq 0 ]]; then
    # As root, QEMU runs as an unprivileged user: the packaged qmd-qemu when it exists.
    qemu_user=nobody
    if id qmd-qemu >/dev/null 2>&1; then
      qemu_user=qmd-qemu
    fi
    qmd_flags+=(--qemu-user "$qemu_user")
  fi
}

qmd_start() {
  # A config of its own, so an installed /etc/qmd/qmd.yaml changes nothing.
  echo "hyperv: strict" >"$work/qmd.yaml"
  "$qmd" "${qmd_flags[@]}" >"$work/qmd.log" 2>&1 &
  qmd_pid=$!
}

# qmd probes the host (a few QEMU runs) before it listens.
qmd_wait_api() {
  local i tenths=$((${1:-60} * 10))
  qmd_error=
  for ((i = 0; i < tenths; i++)); do
    if ! kill -0 "$qmd_pid" 2>/dev/null; then
      qmd_error="qmd exited during start-up"
      return 1
    fi
    if q host >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  qmd_error="qmd's API did not answer within ${1:-60} s"
  return 1
}

qmd_stop() {
  local rc=0
  kill -TERM "$qmd_pid" 2>/dev/null || true
  wait "$qmd_pid" || rc=$?
  qmd_pid=
  return "$rc"
}

qmd_guest_spec() {
  cat <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: $1}
spec:
  runStrategy: Manual
  template:
    spec:
      domain:
        cpu: {cores: 1}
        memory: {guest: 256Mi}
        firmware:
          kernelBoot:
            kernelPath: $storage/guest/vmlinuz
            initrdPath: $storage/guest/initramfs.img
            kernelArgs: "console=ttyS0 panic=-1 quiet mitigations=off"
        devices: {autoattachGraphicsDevice: false, interfaces: []}
      networks: []
EOF
}

qmd_cleanup() {
  if [[ -n "${qmd_pid:-}" ]] && kill -0 "$qmd_pid" 2>/dev/null; then
    kill -TERM "$qmd_pid" 2>/dev/null || true
    wait "$qmd_pid" 2>/dev/null || true
  fi
  [[ -n "${work:-}" ]] || return 0
  local pid
  for pid in $(pgrep -f -- "$work/" 2>/dev/null); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
