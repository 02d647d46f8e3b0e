# Shared by the qmd end-to-end tests (tests/integration/daemon/e2e_*.sh): a real qmd in a fresh
# temp dir, real QEMU under TCG, the real test guest. Source it, then call `e2e_setup`.
#
# Environment (meson.build sets it): QMD_BIN, QMCTL_BIN, QMD_GUEST_DIR, QMD_SOURCE_DIR.
#
# Everything waits with a bound (wait_for); the EXIT trap kills qmd and every QEMU/swtpm whose
# command line names the temp dir, kills the extra pids a test registered, and removes the dir.
set -euo pipefail
export LC_ALL=C

: "${QMD_BIN:?QMD_BIN: the qmd binary}"
: "${QMCTL_BIN:?QMCTL_BIN: the qmctl binary}"
: "${QMD_GUEST_DIR:?QMD_GUEST_DIR: where build-guest.sh caches the test guest}"
: "${QMD_SOURCE_DIR:?QMD_SOURCE_DIR: the source tree}"

T=          # the test's temp dir: state/, run/, storage/ (S), specs, logs
S=          # $T/storage: the storage root every test qmd gets
SOCK=       # qmd's API socket
QMD_PID=    # the running qmd (empty when none)
EXTRA_PIDS=()  # unrelated processes a test started (e.g. a `sleep` a pidfile points at)
STATUS=     # api: the last HTTP status
BODY=       # api: the last response body

now_ms() { echo $(($(date +%s%N) / 1000000)); }
log() { echo "[$(date +%T.%3N)] $*" >&2; }

