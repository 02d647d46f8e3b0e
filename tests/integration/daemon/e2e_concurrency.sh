#!/usr/bin/env bash
# Many requests at once: 20 simultaneous requests on one running VM (show, pause, resume,
# argv, events) are all answered with a valid status and leave a state that show, the list
# and the event stream agree on; 10 VMs created and started at once all run, then are killed
# at once. Every curl has a deadline: a deadlock fails the test instead of hanging it.
source "$(dirname "$0")/lib.sh"
e2e_setup

# fire ID METHOD PATH [curl args]: one request in the background; its status lands in
# $T/req/ID.status, its body in $T/req/ID.body.
mkdir -p "$T/req"
fire() {
  local id=$1 method=$2 path=$3
  shift 3
  (curl -sS --max-time 60 --unix-socket "$SOCK" -o "$T/req/$id.body" -w '%{http_code}' \
    -X "$method" "$@" "http://qmd$path" >"$T/req/$id.status" 2>"$T/req/$id.err" ||
    echo " curl-exit-$?" >>"$T/req/$id.status") &
  fired+=("$!")
}
fired=()
# check_all PREFIX WANT...: every request PREFIX* finished with one of the statuses WANT.
check_all() {
  local prefix=$1 f st
  shift
  for f in "$T/req/$prefix"*.status; do
    st=$(cat "$f")
    [[ " $* " == *" $st "* ]] || fail "$(basename "$f" .status): status '$st' ($(cat "${f%.status}.body" "${f%.status}.err" 2>/dev/null))"
  done
}
wait_jobs() {  # bounded: each curl has --max-time 60
  local t0
  t0=$(now_ms)
  wait "${fired[@]}"  # not a bare wait: qmd is a child too
  fired=()
  log "$1 answered in $(($(now_ms) - t0)) ms"
}

log "20 simultaneous requests on one VM"
vm=busy1
qm create -f "$(spec $vm Manual guest)" >/dev/null || fail "create $vm"
qm start "$vm" >/dev/null || fail "start $vm"
pid=$(vm_pid $vm)
kinds=(show pause resume argv events)
for i in $(seq 0 19); do
  case ${kinds[$((i % 5))]} in
    show) fire "one-$i" GET "/v1/vms/$vm" ;;
    pause) fire "one-$i" POST "/v1/vms/$vm/pause" ;;
    resume) fire "one-$i" POST "/v1/vms/$vm/resume" ;;
    argv) fire "one-$i" GET "/v1/vms/$vm/argv" ;;
    events) fire "one-$i" GET "/v1/events?vm=$vm" ;;
  esac
done
wait_jobs "20 requests"
check_all one- 200
for i in $(seq 0 19); do
  [[ -s "$T/req/one-$i.body" ]] || fail "one-$i: empty body"
done
# Whatever order they ran in, everyone now agrees on one state.
shown=$(vm_state $vm)
[[ "$shown" == running || "$shown" == paused ]] || fail "state after the burst: $shown"
api GET /v1/vms
listed=$(json_get '[v["state"] for v in d["vms"] if v["name"] == "'$vm'"][0]' <<<"$BODY")
last=$(state_changes $vm | tail -n 1)
[[ "$listed" == "$shown" && "$last" == "$shown" ]] ||
  fail "show says $shown, the list $listed, the last StateChanged $last"
[[ "$(vm_pid $vm)" == "$pid" ]] || fail "the burst changed the QEMU pid"
# And it still obeys: the QEMU is what qmd says it is.
qm pause "$vm" >/dev/null && [[ "$(vm_state $vm)" == paused ]] || fail "pause after the burst"
qm resume "$vm" >/dev/null && [[ "$(vm_state $vm)" == running ]] || fail "resume after the burst"
wait_agent "$vm" 90  # the guest survived twenty pokes
qm kill "$vm" >/dev/null || fail "kill $vm"

log "10 VMs created and started at once"
names=()
for i in $(seq 1 10); do
  names+=("many$i")
  spec "many$i" Manual firmware >/dev/null
done
for name in "${names[@]}"; do
  fire "make-$name" POST "/v1/vms?start=true" -H 'Content-Type: application/yaml' \
    --data-binary "@$T/$name.yaml"
done
# Meanwhile the API keeps answering reads.
for i in $(seq 1 5); do
  fire "read-$i" GET /v1/vms
done
wait_jobs "10 creates + starts"
check_all make- 201
check_all read- 200
api GET /v1/vms
running=$(json_get 'sorted(v["name"] for v in d["vms"] if v["state"] == "running" and v["pid"])' <<<"$BODY")
want=$(python3 -c 'import json; print(json.dumps(sorted("many%d" % i for i in range(1, 11))))')
[[ "$running" == "$want" ]] || fail "running after the parallel start: $running ($BODY)"
qemus=0
for name in "${names[@]}"; do
  p=$(vm_pid "$name")
  alive $p || fail "$name: no QEMU $p"
  qemus=$((qemus + 1))
done
[[ $qemus -eq 10 ]] || fail "$qemus QEMUs"

for name in "${names[@]}"; do
  fire "kill-$name" POST "/v1/vms/$name/kill"
done
wait_jobs "10 kills"
check_all kill- 200
api GET /v1/vms
left=$(json_get '[v["name"] for v in d["vms"] if v["state"] != "stopped"]' <<<"$BODY")
[[ "$left" == "[]" ]] || fail "not stopped after the parallel kill: $left"
for name in "${names[@]}"; do
  [[ -z "$(procs_of_vm "$name")" ]] || fail "$name left processes: $(procs_of_vm "$name")"
done
# Deleting them all at once too.
for name in "${names[@]}" "$vm"; do
  fire "del-$name" DELETE "/v1/vms/$name"
done
wait_jobs "11 deletes"
check_all del- 200
api GET /v1/vms
[[ "$(json_get 'd["vms"]' <<<"$BODY")" == "[]" ]] || fail "VMs left: $BODY"
echo "PASS concurrency"
