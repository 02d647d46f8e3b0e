#!/usr/bin/env bash
# KubeVirt's pod.vmNetworkCIDR on user-mode networking (qmd's --masquerade user): the guest's
# DHCP address is the CIDR's second address and its route the first, and it reaches a server
# on the host through that gateway; a bad CIDR fails `qmctl validate` and create at its
# line:column and defines nothing. Duplicate firmware.uuid: a create, an update (and an
# upper-case spelling) whose uuid another VM holds is a 409 naming that VM and the field, and
# changes nothing; a stopped VM given a new uuid starts with it and a restarted qmd adopts it.
source "$(dirname "$0")/lib.sh"
e2e_setup

yaml=(-H 'Content-Type: application/yaml')
# qmctl validate, offline, with the test qmd's storage root and emulation.
printf 'useEmulation: true\nstorage:\n  roots: ["%s"]\n' "$S" >"$T/validate.yaml"
validate() { qm validate "$1" --config "$T/validate.yaml"; }
error_message() { json_get 'd["error"]["message"]' <<<"$BODY"; }

cidr_spec() {  # cidr_spec NAME CIDR: the test guest with a masquerade NIC on pod {vmNetworkCIDR}
  local file
  file=$(spec "$1")
  python3 - "$file" "$2" <<'PY'
import sys
p, cidr = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("interfaces: []", "interfaces:\n          - name: default\n            masquerade: {}")
s = s.replace("networks: []", "networks:\n      - name: default\n        pod:\n"
              "          vmNetworkCIDR: %s" % cidr)
open(p, "w").write(s)
PY
  echo "$file"
}

uuid_spec() {  # uuid_spec NAME UUID: the test guest with firmware.uuid UUID
  local file
  file=$(spec "$1" Manual)
  sed -i "s/^        firmware:\$/        firmware:\n          uuid: $2/" "$file"
  grep_q "uuid: $2" "$file" || fail "no uuid in $file"
  echo "$file"
}

scenario_guest_address_in_cidr() {
  validate "$(cidr_spec cidr 10.77.5.0/24)" >/dev/null || fail "validate: $(validate "$T/cidr.yaml" 2>&1)"
  qm create -f "$T/cidr.yaml" >/dev/null || fail "create cidr"
  qm argv cidr | grep_q -x -- "user,id=net-default,net=10.77.5.0/24,host=10.77.5.1,dns=10.77.5.3,dhcpstart=10.77.5.2" ||
    fail "no user netdev in 10.77.5.0/24: $(qm argv cidr | grep -A1 -- -netdev)"
  qm start cidr >/dev/null || fail "start cidr: $(qm show cidr 2>&1)"
  wait_agent cidr 120
  has_address() { qm exec cidr -- ip -4 addr show dev eth0 2>/dev/null | grep_q 'inet 10\.77\.5\.2/24'; }
  wait_for 60 "the guest's address 10.77.5.2/24 from user-mode DHCP" has_address
  qm exec cidr -- ip -4 route | grep_q '^default via 10\.77\.5\.1 ' ||
    fail "the guest's route is not via 10.77.5.1: $(qm exec cidr -- ip -4 route)"
  log "the guest got 10.77.5.2/24 with its route via 10.77.5.1: $(qm exec cidr -- ip -4 addr show dev eth0 | grep inet)"
  # The gateway address is the host's loopback, as 10.0.2.2 is on QEMU's default network.
  python3 -c "
import socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1); s.settimeout(60)
open('$T/port', 'w').write(str(s.getsockname()[1]))
c, _ = s.accept(); c.settimeout(30); print(c.recv(64).decode().strip())" >"$T/from-guest" &
  local receiver=$!
  EXTRA_PIDS+=($receiver)
  wait_for 10 "the host's listener" test -s "$T/port"
  local port
  port=$(cat "$T/port")
  sent() { qm exec cidr -- sh -c "echo qmd-cidr-out | nc -w 5 10.77.5.1 $port" >/dev/null 2>&1; }
  wait_for 60 "the guest to reach the host through 10.77.5.1" sent
  wait "$receiver" || true
  [[ "$(cat "$T/from-guest")" == qmd-cidr-out ]] || fail "the host got \"$(cat "$T/from-guest")\""
  qm kill cidr >/dev/null && wait_state cidr stopped 30
  qm delete cidr >/dev/null || fail "delete cidr"
}

scenario_bad_cidr_refused() {
  local file out
  file=$(cidr_spec tiny 10.77.5.0/30)
  if out=$(validate "$file" 2>&1); then fail "validate passed a /30: $out"; fi
  # vmNetworkCIDR is on line 26 of the spec, its value at column 26.
  grep_q -F "pod.vmNetworkCIDR: \"10.77.5.0/30\": a /30 has too few addresses" <<<"$out" &&
    grep_q -F "use a prefix of /29 or shorter" <<<"$out" && grep_q -F "tiny.yaml:26:26" <<<"$out" ||
    fail "validate does not name the field, its line:column and what to write: $out"
  expect_status 400 POST /v1/vms "${yaml[@]}" --data-binary "@$file"
  grep_q -F "vmNetworkCIDR" <<<"$BODY" || fail "the create error does not name vmNetworkCIDR: $BODY"
  expect_status 404 GET /v1/vms/tiny
  file=$(cidr_spec six fd10:0:2::/120)
  if out=$(validate "$file" 2>&1); then fail "validate passed IPv6 in vmNetworkCIDR: $out"; fi
  grep_q -F "put an IPv6 network in vmIPv6NetworkCIDR" <<<"$out" || fail "no hint for IPv6: $out"
  log "IPv6 in vmNetworkCIDR refused: $(grep -F vmNetworkCIDR <<<"$out" | head -n1)"
}

