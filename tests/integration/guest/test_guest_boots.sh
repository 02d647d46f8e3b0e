#!/usr/bin/env bash
# Boots the qmd test guest (tests/guest/build-guest.sh) under TCG and proves what every later
# end-to-end test relies on: the agent answers, guest-exec runs busybox with output and exit
# code, the virtio disk is there with its known content, DHCP networking is up, and QEMU quits
# leaving no process or socket behind.
#
#   test_guest_boots.sh SOURCE_DIR GUEST_DIR [extra kernel args]
set -euo pipefail
export LC_ALL=C

src=${1:?usage: $0 SOURCE_DIR GUEST_DIR}
guest=${2:?usage: $0 SOURCE_DIR GUEST_DIR}
shift 2
agent_deadline=60

now() { date +%s%N; }
ms_since() { echo $((($(now) - $1) / 1000000)); }
fail() {
  echo "FAIL: $*" >&2
  if [[ -n "${tmp:-}" && -f "$tmp/serial.log" ]]; then
    echo "--- serial console (last 40 lines) ---" >&2
    tail -n 40 "$tmp/serial.log" >&2
  fi
  exit 1
}

"$src/tests/guest/ensure-packages.sh" socat qemu-system-x86

t0=$(now)
"$src/tests/guest/build-guest.sh" "$guest" >/dev/null
echo "guest build/cache check: $(ms_since "$t0") ms"
kver=$(cat "$guest/kernel-version")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qmd-guest-test.XXXXXX")
qemu_pid=
cleanup() {
  if [[ -n "$qemu_pid" ]] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  if [[ -n "${QGA_PID:-}" ]]; then
    kill "$QGA_PID" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# Each run writes its own copy, so parallel tests never share a disk.
cp "$guest/disk.img" "$tmp/disk.img"

t_boot=$(now)
qemu-system-x86_64 -accel tcg -machine q35 -m 512 -nodefaults -display none -no-reboot \
  -kernel "$guest/vmlinuz" -initrd "$guest/initramfs.img" \
  -append "console=ttyS0 panic=-1 quiet mitigations=off qmd.mount=/dev/vda $*" \
  -serial "file:$tmp/serial.log" \
  -qmp "unix:$tmp/qmp.sock,server=on,wait=off" \
  -chardev "socket,id=qga,path=$tmp/qga.sock,server=on,wait=off" \
  -device virtio-serial-pci -device virtserialport,chardev=qga,name=org.qemu.guest_agent.0 \
  -netdev user,id=n -device virtio-net-pci,netdev=n \
  -drive "file=$tmp/disk.img,if=virtio,format=raw" </dev/null >"$tmp/qemu.log" 2>&1 &
qemu_pid=$!

for _ in $(seq 1 100); do
  [[ -S "$tmp/qga.sock" ]] && break
  kill -0 "$qemu_pid" 2>/dev/null || fail "QEMU exited: $(cat "$tmp/qemu.log")"
  sleep 0.05
done
[[ -S "$tmp/qga.sock" ]] || fail "no agent socket after 5 s"

coproc QGA { exec socat - "UNIX-CONNECT:$tmp/qga.sock"; }
qga_in=${QGA[1]}
qga_out=${QGA[0]}

# Sends one command and sets $reply to its one-line answer.
qga() {
  printf '%s\n' "$1" >&"$qga_in"
  IFS= read -r -t "${2:-10}" reply <&"$qga_out" || fail "no reply to $1"
  [[ "$reply" != *'"error"'* ]] || fail "$1 -> $reply"
}

# guest-sync-delimited until the agent answers with our id; earlier syncs' replies (sent while
# the guest was still booting) and the 0xFF sentinel are skipped.
sync_id=1000
synced=
while (($(ms_since "$t_boot") < agent_deadline * 1000)); do
  kill -0 "$qemu_pid" 2>/dev/null || fail "QEMU exited while booting"
  sync_id=$((sync_id + 1))
  printf '{"execute":"guest-sync-delimited","arguments":{"id":%d}}\n' "$sync_id" >&"$qga_in"
  while IFS= read -r -t 2 line <&"$qga_out"; do
    if [[ "$line" == *"\"return\": $sync_id}"* ]]; then
      synced=1
      break
    fi
  done
  [[ -n "$synced" ]] && break
done
[[ -n "$synced" ]] || fail "agent did not answer within ${agent_deadline} s"
boot_ms=$(ms_since "$t_boot")
# Wall time depends on host load; QEMU's own CPU time is the steadier figure.
read -r -a stat <"/proc/$qemu_pid/stat"
cpu_ms=$(((stat[13] + stat[14]) * 1000 / $(getconf CLK_TCK)))
echo "boot to responding agent (TCG): $boot_ms ms wall, $cpu_ms ms QEMU CPU"

qga '{"execute":"guest-ping"}'
[[ "$reply" == '{"return": {}}' ]] || fail "guest-ping -> $reply"

qga '{"execute":"guest-get-osinfo"}'
[[ "$reply" == *"\"kernel-release\": \"$kver\""* ]] || fail "osinfo without $kver: $reply"

# Runs argv (JSON array) via guest-exec, waits for it, sets $exec_code and $exec_out.
guest_exec() {
  local path=$1 args=$2 pid
  qga "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"$path\",\"arg\":$args,\"capture-output\":true}}"
  pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' <<<"$reply")
  [[ -n "$pid" ]] || fail "guest-exec $path -> $reply"
  for _ in $(seq 1 100); do
    qga "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}"
    [[ "$reply" == *'"exited": true'* ]] && break
    sleep 0.1
  done
  [[ "$reply" == *'"exited": true'* ]] || fail "guest-exec $path did not finish: $reply"
  exec_code=$(sed -n 's/.*"exitcode": *\([0-9-]*\).*/\1/p' <<<"$reply")
  exec_out=$(sed -n 's/.*"out-data": *"\([^"]*\)".*/\1/p' <<<"$reply" | base64 -d)
}

guest_exec /bin/cat '["/proc/cpuinfo"]'
[[ "$exec_code" == 0 && "$exec_out" == *"model name"* ]] || fail "cpuinfo: $exec_code $exec_out"

guest_exec /bin/sh '["-c","echo out; exit 3"]'
[[ "$exec_code" == 3 && "$exec_out" == out ]] || fail "exit code: '$exec_code' '$exec_out'"

guest_exec /bin/ls '["/sys/block"]'
[[ "$exec_code" == 0 && "$exec_out" == *vda* ]] || fail "no vda in /sys/block: $exec_out"

guest_exec /bin/cat '["/mnt/hello.txt"]'
[[ "$exec_out" == "hello from the qmd test disk" ]] || fail "hello.txt: '$exec_out'"

qga '{"execute":"guest-network-get-interfaces"}'
[[ "$reply" == *'"ip-address": "10.0.2.15"'* ]] || fail "no 10.0.2.15 on eth0: $reply"

grep -q QMD-GUEST-READY "$tmp/serial.log" || fail "no QMD-GUEST-READY on the serial console"
echo "agent checks: $(ms_since "$t_boot") ms since boot"

# Quit through QMP and make sure QEMU is gone and left nothing behind.
t_quit=$(now)
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
  socat -t 5 - "UNIX-CONNECT:$tmp/qmp.sock" >"$tmp/qmp.log"
for _ in $(seq 1 100); do
  kill -0 "$qemu_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$qemu_pid" 2>/dev/null && fail "QEMU still running 10 s after quit"
wait "$qemu_pid" || fail "QEMU exited with status $?"
qemu_pid=
echo "quit: $(ms_since "$t_quit") ms"
if pgrep -f "qemu-system.*$tmp" >/dev/null; then
  fail "a qemu process still references $tmp"
fi
[[ ! -e "$tmp/qga.sock" && ! -e "$tmp/qmp.sock" ]] || fail "sockets left in $tmp"
echo "PASS (kernel $kver, boot to agent $boot_ms ms)"
