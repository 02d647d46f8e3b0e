#!/bin/bash
# Host shutdown, the sequence systemd runs, driven by hand (this host's PID 1 is not systemd):
# a restart of qmd (SIGTERM, start) leaves every guest running; `qmctl shutdown-guests` (the
# ExecStop of qmd-guests.service) powers the guests off in parallel through their agents and
# kills one that ignores ACPI and has no agent at hostShutdown.timeout, and records it; then
# qmd stops and starts again ("boot") and the runStrategy Always VMs start in autostart order.
# Also: the API group is refused, action none leaves the guests, a second request is a 409.
# (action suspend: e2e_host_suspend.sh.)
#
# VMs: g1, g2 (the test guest, agent; Always), s1 and s2 (firmware only: no OS, so no agent
# and deaf to ACPI; terminationGracePeriodSeconds 600 so only the timeout ends them; s1 Always,
# s2 Manual), m1 (Manual, never started).
source "$(dirname "$0")/lib.sh"

TIMEOUT=20  # hostShutdown.timeout, s
DELAY=2     # autostart.delay, s
ORDER=(g2 s1 g1)
ALWAYS=(g1 g2 s1)
GROUP=qmde2e
MEMBER=qmde2e-member

# events NAME...: every event of those VMs as JSON lines, oldest first.
events_of() {
  local vm
  for vm in "$@"; do
    curl -sS --max-time 10 --unix-socket "$SOCK" "http://qmd/v1/events?vm=$vm"
  done
}

setup() {
  if [[ $(id -u) -eq 0 ]]; then
    groupadd -f "$GROUP"
    id "$MEMBER" >/dev/null 2>&1 || useradd -r -g "$GROUP" -M -s /usr/sbin/nologin "$MEMBER"
  fi
  e2e_dir
  cat >"$T/qmd.yaml" <<EOF
hostShutdown:
  action: shutdown
  timeout: ${TIMEOUT}s
autostart:
  order: [$(IFS=,; echo "${ORDER[*]}" | sed 's/,/, /g')]
  delay: ${DELAY}s
EOF
  QMD_ARGS=(--config "$T/qmd.yaml")
  [[ $(id -u) -eq 0 ]] && QMD_ARGS+=(--group "$GROUP")
  e2e_setup
  qm create -f "$(spec g1 Always)" >/dev/null || fail "create g1"
  qm create -f "$(spec g2 Always)" >/dev/null || fail "create g2"
  local stubborn
  stubborn=$(spec s1 Always firmware)
  sed -i 's/terminationGracePeriodSeconds: 30/terminationGracePeriodSeconds: 600/' "$stubborn"
  qm create -f "$stubborn" >/dev/null || fail "create s1"
  stubborn=$(spec s2 Manual firmware)
  sed -i 's/terminationGracePeriodSeconds: 30/terminationGracePeriodSeconds: 600/' "$stubborn"
  qm create -f "$stubborn" >/dev/null || fail "create s2"
  qm create -f "$(spec m1 Manual)" >/dev/null || fail "create m1"
  local vm
  for vm in "${ALWAYS[@]}"; do
    qm start "$vm" >/dev/null || fail "start $vm"
  done
  wait_agent g1 120
  wait_agent g2 120
  wait_state s1 running 30
  qm start s2 >/dev/null || fail "start s2"
  wait_state s2 running 30
}

# systemctl restart qmd: SIGTERM to qmd alone, a new qmd; every guest keeps running, adopted.
scenario_restart_keeps_guests() {
  local vm before=() after=()
  for vm in "${ALWAYS[@]}"; do before+=("$(vm_pid "$vm")"); done
  stop_qmd
  for pid in "${before[@]}"; do
    alive "$pid" || fail "QEMU $pid ended when qmd was stopped"
  done
  start_qmd
  for vm in "${ALWAYS[@]}"; do
    wait_state "$vm" running 30
    after+=("$(vm_pid "$vm")")
  done
  [[ "${before[*]}" == "${after[*]}" ]] || fail "pids ${before[*]} became ${after[*]}"
  events_of "${ALWAYS[@]}" | grep_q '"type":"ShutdownRequested"' &&
    fail "a restart of qmd asked a guest to shut down"
  wait_agent g1 60
  wait_agent g2 60
}

# The API group may stop its VMs one by one, not every guest at once.
scenario_group_member_refused() {
  [[ $(id -u) -eq 0 ]] || { log "not root: no group member to try"; return 0; }
  local out status
  out=$(setpriv --reuid "$MEMBER" --regid "$GROUP" --clear-groups \
    curl -sS --max-time 30 --unix-socket "$SOCK" -w '\n%{http_code}' \
    -X POST "http://qmd/v1/host/shutdown-guests") || fail "curl as $MEMBER"
  status=$(tail -n 1 <<<"$out")
  [[ "$status" == 403 ]] || fail "a group member got HTTP $status: $out"
  grep_q 'qmd-guests.service' <<<"$out" || fail "the 403 does not say who may: $out"
  local vm
  for vm in "${ALWAYS[@]}" s2; do
    [[ "$(vm_state "$vm")" == running ]] || fail "$vm is $(vm_state "$vm") after the refusal"
  done
}