scenario_duplicate_uuid() {
  local uuid=6c1f6a0e-4b1e-4d6f-9a57-2f1f0c6e1a11 upper
  upper=$(tr a-f A-F <<<"$uuid")
  qm create -f "$(uuid_spec first "$uuid")" >/dev/null || fail "create first"
  expect_status 409 POST /v1/vms "${yaml[@]}" --data-binary "@$(uuid_spec second "$upper")"
  for word in "VM first" "firmware.uuid" "$upper"; do
    grep_q -F "$word" <<<"$(error_message)" || fail "the 409 does not name $word: $BODY"
  done
  log "create refused: $(error_message)"
  expect_status 404 GET /v1/vms/second

  # An update to another VM's uuid: refused, and the definition stays as it was.
  qm create -f "$(spec third Manual)" >/dev/null || fail "create third"
  local before
  before=$(qm argv third | grep -A1 -x -- -uuid | tail -n1)
  expect_status 409 PUT /v1/vms/third "${yaml[@]}" --data-binary "@$(uuid_spec third "$uuid")"
  grep_q -F "VM first" <<<"$(error_message)" || fail "the update's 409 does not name VM first: $BODY"
  [[ "$(qm argv third | grep -A1 -x -- -uuid | tail -n1)" == "$before" ]] || fail "third's uuid changed"
  # A uuid only a VM's record holds (made at define) is held too.
  expect_status 409 POST /v1/vms "${yaml[@]}" --data-binary "@$(uuid_spec fourth "$before")"
  grep_q -F "VM third" <<<"$(error_message)" || fail "the 409 does not name VM third: $BODY"
  # A VM may keep its own uuid through an update.
  expect_status 200 PUT /v1/vms/first "${yaml[@]}" --data-binary "@$(uuid_spec first "$uuid")"
  qm delete first >/dev/null && qm delete third >/dev/null || fail "delete"
  # Once the holder is gone, its uuid is free.
  qm create -f "$(uuid_spec second "$uuid")" >/dev/null || fail "second not created once first is gone"
  qm delete second >/dev/null || fail "delete second"
}

scenario_new_uuid_adopted() {
  # A VM given a new firmware.uuid (stopped, then running) starts with it, and a restarted
  # qmd adopts it.
  local uuid=0b7e3c52-9d41-4e0a-8f6b-5a2c1d9e7f30 pid
  qm create -f "$(spec fifth Manual)" >/dev/null || fail "create fifth"
  expect_status 200 PUT /v1/vms/fifth "${yaml[@]}" --data-binary "@$(uuid_spec fifth "$uuid")"
  [[ "$(show_field fifth 'd["uuid"]')" == "$uuid" ]] || fail "fifth's uuid is $(show_field fifth 'd["uuid"]')"
  qm start fifth >/dev/null || fail "start fifth: $(qm show fifth 2>&1)"
  qm argv fifth | grep_q -x -- "$uuid" || fail "fifth's argv has no -uuid $uuid"
  pid=$(vm_pid fifth)
  kill_qmd
  start_qmd
  wait_state fifth running 30
  [[ "$(vm_pid fifth)" == "$pid" ]] || fail "the restarted qmd did not adopt fifth's QEMU $pid"
  # Changed while it runs: the next start carries the new uuid, and a restart adopts that.
  local running_uuid=5d0c9a71-2b3e-4f68-9c1d-7e4a8b6f2013
  expect_status 200 PUT /v1/vms/fifth "${yaml[@]}" --data-binary "@$(uuid_spec fifth "$running_uuid")"
  qm kill fifth >/dev/null && wait_state fifth stopped 30
  qm start fifth >/dev/null || fail "start fifth again: $(qm show fifth 2>&1)"
  [[ "$(show_field fifth 'd["uuid"]')" == "$running_uuid" ]] ||
    fail "fifth's record kept uuid $(show_field fifth 'd["uuid"]') after a start with $running_uuid"
  pid=$(vm_pid fifth)
  kill_qmd
  start_qmd
  wait_state fifth running 30
  [[ "$(vm_pid fifth)" == "$pid" ]] || fail "the restarted qmd did not adopt fifth's QEMU $pid (new uuid)"
  qm kill fifth >/dev/null && wait_state fifth stopped 30
  qm delete fifth >/dev/null || fail "delete fifth"
}

run_scenarios vm-network-cidr scenario_guest_address_in_cidr scenario_bad_cidr_refused \
  scenario_duplicate_uuid scenario_new_uuid_adopted
