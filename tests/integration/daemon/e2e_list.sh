#!/usr/bin/env bash
# GET /v1/vms shows each VM's definition as it is now: qmd keeps every spec parsed (once per
# text) for the list, and an update, a refused update and a restart each leave the list
# saying what the stored definition says.
source "$(dirname "$0")/lib.sh"

listed_strategy() {  # listed_strategy NAME: runStrategy of NAME in GET /v1/vms
  api GET /v1/vms
  [[ "$STATUS" == 200 ]] || fail "GET /v1/vms: HTTP $STATUS: $BODY"
  json_get "[v['runStrategy'] for v in d['vms'] if v['name'] == '$1'][0]" <<<"$BODY"
}

put_spec() {  # put_spec NAME FILE
  api PUT "/v1/vms/$1" -H 'Content-Type: application/yaml' --data-binary "@$2"
}

scenario_update_shows() {
  qm create -f "$(spec l1 Manual firmware)" >/dev/null || fail "create l1"
  qm create -f "$(spec l2 RerunOnFailure firmware)" >/dev/null || fail "create l2"
  [[ "$(listed_strategy l1)" == Manual ]] || fail "l1 listed $(listed_strategy l1)"
  [[ "$(listed_strategy l2)" == RerunOnFailure ]] || fail "l2 listed $(listed_strategy l2)"
  sed 's/runStrategy: Manual/runStrategy: Halted/' "$T/l1.yaml" >"$T/l1-halted.yaml"
  put_spec l1 "$T/l1-halted.yaml"
  [[ "$STATUS" == 200 ]] || fail "update l1: HTTP $STATUS: $BODY"
  [[ "$(listed_strategy l1)" == Halted ]] || fail "after the update l1 is listed $(listed_strategy l1)"
  [[ "$(listed_strategy l2)" == RerunOnFailure ]] || fail "l2 changed with l1's update"
}

scenario_refused_update_changes_nothing() {
  # Another runStrategy, in a spec with a field qmd does not know: refused whole.
  sed 's/runStrategy: Halted/runStrategy: Always\n  bogusField: 1/' "$T/l1-halted.yaml" \
    >"$T/l1-bad.yaml"
  put_spec l1 "$T/l1-bad.yaml"
  [[ "$STATUS" == 400 ]] || fail "an unknown field: HTTP $STATUS: $BODY"
  grep_q "bogusField" <<<"$BODY" || fail "the 400 does not name the field: $BODY"
  [[ "$(listed_strategy l1)" == Halted ]] || fail "after a refused update l1 is listed $(listed_strategy l1)"
  grep_q "runStrategy: Halted" "$T/state/vms/l1/spec.yaml" || fail "the stored spec changed"
}

scenario_restart_shows_stored() {
  stop_qmd
  start_qmd
  [[ "$(listed_strategy l1)" == Halted ]] || fail "after a restart l1 is listed $(listed_strategy l1)"
  [[ "$(listed_strategy l2)" == RerunOnFailure ]] || fail "after a restart l2 is listed $(listed_strategy l2)"
}

e2e_setup
run_scenarios list scenario_update_shows scenario_refused_update_changes_nothing \
  scenario_restart_shows_stored