# qmd-guests.service's ExecStop: both agents power their guests off, s1 is ended at the
# timeout, all at once; the report says so and stays on disk.
scenario_shutdown_guests() {
  local report
  report=$(qm -o json shutdown-guests) || fail "qmctl shutdown-guests failed: $report"
  echo "$report" >"$T/report.json"
  log "report: $(json_get '[(v["name"], v["outcome"], v["milliseconds"]) for v in d["vms"]]' \
    <<<"$report") total $(json_get 'd["milliseconds"]' <<<"$report") ms"
  local names
  names=$(json_get '" ".join(sorted(v["name"] for v in d["vms"]))' <<<"$report")
  [[ "$names" == "g1 g2 s1 s2" ]] ||
    fail "the report lists [$names], not g1 g2 s1 s2 (m1 never ran)"
  for vm in g1 g2; do
    [[ "$(json_get "[v for v in d['vms'] if v['name']=='$vm'][0]['outcome']" <<<"$report")" == \
      poweredOff ]] || fail "$vm was not powered off: $report"
    [[ "$(json_get "[v for v in d['vms'] if v['name']=='$vm'][0]['how']" <<<"$report")" == \
      "guest agent" ]] || fail "$vm was not asked through its agent: $report"
  done
  local deaf vm
  for vm in s1 s2; do
    deaf=$(json_get "[v for v in d['vms'] if v['name']=='$vm'][0]" <<<"$report")
    [[ "$(json_get 'd["outcome"]' <<<"$deaf")" == killed ]] || fail "$vm was not killed: $deaf"
    [[ "$(json_get 'd["how"]' <<<"$deaf")" == ACPI ]] || fail "$vm was not asked by ACPI: $deaf"
    [[ "$(json_get 'd["detail"]' <<<"$deaf")" == *"within $TIMEOUT s"* ]] ||
      fail "$vm's own grace (600 s) was not capped by the timeout: $deaf"
    json_get "d['milliseconds'] >= $TIMEOUT * 1000" <<<"$deaf" | grep_q -x true ||
      fail "$vm was ended before the timeout: $deaf"
  done
  # In parallel: the whole took well under the VMs' own times added up (two of them waited
  # the whole timeout each).
  json_get 'd["milliseconds"] < 0.75 * sum(v["milliseconds"] for v in d["vms"])' <<<"$report" |
    grep_q -x true || fail "not in parallel: $report"
  for vm in "${ALWAYS[@]}" s2; do
    [[ "$(vm_state "$vm")" == stopped ]] || fail "$vm is $(vm_state "$vm") after shutdown-guests"
  done
  [[ -z "$(procs_of_tmp)" ]] || fail "QEMU left running: $(procs_of_tmp)"
  [[ "$(vm_state m1)" == stopped ]] || fail "m1 is $(vm_state m1)"
  # The record on disk is the answer.
  json_get '[(v["name"], v["outcome"]) for v in d["vms"]]' <"$T/state/host-shutdown.json" \
    >"$T/record.txt" || fail "no $T/state/host-shutdown.json"
  [[ "$(cat "$T/record.txt")" == "$(json_get '[(v["name"], v["outcome"]) for v in d["vms"]]' \
    <<<"$report")" ]] || fail "the record differs from the answer: $(cat "$T/record.txt")"
}

# The guests' own SHUTDOWN events: g1 and g2 powered themselves off (guest-shutdown), s1 was
# quit after StopEscalated; every guest was asked before the deaf ones were killed.
scenario_events_say_how() {
  events_of g1 g2 s1 s2 >"$T/events.ndjson"
  python3 - "$T/events.ndjson" <<'EOF' || fail "events: see above"
import json, sys
events = sorted((json.loads(l) for l in open(sys.argv[1]) if l.strip()), key=lambda e: e["time"])
def of(vm, type_):
    return [e for e in events if e["vm"] == vm and e["type"] == type_]
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("events:", what, file=sys.stderr)
        ok = False
for vm in ("g1", "g2"):
    check(any("guest-shutdown" in e["message"] for e in of(vm, "Shutdown")),
          f"{vm}: no SHUTDOWN with reason guest-shutdown: {of(vm, 'Shutdown')}")
    check(not of(vm, "StopEscalated"), f"{vm} was escalated")
    check(any("guest agent" in e["message"] for e in of(vm, "ShutdownRequested")),
          f"{vm}: not asked through the agent")
for vm in ("s1", "s2"):
    check(of(vm, "StopEscalated"), f"{vm}: no StopEscalated")
    check(any("ACPI" in e["message"] for e in of(vm, "ShutdownRequested")),
          f"{vm}: ACPI not tried")
    check(all("guest-shutdown" not in e["message"] for e in of(vm, "Shutdown")),
          f"{vm} says it shut itself down")
for vm in ("g1", "g2", "s1", "s2"):
    check(of(vm, "HostShutdown"), f"{vm}: no HostShutdown event")
# In parallel: s1 and s2 hold out until the timeout, so one after the other would ask the
# later ones only once an earlier deaf guest was killed. (A guest with an agent may well be
# off before the last one is asked: that is not a sign of order.)
asked = [min(e["time"] for e in of(vm, "ShutdownRequested"))
         for vm in ("g1", "g2", "s1", "s2") if of(vm, "ShutdownRequested")]
deaf_stopped = [e["time"] for e in events if e["vm"] in ("s1", "s2")
                and e["type"] == "StateChanged" and e["state"] == "stopped"]
check(len(asked) == 4 and deaf_stopped and max(asked) < min(deaf_stopped),
      f"a guest was first asked only after a deaf one was killed: asked {asked}, "
      f"deaf stopped {deaf_stopped}")
sys.exit(0 if ok else 1)
EOF
}

