#!/usr/bin/env bash
# KubeVirt fields the API reports, against a real qmd (no QEMU started): hostname and
# subdomain in GET /v1/vms/NAME and qmctl show, the VM's name when hostname is unset; a bad
# hostname is a 400 naming the field and its line:column, and no VM is defined. A spec with
# an unknown field and validation errors gets them all in one 400 (POST and PUT), in
# "errors" as {field, line, column, message} and in the message as before; nothing changes.
source "$(dirname "$0")/lib.sh"
e2e_setup
field() { json_get "$1" <<<"$BODY"; }

file=$(spec hn1 Manual)
sed -i 's/^      terminationGracePeriodSeconds: 30$/      hostname: db-0\n      subdomain: backend\n&/' "$file"
expect_status 201 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
expect_status 200 GET /v1/vms/hn1
[[ "$(field 'd["hostname"]')" == db-0 && "$(field 'd["subdomain"]')" == backend ]] ||
  fail "hostname/subdomain: $BODY"
shown=$(qm show hn1) || fail "qmctl show hn1"
grep_q '^hostname: db-0$' <<<"$shown" || fail "qmctl show lacks the hostname: $shown"
grep_q '^subdomain: backend$' <<<"$shown" || fail "qmctl show lacks the subdomain: $shown"

expect_status 201 POST /v1/vms -H 'Content-Type: application/yaml' \
  --data-binary "@$(spec hn2 Manual)"
expect_status 200 GET /v1/vms/hn2
[[ "$(field 'd["hostname"]')" == hn2 && "$(field 'd["subdomain"]')" == "" ]] ||
  fail "unset hostname is not the name: $BODY"

bad=$(spec hn3 Manual)
sed -i 's/^      terminationGracePeriodSeconds: 30$/      hostname: Web_1\n&/' "$bad"
expect_status 400 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$bad"
[[ "$(field 'd["error"]["message"]')" == \
  "spec.template.spec.hostname: \"Web_1\" is not a valid hostname: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS label, as KubeVirt requires) (request body:9:17)" ]] ||
  fail "bad hostname: $BODY"
expect_status 404 GET /v1/vms/hn3

# An unknown field first, then two validation errors further down: all three come back.
many=$T/many.yaml
cat >"$many" <<'YAML'
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: hn4}
spec:
  domain:
    cpu:
      coers: 2
      features:
      - {name: vmx, policy: prefer}
    memory: {guest: 256Mi}
    devices:
      video: {type: cirrus}
YAML
want='[{"field": "spec.domain.cpu.coers", "line": 7, "column": 7, "message": "unknown field \"coers\" (did you mean \"cores\"?)"}, {"field": "spec.domain.cpu.features[0].policy", "line": 9, "column": 21, "message": "\"prefer\" is not one of force, require, optional, disable, forbid"}, {"field": "spec.domain.devices.video.type", "line": 12, "column": 15, "message": "\"cirrus\" is not one of vga, virtio, bochs, ramfb"}]'
expect_status 400 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$many"
[[ "$(field 'd["errors"]')" == "$want" ]] || fail "POST errors: $BODY"
[[ "$(field 'd["error"]["code"]')" == BadSpec ]] || fail "POST code: $BODY"
[[ "$(field 'len(d["error"]["message"].splitlines())')" == 3 &&
  "$(field 'd["error"]["message"].splitlines()[1]')" == \
  'spec.domain.cpu.features[0].policy: "prefer" is not one of force, require, optional, disable, forbid (request body:9:21)' ]] ||
  fail "POST message: $BODY"
expect_status 404 GET /v1/vms/hn4
sed -i 's/name: hn4/name: hn2/' "$many"
expect_status 400 PUT /v1/vms/hn2 -H 'Content-Type: application/yaml' --data-binary "@$many"
[[ "$(field 'd["errors"]')" == "$want" ]] || fail "PUT errors: $BODY"
expect_status 200 GET /v1/vms/hn2
field 'd["specText"]' | grep_q -F 'coers' && fail "PUT changed the definition: $BODY"
log "PASS spec fields"
