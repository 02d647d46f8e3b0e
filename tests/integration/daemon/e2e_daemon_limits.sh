#!/usr/bin/env bash
# The daemon stays responsive whatever a member of its API group does (a root-run qmd, the
# attacks made as a plain group member): console sessions beyond one per VM are 409 and a
# console whose QEMU takes no more connections still serves a session (qmd holds its own
# connection) while root is served; a thousand
# abandoned events followers leave no fd behind; a follower that stops reading is dropped
# after the write deadline; the per-uid connection cap refuses a member while root gets in;
# oversized bodies are 413; malformed and deeply nested bodies are 400 and leave qmd's RSS
# where it was. One scenario per function; each prints PASS or FAIL and the next one runs.
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || { echo "SKIP daemon-limits: needs root (a root-run qmd and a member)"; exit 77; }
GROUP=qmde2e
MEMBER=qmde2e-member
groupadd -f "$GROUP"
id "$MEMBER" >/dev/null 2>&1 || useradd -r -g "$GROUP" -M -s /usr/sbin/nologin "$MEMBER"
MEMBER_UID=$(id -u "$MEMBER")
CLIENT=$QMD_SOURCE_DIR/tests/integration/daemon/limits_client.py
WRITE_TIMEOUT=2
PER_USER=32

as_member() { setpriv --reuid "$MEMBER" --regid "$GROUP" --clear-groups "$@"; }
member_client() { as_member /usr/bin/python3 "$CLIENT" "$@"; }
fd_count() { ls "/proc/$QMD_PID/fd" | wc -l; }
rss_kib() { proc_status "$QMD_PID" VmRSS | awk '{print $1}'; }
fds_at_most() { (($(fd_count) <= $1)); }
# qmd's fd count once it has stayed the same for a second (closes of earlier clients done).
FD_SAMPLES=()
fds_steady() {
  FD_SAMPLES+=("$(fd_count)")
  local n=${#FD_SAMPLES[@]}
  ((n >= 10)) && [[ "$(printf '%s\n' "${FD_SAMPLES[@]: -10}" | sort -u | wc -l)" == 1 ]]
}
steady_fd_count() {
  FD_SAMPLES=()
  wait_for 30 "qmd's fd count to settle" fds_steady
  echo "${FD_SAMPLES[-1]}"
}
rss_at_most() { (($(rss_kib) <= $1)); }
file_exists() { [[ -s "$1" ]]; }
console_free() { as_member "$QMCTL_BIN" -s "$SOCK" console "$1" </dev/null >/dev/null 2>&1; }
# root is still served, within 5 s, while the attack goes on
root_served() {
  curl -sf --max-time 5 --unix-socket "$SOCK" http://qmd/v1/host >/dev/null ||
    fail "root's GET /v1/host did not answer within 5 s"
}
# Waits (bounded) until the fd count and the RSS are back at most where they were.
settle_fds() { wait_for 30 "qmd's fds back to $1 (now $(fd_count))" fds_at_most "$1"; }

e2e_dir
cat >"$T/qmd.yaml" <<YAML
api:
  maxConnectionsPerUser: $PER_USER
  writeTimeoutSeconds: $WRITE_TIMEOUT
YAML
QMD_ARGS=(--group "$GROUP" --config "$T/qmd.yaml")
e2e_setup
M=$T/member  # where the member's clients write what they saw
install -d -o "$MEMBER" -g "$GROUP" -m 0755 "$M"
install -m 0644 "$CLIENT" "$M/limits_client.py"  # the checkout may be closed to the member
CLIENT=$M/limits_client.py

scenario_console_one_session_per_vm() {
  local file
  file=$(spec con1)
  qm create -f "$file" >/dev/null || fail "create con1"
  qm start con1 >/dev/null || fail "start con1"
  touch "$M/hold.con"
  member_client hold-console "$SOCK" con1 5 "$M/con.json" "$M/hold.con" &
  local client=$!
  EXTRA_PIDS+=("$client")
  wait_for 30 "the console clients' answers" file_exists "$M/con.json"
  local tally
  tally=$(json_get '",".join(sorted(str(r["status"]) for r in d))' <"$M/con.json")
  [[ "$tally" == "101,409,409,409,409" ]] || fail "5 console sessions answered $tally"
  json_get '[r["body"] for r in d if r["status"] == 409][0]' <"$M/con.json" |
    grep_q "the console of VM con1 is in use by uid $MEMBER_UID (pid [0-9]*) since" ||
    fail "the 409 does not say who holds the console: $(cat "$M/con.json")"
  root_served
  rm -f "$M/hold.con"
  wait "$client" || fail "the console client failed"
  # The session is free as soon as its client is gone (a 409 makes qmctl exit 1).
  wait_for 10 "the console to be free again" console_free con1
  qm kill con1 >/dev/null && qm delete con1 >/dev/null || fail "kill/delete con1"
}

scenario_console_full_backlog() {
  local file
  file=$(spec con2)
  qm create -f "$file" >/dev/null || fail "create con2"
  qm start con2 >/dev/null || fail "start con2"
  # QEMU's console socket stops taking connections (its backlog full). qmd has held its own
  # connection since the start (the console log), so a session is not held up by it.
  touch "$T/hold.fill"
  python3 "$CLIENT" fill-backlog "$T/run/vms/con2/console.sock" "$T/fill.out" "$T/hold.fill" &
  local filler=$!
  EXTRA_PIDS+=("$filler")
  wait_for 10 "the backlog of con2's console to fill" file_exists "$T/fill.out"
  local started=$(now_ms) out
  out=$(as_member "$QMCTL_BIN" -s "$SOCK" console con2 </dev/null 2>&1) ||
    fail "console on a full backlog of QEMU's socket failed: $out"
  root_served
  (($(now_ms) - started < 15000)) || fail "the console session took $(($(now_ms) - started)) ms"
  rm -f "$T/hold.fill"
  wait "$filler" || true
  qm kill con2 >/dev/null && qm delete con2 >/dev/null || fail "kill/delete con2"
}

scenario_abandoned_followers_free_their_fds() {
  local idle
  idle=$(steady_fd_count)
  local opened
  opened=$(member_client churn-follow "$SOCK" 1200 10) || fail "the followers were refused"
  [[ "$opened" == 1200 ]] || fail "only $opened follow connections opened"
  settle_fds "$idle"
  root_served
}

scenario_stalled_follower_dropped_after_deadline() {
  local idle i
  idle=$(steady_fd_count)
  # History that does not fit a socket buffer: the follower stops reading before it ends.
  for i in $(seq 1 40); do
    expect_status 201 POST /v1/vms -H 'Content-Type: application/yaml' \
      --data-binary "@$(spec "ev$i" Manual firmware)"
    expect_status 200 DELETE "/v1/vms/ev$i"
  done
  touch "$M/hold.stall"
  member_client stalled-follow "$SOCK" "$M/stall.out" "$M/hold.stall" >"$T/stall.json" &
  local client=$!
  EXTRA_PIDS+=("$client")
  wait_for 10 "the stalled follower to connect" file_exists "$M/stall.out"
  wait_for 10 "qmd to hold the follower" eval '(($(fd_count) > idle))'
  local since=$(now_ms)
  for i in $(seq 41 200); do  # live events it never reads
    expect_status 201 POST /v1/vms -H 'Content-Type: application/yaml' \
      --data-binary "@$(spec "ev$i" Manual firmware)"
    expect_status 200 DELETE "/v1/vms/ev$i"
    fds_at_most "$idle" && break
  done
  settle_fds "$idle"
  log "stalled follower dropped $(($(now_ms) - since)) ms after the events began"
  rm -f "$M/hold.stall"
  wait "$client" || fail "the stalled client failed"
  [[ "$(json_get 'd["eof"]' <"$T/stall.json")" == true ]] ||
    fail "the stalled follower's connection was not closed: $(cat "$T/stall.json")"
  root_served
}

scenario_per_uid_cap_member_refused_root_served() {
  local idle
  idle=$(steady_fd_count)
  touch "$M/hold.cap"
  member_client hold-follow "$SOCK" "$((PER_USER + 3))" "$M/cap.json" "$M/hold.cap" &
  local client=$!
  EXTRA_PIDS+=("$client")
  wait_for 30 "the member's connections" file_exists "$M/cap.json"
  local ok refused
  ok=$(json_get 'sum(1 for s in d["statuses"] if s == 200)' <"$M/cap.json")
  refused=$(json_get 'sum(1 for s in d["statuses"] if s == 503)' <"$M/cap.json")
  [[ "$ok" == "$PER_USER" && "$refused" == 3 ]] || fail "cap: $ok served, $refused refused"
  json_get '[b for b in d["bodies"] if b][0]' <"$M/cap.json" |
    grep_q "uid $MEMBER_UID has $PER_USER open connections to qmd.*api.maxConnectionsPerUser" ||
    fail "the 503 does not name the cap: $(cat "$M/cap.json")"
  root_served
  grep_q "refused a connection of uid $MEMBER_UID" "$T/qmd.log" || fail "no log line for the cap"
  rm -f "$M/hold.cap"
  wait "$client" || fail "the follow client failed"
  settle_fds "$idle"
  as_member curl -sf --max-time 5 --unix-socket "$SOCK" http://qmd/v1/vms >/dev/null ||
    fail "the member is still refused after closing its connections"
}

scenario_oversized_bodies_are_413() {
  local before
  before=$(ls "$T/state/vms")
  head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/big.yaml"
  local out
  out=$(as_member curl -sS --max-time 30 --unix-socket "$SOCK" -o - -w '\n%{http_code}' \
    -X POST -H 'Content-Type: application/yaml' --data-binary "@$T/big.yaml" \
    http://qmd/v1/vms 2>/dev/null) || true
  [[ "$(tail -n1 <<<"$out")" == 413 ]] || fail "2 MiB spec: $(tail -c 300 <<<"$out")"
  grep_q "larger than 1 MiB (1048576 bytes), the most a VM spec may be" <<<"$out" ||
    fail "the 413 does not name the limit: $(tail -c 300 <<<"$out")"
  head -c $((100 * 1024)) /dev/zero | tr '\0' 'a' >"$T/mid.json"
  out=$(as_member curl -sS --max-time 30 --unix-socket "$SOCK" -o - -w '\n%{http_code}' \
    -X POST --data-binary "@$T/mid.json" http://qmd/v1/vms/nope/guest/exec 2>/dev/null) || true
  [[ "$(tail -n1 <<<"$out")" == 413 ]] || fail "100 KiB exec body: $(tail -c 300 <<<"$out")"
  grep_q "larger than 64 KiB" <<<"$out" || fail "exec 413: $(tail -c 300 <<<"$out")"
  [[ "$(ls "$T/state/vms")" == "$before" ]] || fail "something was defined: $(ls "$T/state/vms")"
}

scenario_malformed_requests_leave_rss_at_idle() {
  local idle tally
  idle=$(rss_kib)
  tally=$(member_client malformed "$SOCK" 2000 65000) || fail "the malformed client failed"
  [[ "$tally" == '{"400": 2000}' ]] || fail "2000 malformed specs answered $tally"
  wait_for 10 "RSS within 2 MiB of idle ($idle KiB; now $(rss_kib) KiB)" rss_at_most $((idle + 2048))
  log "RSS idle $idle KiB, after 2000 malformed requests $(rss_kib) KiB"
  root_served
}

scenario_deeply_nested_body_is_400() {
  local idle body
  idle=$(rss_kib)
  python3 -c 'import sys; sys.stdout.write("[" * 100000 + "]" * 100000)' >"$T/deep.json"
  api POST /v1/vms -H 'Content-Type: application/json' --data-binary "@$T/deep.json"
  [[ "$STATUS" == 400 ]] || fail "deep body: $STATUS $BODY"
  grep_q "nests collections more than 64 levels deep" <<<"$BODY" || fail "deep body: $BODY"
  wait_for 10 "RSS within 2 MiB of idle ($idle KiB; now $(rss_kib) KiB)" rss_at_most $((idle + 2048))
  log "RSS idle $idle KiB, after the nested body $(rss_kib) KiB"
}

scenario_device_count_is_400() {
  local i
  spec many Manual firmware >/dev/null
  {
    sed '/^      networks: \[\]/d; /interfaces: \[\]/d' "$T/many.yaml"
    echo "      networks:"
    for i in $(seq 1 300); do echo "      - {name: n$i, pod: {}}"; done
  } >"$T/many2.yaml"
  api POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$T/many2.yaml"
  [[ "$STATUS" == 400 ]] || fail "300 networks: $STATUS $BODY"
  grep_q "declares 300 devices.*a VM may have at most 256 in all" <<<"$BODY" ||
    fail "300 networks: $BODY"
}

run_scenarios daemon-limits scenario_console_one_session_per_vm scenario_console_full_backlog \
  scenario_abandoned_followers_free_their_fds scenario_stalled_follower_dropped_after_deadline \
  scenario_per_uid_cap_member_refused_root_served scenario_oversized_bodies_are_413 \
  scenario_device_count_is_400 scenario_malformed_requests_leave_rss_at_idle \
  scenario_deeply_nested_body_is_400
