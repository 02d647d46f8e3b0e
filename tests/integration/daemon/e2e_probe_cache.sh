#!/usr/bin/env bash
# The host probe cache (<state dir>/host-probe.json): the first qmd probes and writes it; the
# next starts from it (GET /v1/host probe.startedFrom "cache") with its running VM adopted,
# and probes again in the background (and takes the new caps when they differ); a corrupt file, one others may write, another QEMU
# binary, or the same binary touched, each make qmd probe afresh and say why.
source "$(dirname "$0")/lib.sh"

CACHE=  # set by setup

probe_field() {  # probe_field KEY: GET /v1/host's probe.KEY
  curl -sS --max-time 10 --unix-socket "$SOCK" http://qmd/v1/host | json_get "d['probe']['$1']"
}
# What the current qmd wrote to qmd.log: from the line $T/log-from names (each scenario runs
# in a subshell; the next one reads where the last restart began).
this_log() { tail -n "+$(cat "$T/log-from" 2>/dev/null || echo 1)" "$T/qmd.log"; }

restart_qmd() {
  stop_qmd
  echo "$(($(wc -l <"$T/qmd.log") + 1))" >"$T/log-from"
  start_qmd
}

refresh_done() { [[ "$(probe_field refresh)" != pending ]]; }

setup() {
  e2e_dir
  echo "hyperv: strict" >"$T/qmd.yaml"
  QMD_ARGS=(--config "$T/qmd.yaml")
  CACHE=$T/state/host-probe.json
  e2e_setup
}

scenario_first_start_probes() {
  [[ "$(probe_field startedFrom)" == probe ]] || fail "startedFrom $(probe_field startedFrom)"
  [[ "$(probe_field refresh)" == none ]] || fail "refresh $(probe_field refresh)"
  this_log | grep_q "the probe cache $CACHE is not used: there is none" ||
    fail "no log line saying there was no cache"
  [[ -f "$CACHE" ]] || fail "no cache written"
  [[ "$(stat -c '%a %u' "$CACHE")" == "600 $(id -u)" ]] || fail "cache is $(stat -c '%a %u' "$CACHE")"
}

scenario_second_start_uses_cache() {
  qm create -f "$(spec r1 Manual firmware)" >/dev/null || fail "create r1"
  qm start r1 >/dev/null || fail "start r1"
  local pid probed
  pid=$(vm_pid r1)
  probed=$(probe_field probedAt)
  restart_qmd
  [[ "$(probe_field startedFrom)" == cache ]] || fail "startedFrom $(probe_field startedFrom): $(this_log)"
  this_log | grep_q "host caps from the probe cache $CACHE (probed $probed)" ||
    fail "no log line naming the cache and its time $probed"
  [[ "$(vm_state r1)" == running && "$(vm_pid r1)" == "$pid" ]] ||
    fail "r1 is $(vm_state r1) with pid $(vm_pid r1), not running with $pid"
  wait_for 120 "the background probe" refresh_done
  [[ "$(probe_field refresh)" == same ]] || fail "refresh $(probe_field refresh): $(this_log)"
  this_log | grep_q "host probed again in the background: the same as the cache" ||
    fail "no log line for the background probe"
  qm kill r1 >/dev/null || fail "kill r1"
}

# A cache that passes every check but no longer matches the host (its hostname edited): qmd
# starts from it, and the background probe replaces the caps and says what changed.
scenario_changed_caps() {
  stop_qmd
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); d["caps"]["hostname"] = "elsewhere"
open(sys.argv[1], "w").write(json.dumps(d))' "$CACHE"
  restart_qmd
  [[ "$(probe_field startedFrom)" == cache ]] || fail "the edited cache was not used: $(this_log)"
  wait_for 120 "the background probe" refresh_done
  [[ "$(probe_field refresh)" == changed ]] || fail "refresh $(probe_field refresh): $(this_log)"
  local host
  host=$(curl -sS --unix-socket "$SOCK" http://qmd/v1/host | json_get 'd["hostname"]')
  [[ "$host" == "$(hostname)" ]] || fail "the caps still say hostname $host"
  this_log | grep_q "background: hostname changed since the cache" ||
    fail "no warning naming the field that changed"
  [[ "$(json_get 'd["caps"]["hostname"]' <"$CACHE")" == "$(hostname)" ]] || fail "cache not rewritten"
}

# Each a cache qmd must not use, and the words qmd gives for it.
refused_cache() {  # refused_cache WHY
  restart_qmd
  [[ "$(probe_field startedFrom)" == probe ]] || fail "startedFrom $(probe_field startedFrom)"
  probe_field cacheNote | grep_q -F "$1" || fail "cacheNote $(probe_field cacheNote), not $1"
  this_log | grep -F "is not used: " | grep_q -F "$1" || fail "no log line saying: $1"
  [[ "$(stat -c '%a %u' "$CACHE")" == "600 $(id -u)" ]] || fail "not rewritten: $(stat -c '%a %u' "$CACHE")"
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))["caps"]["kvm"]' "$CACHE" ||
    fail "the cache rewritten is not the probe's"
}

scenario_corrupt_cache() {
  stop_qmd
  head -c 300 "$CACHE" >"$T/torn" && cat "$T/torn" >"$CACHE"
  refused_cache "it is not JSON"
}

scenario_others_may_write() {
  chmod 0620 "$CACHE"
  refused_cache "not to qmd alone"
}

scenario_oversized() {
  python3 -c 'import sys; open(sys.argv[1], "a").write(" " * 300000)' "$CACHE"
  refused_cache "it is larger than 262144 bytes"
}

scenario_another_qemu() {
  mkdir -p "$T/qemu"
  cp -p "$(command -v qemu-system-x86_64)" "$T/qemu/qemu-system-x86_64"
  printf 'hyperv: strict\nqemuBinary: %s\n' "$T/qemu/qemu-system-x86_64" >"$T/qmd.yaml"
  refused_cache "the key differs"
  [[ "$(curl -sS --unix-socket "$SOCK" http://qmd/v1/host | json_get 'd["qemu"]["binary"]')" == \
    "$T/qemu/qemu-system-x86_64" ]] || fail "the caps are not about the configured binary"
  restart_qmd
  [[ "$(probe_field startedFrom)" == cache ]] || fail "the copy's own cache not used"
}

scenario_touched_qemu() {
  touch -d '2001-01-01 00:00' "$T/qemu/qemu-system-x86_64"
  refused_cache "the key differs"
}

setup
# Each scenario starts from the qmd the one before left (run_scenarios picks it up).
run_scenarios probe-cache scenario_first_start_probes scenario_second_start_uses_cache \
  scenario_changed_caps scenario_corrupt_cache scenario_others_may_write scenario_oversized \
  scenario_another_qemu scenario_touched_qemu