fail() {
  echo "FAIL: $*" >&2
  if [[ -n "$T" && -f "$T/qmd.log" ]]; then
    echo "--- qmd log (last 60 lines) ---" >&2
    tail -n 60 "$T/qmd.log" >&2 || true
    for qlog in "$T"/state/vms/*/qemu.log; do
      [[ -f "$qlog" ]] || continue
      echo "--- $qlog (last 15 lines) ---" >&2
      tail -n 15 "$qlog" >&2 || true
    done
  fi
  exit 1
}

# Pids of every process whose command line mentions the temp dir (QEMU, swtpm, passt), but not
# this shell's own helpers (curl, python, qmctl get the socket path, not a VM path).
procs_of_tmp() {
  local pid cmd
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || continue
    case "$cmd" in
      *qemu-system*"$T/"* | *swtpm*"$T/"* | *passt*"$T/"*) echo "$pid" ;;
    esac
  done
}

# Pids of this VM's QEMU, swtpm and passt (their command lines hold RUN/vms/NAME/).
procs_of_vm() {
  local name=$1 pid cmd
  for pid in $(procs_of_tmp); do
    cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || continue
    [[ "$cmd" == *"$T/run/vms/$name/"* ]] && echo "$pid"
  done
  return 0
}

e2e_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$QMD_PID" ]]; then
    kill -KILL "$QMD_PID" 2>/dev/null || true
    wait "$QMD_PID" 2>/dev/null || true
  fi
  # Every qmd this test started, also those a subshell's start_qmd left: only a pid that is
  # still this test's qmd (its cmdline names $T) is killed.
  if [[ -n "$T" && -f "$T/qmd.pids" ]]; then
    local started
    while read -r started; do
      [[ "$({ tr '\0' ' ' <"/proc/$started/cmdline"; } 2>/dev/null)" == *"$QMD_BIN"*"$T/"* ]] &&
        kill -KILL "$started" 2>/dev/null || true
    done <"$T/qmd.pids"
  fi
  if [[ -n "$T" ]]; then
    local pids pid i
    for i in $(seq 1 50); do
      pids=$(procs_of_tmp)
      [[ -z "$pids" ]] && break
      for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
      sleep 0.1
    done
    [[ -n "$(procs_of_tmp)" ]] && echo "cleanup: processes left: $(procs_of_tmp)" >&2
  fi
  for pid in "${EXTRA_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  local hook
  for hook in "${EXIT_HOOKS[@]}"; do
    eval "$hook" || true
  done
  if [[ -n "$T" && -d "$T" ]]; then
    if [[ $rc -ne 0 && -n "${QMD_KEEP_FAILED:-}" ]]; then
      echo "kept $T" >&2
    else
      rm -rf "$T"
    fi
  fi
  exit "$rc"
}

# Makes the temp dir and arms the cleanup (e2e_setup does it when a test has not).
e2e_dir() {
  # Short and under /tmp: socket paths stay well below 108 bytes, and the QEMU user can
  # reach it even when the checkout sits under an unreadable home.
  T=$(mktemp -d /tmp/qmd-e2e.XXXXXX)
  trap e2e_cleanup EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  chmod 0755 "$T"
  S=$T/storage  # every test qmd's storage root (--storage-root): disks and the guest go here
  mkdir -p "$S"
  chmod 0755 "$S"
}

# Copies the guest into the storage root (readable by the QEMU user) and starts qmd.
e2e_setup() {
  "$QMD_SOURCE_DIR/tests/guest/build-guest.sh" "$QMD_GUEST_DIR" >/dev/null
  [[ -n "$T" ]] || e2e_dir
  mkdir -p "$S/guest"
  install -m 0644 "$QMD_GUEST_DIR/vmlinuz" "$QMD_GUEST_DIR/initramfs.img" "$S/guest/"
  SOCK=$T/run/qmd.sock
  start_qmd
}

QMD_ARGS=()  # extra qmd flags a test sets before e2e_setup (e.g. --config)
EXIT_HOOKS=()  # commands the EXIT trap runs after the processes are gone (a test's bridge, ...)
QEMU_USER=nobody  # when root; a test that needs /dev/net/tun (0600 on these hosts) uses root
# A root qmd's VM uids (--qemu-uids FIRST:COUNT): a range of this test's own, past the default
# range's first 65536 and keyed by the test's pid, so parallel tests' qmds never share a uid
# (on one real host one qmd owns the range). qmd_uids K: the K-th qmd of the test (B is 1).
qmd_uids() { echo "$((1879048192 + 65536 + ($$ * 2 + ${1:-0}) * 64)):64"; }
QMD_UIDS=$(qmd_uids 0)  # empty: the config's qemuUids (a test that sets its own)
QMD_AS=           # root only: run qmd itself as this user (a developer's unprivileged qmd)
QMD_MASQUERADE=   # nat: qmd runs the managed NAT network (only inside a test's own netns)
QMD_WRAP=()       # a command qmd runs under (e.g. ip netns exec NS: qmd in a test's netns)

start_qmd() {
  local args=(--state-dir "$T/state" --run-dir "$T/run" --storage-root "$S" --emulation
    --log-level debug)
  local wrap=()
  if [[ -n "$QMD_AS" ]]; then
    chown "$QMD_AS" "$T"
    wrap=(setpriv --reuid "$QMD_AS" --regid "$(id -g "$QMD_AS")" --clear-groups env "HOME=$T")
  elif [[ $(id -u) -eq 0 ]]; then
    args+=(--qemu-user "$QEMU_USER")
    [[ -z "$QMD_UIDS" ]] || args+=(--qemu-uids "$QMD_UIDS")
  fi
  # masquerade stays user-mode networking unless a test asks for the NAT network (which it
  # runs in its own network namespace): no test touches the host's network.
  args+=(--masquerade "${QMD_MASQUERADE:-user}")
  args+=("${QMD_ARGS[@]}")
  "${wrap[@]}" "${QMD_WRAP[@]}" "$QMD_BIN" "${args[@]}" >>"$T/qmd.log" 2>&1 &
  QMD_PID=$!
  echo "$QMD_PID" >>"$T/qmd.pids"  # a scenario in a subshell sets QMD_PID only there
  local until=$(($(now_ms) + 20000))
  until curl -sf --max-time 2 --unix-socket "$SOCK" http://qmd/v1/host >/dev/null 2>&1; do
    kill -0 "$QMD_PID" 2>/dev/null || fail "qmd exited at start"
    (($(now_ms) < until)) || fail "qmd did not answer on $SOCK within 20 s"
    sleep 0.1
  done
}

# The qmd this test runs now, wherever it was started: a scenario's subshell may have
# restarted it (its QMD_PID stays there), so the last pid start_qmd wrote, while it still runs.
current_qmd() {
  local pid
  pid=$(tail -n 1 "$T/qmd.pids" 2>/dev/null) || return 0
  [[ -n "$pid" ]] && alive "$pid" &&
    [[ "$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" == *"$QMD_BIN"*"$T/"* ]] &&
    echo "$pid"
  return 0
}

# Stops qmd the way systemd stops qmd.service (SIGTERM to qmd alone; its VMs keep running) and
# waits until it is gone: by its /proc entry, as a subshell's qmd is not this shell's child.
stop_qmd() {
  [[ -n "$QMD_PID" ]] || return 0
  kill -TERM "$QMD_PID"
  wait_for 20 "qmd to exit after SIGTERM" eval '! alive "$QMD_PID"'
  wait "$QMD_PID" 2>/dev/null || true  # reaps it when this shell started it
  QMD_PID=
}

# SIGKILL qmd (its VMs keep running).
kill_qmd() {
  kill -KILL "$QMD_PID"
  wait "$QMD_PID" 2>/dev/null || true
  QMD_PID=
}

qm() { "$QMCTL_BIN" -s "$SOCK" "$@"; }

# api METHOD PATH [curl args...]: sets STATUS and BODY. Bounded by curl's --max-time.
api() {
  local method=$1 path=$2
  shift 2
  local out
  out=$(mktemp "$T/body.XXXXXX")
  STATUS=$(curl -sS --max-time 120 --unix-socket "$SOCK" -o "$out" -w '%{http_code}' \
    -X "$method" "$@" "http://qmd$path") || STATUS="curl-failed:$?"
  BODY=$(cat "$out")
  rm -f "$out"
}

# expect_status WANT METHOD PATH [curl args...]
expect_status() {
  local want=$1
  shift
  api "$@"
  [[ "$STATUS" == "$want" ]] || fail "$1 $2: HTTP $STATUS, expected $want: $BODY"
}

# jq-free JSON: json_get 'EXPR' < JSON, with the document bound to d. Prints str/num as is,
# booleans as true/false, null as empty, anything else as JSON.
json_get() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
if isinstance(v, bool): print("true" if v else "false")
elif v is None: print("")
elif isinstance(v, (dict, list)): print(json.dumps(v))
else: print(v)
' "$1"
}

show_field() {  # show_field NAME 'EXPR'  (through qmctl show -o json)
  qm -o json show "$1" | json_get "$2"
}
vm_state() { show_field "$1" 'd["state"]'; }
vm_pid() { show_field "$1" 'd["pid"]'; }
# A root qmd's VM runs as a uid of its own (qemuUids), kept in its record from its first start.
vm_uid() { json_get 'd.get("qemuUid")' <"$T/state/vms/$1/record.json"; }
qemu_owner() {  # the uid VM NAME's QEMU runs as: its own, else QEMU_USER's (root), else qmd's
  local uid
  uid=$(vm_uid "$1")
  if [[ -n "$uid" ]]; then echo "$uid"; elif [[ $(id -u) -eq 0 ]]; then id -u "$QEMU_USER"; else id -u; fi
}
as_vm_uid() {  # as_vm_uid NAME COMMAND...: runs COMMAND as VM NAME's QEMU would (uid = gid)
  local uid
  uid=$(vm_uid "$1") && [[ -n "$uid" ]] || fail "VM $1 has no uid of its own"
  shift
  setpriv --reuid "$uid" --regid "$uid" --clear-groups "$@"
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local until=$(($(now_ms) + limit * 1000))
  until "$@"; do
    (($(now_ms) < until)) || fail "timed out after $limit s waiting for $what"
    sleep 0.1
  done
}

state_is() { [[ "$(vm_state "$1" 2>/dev/null)" == "$2" ]]; }
wait_state() { wait_for "$3" "VM $1 to be $2" state_is "$1" "$2"; }
agent_up() { [[ "$(show_field "$1" 'd["agent"]["connected"]' 2>/dev/null)" == true ]]; }
wait_agent() { wait_for "${2:-90}" "the guest agent of $1" agent_up "$1"; }

# run_scenarios TEST SCENARIO...: runs each scenario function in a subshell that stops at its
# first failing command, prints PASS or FAIL for it and goes on after a failure; then PASS
# TEST, or fails naming the failures. (Inside `if ( ... )` bash ignores set -e: the subshell
# runs outside any condition, with errexit off only here in the caller.) What a scenario
# leaves for the next goes through files in $T; the qmd it (re)started is picked up here.
run_scenarios() {
  local test=$1 scenario status
  local -a failed=()
  shift
  for scenario in "$@"; do
    set +e
    (set -e; "$scenario")
    status=$?
    set -e
    [[ -z "$T" ]] || QMD_PID=$(current_qmd)
    if ((status == 0)); then
      echo "PASS ${scenario#scenario_}"
    else
      echo "FAIL ${scenario#scenario_}"
      failed+=("${scenario#scenario_}")
    fi
  done
  ((${#failed[@]} == 0)) || fail "some scenarios failed: ${failed[*]}"
  echo "PASS $test"
}

# The StateChanged states of a VM's events, one per line, oldest first.
state_changes() {
  curl -sS --max-time 10 --unix-socket "$SOCK" "http://qmd/v1/events?vm=$1" | python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        e = json.loads(line)
        if e["type"] == "StateChanged":
            print(e["state"])
'
}

# need_root_and_tools WHY TOOL...: skips the test (exit 77) unless it runs as root, which WHY
# needs, and every TOOL is installed.
need_root_and_tools() {
  local why=$1 tool
  shift
  if [[ $(id -u) -ne 0 ]]; then
    echo "skipped: $why need root"
    exit 77
  fi
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
  done
}

# grep -q at the end of a pipe exits at the first match, and with pipefail the writer's
# SIGPIPE fails the pipe: read everything instead.
grep_q() { grep "$@" >/dev/null; }

# A process that still runs: a zombie (exited, not yet reaped — an adopted QEMU's parent is
# init, not qmd) does not count.
alive() { [[ -d /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
utc_now() { python3 -c 'import datetime; print(datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")'; }

# /proc/PID/status line VALUE (tabs kept), e.g. proc_status 1234 Seccomp -> "2"
proc_status() { sed -n "s/^$2:\t//p" "/proc/$1/status"; }

# console_until VM TEXT LINE: attaches to VM's serial console (qmctl console), types TEXT and
# prints what comes back, up to the first line that is LINE, then detaches; at most 30 s.
# Its status is qmctl's.
console_until() {
  local text=$2 until=$3 line
  coproc CONSOLE { timeout 30 "$QMCTL_BIN" -s "$SOCK" console "$1" 2>/dev/null; }
  local to=${CONSOLE[1]} from=${CONSOLE[0]} pid=$CONSOLE_PID
  printf '%s' "$text" >&"$to"
  while IFS= read -r line <&"$from"; do
    line=${line%$'\r'}
    printf '%s\n' "$line"
    [[ "$line" != "$until" ]] || break
  done
  exec {to}>&-
  wait "$pid"
}

# The guest's serial shell (the test guest runs one on ttyS0), through qmctl console.
# guest_sh VM CMD: runs CMD in the guest and prints its output. The markers are computed by
# the guest's shell, so the echoed command line never matches them. Fails when the guest's
# answer did not come back whole (both markers).
guest_sh() {
  local out text
  printf -v text '\necho "=[$((40+2))"; %s; echo "]=$((40+2))"\n' "$2"
  out=$(console_until "$1" "$text" ']=42') || true
  grep_q -x '=\[42' <<<"$out" && grep_q -x '\]=42' <<<"$out" || return 1
  sed -n '/^=\[42$/,/^\]=42$/p' <<<"$out" | sed -e '1d' -e '$d'
}
# guest_is VM CMD WANT: CMD's output, blanks dropped and lines joined by commas, is WANT.
guest_is() {
  local out
  out=$(guest_sh "$1" "$2") || return 1
  [[ "$(tr -d ' ' <<<"$out" | paste -sd, -)" == "$3" ]]
}
# guest_wait SECONDS WHAT VM CMD WANT: until guest_is VM CMD WANT.
guest_wait() { wait_for "$1" "$2" guest_is "$3" "$4" "$5"; }

# spec NAME [STRATEGY] [KIND]: writes $T/NAME.yaml, prints its path. KIND: guest (the test
# guest, default), tpm (the guest plus an ephemeral swtpm), firmware (no kernel: SeaBIOS finds
# nothing to boot and idles; for tests that need a QEMU, not a guest).
spec() {
  local name=$1 strategy=${2:-Manual} kind=${3:-guest}
  local file=$T/$name.yaml firmware="" tpm=""
  if [[ "$kind" != firmware ]]; then
    firmware="
        firmware:
          kernelBoot:
            kernelPath: $S/guest/vmlinuz
            initrdPath: $S/guest/initramfs.img
            kernelArgs: \"console=ttyS0 panic=-1 quiet mitigations=off\""
  fi
  if [[ "$kind" == tpm ]]; then
    tpm="
          tpm: {}"
  fi
  cat >"$file" <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: $name
spec:
  runStrategy: $strategy
  template:
    spec:
      terminationGracePeriodSeconds: 30
      domain:
        cpu: {cores: 1}
        memory: {guest: 256Mi}$firmware
        devices:
          autoattachGraphicsDevice: false
          interfaces: []$tpm
      networks: []
EOF
  echo "$file"
}