# systemd then stops qmd; at the next boot qmd starts the Always VMs fresh, in order.
scenario_boot_starts_always_in_order() {
  stop_qmd
  start_qmd
  local vm
  for vm in "${ALWAYS[@]}"; do
    wait_state "$vm" running 60
  done
  for vm in m1 s2; do
    [[ "$(vm_state $vm)" == stopped ]] || fail "$vm (Manual) is $(vm_state $vm) after the boot"
  done
  events_of "${ALWAYS[@]}" >"$T/boot.ndjson"
  python3 - "$T/boot.ndjson" "$DELAY" "${ORDER[@]}" <<'EOF' || fail "autostart order: see above"
import datetime, json, sys
path, delay, order = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
events = [json.loads(l) for l in open(path) if l.strip()]
first = {}
for e in events:
    if e["type"] == "StateChanged" and e["state"] == "starting" and e["vm"] not in first:
        first[e["vm"]] = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
if any("adopted" in e["message"] for e in events):
    sys.exit("a VM was adopted: QEMU should have been gone")
got = sorted(first, key=first.get)
if got != order:
    sys.exit(f"started in order {got}, not {order}")
for a, b in zip(order, order[1:]):
    gap = (first[b] - first[a]).total_seconds()
    if gap < delay:
        sys.exit(f"{b} started {gap:.2f} s after {a}, less than autostart.delay {delay} s")
print("autostart:", ", ".join(f"{vm} {first[vm].time()}" for vm in order))
EOF
  wait_agent g1 120
  wait_agent g2 120
}

# hostShutdown.action none: shutdown-guests answers at once and every guest keeps running.
scenario_action_none_leaves_guests() {
  sed 's/action: shutdown/action: none/' "$T/qmd.yaml" >"$T/none.yaml"
  stop_qmd
  QMD_ARGS[1]=$T/none.yaml
  start_qmd
  local report vm
  report=$(qm -o json shutdown-guests) || fail "shutdown-guests with action none: $report"
  [[ "$(json_get '[d["action"], len(d["vms"])]' <<<"$report")" == '["none", 0]' ]] ||
    fail "action none did something: $report"
  # What people (and the journal, under systemd) read.
  report=$(qm shutdown-guests) || fail "shutdown-guests with action none: $report"
  [[ "$report" =~ ^0\ VMs\ \(none\)\ in\ [0-9.]+\ s\;\ report\ in\ .*/host-shutdown\.json$ ]] ||
    fail "qmctl shutdown-guests printed: $report"
  for vm in "${ALWAYS[@]}"; do
    [[ "$(vm_state "$vm")" == running ]] || fail "$vm is $(vm_state "$vm") with action none"
  done
  stop_qmd
  QMD_ARGS[1]=$T/qmd.yaml
  start_qmd
}

# One host shutdown at a time: a second request while the first waits for s1 is a 409.
scenario_second_request_conflicts() {
  local first
  qm -o json shutdown-guests >"$T/first.json" 2>&1 &
  first=$!
  wait_for 30 "s1 to be asked to shut down" state_is s1 shuttingdown
  expect_status 409 POST /v1/host/shutdown-guests
  grep_q 'running already' <<<"$BODY" || fail "the 409 does not say why: $BODY"
  wait "$first" || fail "the first shutdown-guests failed: $(cat "$T/first.json")"
  log "first: $(json_get '[(v["name"], v["outcome"]) for v in d["vms"]]' <"$T/first.json")"
  json_get '" ".join(sorted(v["name"] for v in d["vms"]))' <"$T/first.json" |
    grep_q -x "g1 g2 s1" || fail "the first shutdown-guests: $(cat "$T/first.json")"
}

setup
run_scenarios host-shutdown scenario_restart_keeps_guests scenario_group_member_refused \
  scenario_shutdown_guests scenario_events_say_how scenario_boot_starts_always_in_order \
  scenario_action_none_leaves_guests scenario_second_request_conflicts
