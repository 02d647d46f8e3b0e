#!/usr/bin/env bash
# dataVolumeTemplates against a root-run qmd (QEMU as nobody): a VM's templates make their
# claims when it is defined — blank (the guest sees its size), a clone of another claim, an
# image from the store (docker://REF) and an http download from a local python3 http.server
# (each claim holds its source's marker) — and the claims made are deleted with the VM while
# a claim that existed before is not. A claim deleted by hand is made again at the next
# start. Bad input: an unreachable URL, a download over the size cap, an image not in the
# store, an unknown source, a name that climbs out: each a 400 naming the field with
# line:column, and neither the VM nor any claim is left behind.
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (the QEMU user owns what qmd makes)"; exit 77; }

e2e_setup
CLAIMS=$S/claims
REF=quay.io/containerdisks/qmd-dv:1
MARK_IMAGE=qmd-dv-image-marker
MARK_HTTP=qmd-dv-http-marker
MARK_CLAIM=qmd-dv-claim-marker

# A local http.server (python3) for the http sources, started here so the EXIT trap ends it.
mkdir -p "$T/www"
head -c 4194304 /dev/zero >"$T/www/disk.img"
printf '%s' "$MARK_HTTP" | dd of="$T/www/disk.img" conv=notrunc status=none
truncate -s 80M "$T/www/huge.img"
python3 -c '
import http.server, os, sys
os.chdir(sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
with open(sys.argv[2] + ".tmp", "w") as f:
  f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
' "$T/www" "$T/http.port" 2>"$T/http.log" &
EXTRA_PIDS+=($!)
wait_for 10 "the http server's port" test -s "$T/http.port"

marker_image() {  # marker_image FILE MARKER: a 4 MiB raw image starting with MARKER
  head -c 4194304 /dev/zero >"$1"
  printf '%s' "$2" | dd of="$1" conv=notrunc status=none
}
# The first N bytes of a claim's guest-visible content (qcow2 or raw), as text.
claim_head() {
  local file=$1 n=$2
  qemu-img convert -U -O raw "$file" "$T/head.raw" && head -c "$n" "$T/head.raw"
}
claim_size() { qemu-img info -U --output=json "$1" | json_get 'd["virtual-size"]'; }

# dv_vm NAME SOURCE_YAML [SIZE]: a guest spec with a template "NAME-dv" from SOURCE and a
# virtio disk on it.
dv_vm() {
  local name=$1 source=$2 size=${3:-8Mi} file
  file=$(spec "$name")
  sed -i \
    -e "s|^          interfaces: \[\]|&\n          disks: [{name: data, disk: {bus: virtio}}]|" \
    -e "s|^      networks: \[\]|&\n      volumes: [{name: data, dataVolume: {name: $name-dv}}]|" \
    -e "s|^  runStrategy: Manual|&\n  dataVolumeTemplates:\n  - metadata: {name: $name-dv}\n    spec:\n      source: $source\n      storage: {resources: {requests: {storage: $size}}}|" \
    "$file"
  grep_q "dataVolumeTemplates" "$file" || fail "spec edit did not apply"
  echo "$file"
}
owned() { qm -o json show "$1" | json_get '",".join(d["ownedClaims"])'; }
# refused_define FILE WANT...: POST /v1/vms is a 400 whose body holds every WANT; nothing stays.
refused_define() {
  local file=$1
  shift
  local claims_before
  claims_before=$(ls "$CLAIMS" 2>/dev/null)
  expect_status 400 POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
  local want
  for want in "$@"; do
    grep_q -F -- "$want" <<<"$BODY" || fail "the 400 does not say '$want': $BODY"
  done
  [[ "$(ls "$CLAIMS" 2>/dev/null)" == "$claims_before" ]] ||
    fail "a refused define left claims: $(ls "$CLAIMS")"
  [[ "$(qm -o json list | json_get 'len(d["vms"]) if isinstance(d, dict) else len(d)')" == "$VMS" ]] ||
    fail "a refused define left a VM: $(qm list)"
}

scenario_blank_seen_by_the_guest() {
  qm create -f "$(dv_vm blank '{blank: {}}' 8Mi)" >/dev/null || fail "create blank"
  [[ -f "$CLAIMS/blank-dv.qcow2" ]] || fail "no claim made: $(ls "$CLAIMS")"
  [[ "$(claim_size "$CLAIMS/blank-dv.qcow2")" == 8388608 ]] || fail "the claim is not 8 MiB"
  [[ "$(stat -c %U "$CLAIMS/blank-dv.qcow2")" == nobody ]] || fail "the claim is not the QEMU user's"
  [[ "$(owned blank)" == blank-dv ]] || fail "not recorded as owned: $(owned blank)"
  qm start blank >/dev/null || fail "start blank"
  wait_agent blank 120
  [[ "$(qm exec blank -- cat /sys/block/vda/size)" == 16384 ]] || fail "the guest's disk is not 8 MiB"
  qm kill blank >/dev/null
}

scenario_clone_of_a_claim() {
  qm volume create dv-src --size 4Mi --format raw >/dev/null || fail "volume create dv-src"
  printf '%s' "$MARK_CLAIM" | dd of="$CLAIMS/dv-src.raw" conv=notrunc status=none
  qm create -f "$(dv_vm clone '{pvc: {name: dv-src}}' 4Mi)" >/dev/null || fail "create clone"
  [[ "$(claim_head "$CLAIMS/clone-dv.qcow2" ${#MARK_CLAIM})" == "$MARK_CLAIM" ]] ||
    fail "the clone does not hold the source claim's bytes"
}

scenario_from_the_image_store() {
  mkdir -p "$S/src"
  marker_image "$S/src/disk.img" "$MARK_IMAGE"
  qm image import "$REF" "$S/src/disk.img" >/dev/null || fail "image import"
  qm create -f "$(dv_vm reg "{registry: {url: \"docker://$REF\"}}" 8Mi)" >/dev/null ||
    fail "create reg"
  [[ "$(claim_head "$CLAIMS/reg-dv.qcow2" ${#MARK_IMAGE})" == "$MARK_IMAGE" ]] ||
    fail "the claim does not hold the image"
  [[ "$(claim_size "$CLAIMS/reg-dv.qcow2")" == 8388608 ]] || fail "the claim is not 8 MiB"
}

scenario_http_download() {
  local port
  port=$(cat "$T/http.port")
  qm create -f "$(dv_vm web "{http: {url: \"http://127.0.0.1:$port/disk.img\"}}" 8Mi)" \
    >/dev/null || fail "create web"
  [[ "$(claim_head "$CLAIMS/web-dv.qcow2" ${#MARK_HTTP})" == "$MARK_HTTP" ]] ||
    fail "the claim does not hold the download"
  [[ -z "$(ls "$CLAIMS" | grep download)" ]] || fail "a download was left: $(ls "$CLAIMS")"
  VMS=$(qm -o json list | json_get 'len(d["vms"]) if isinstance(d, dict) else len(d)')
  refused_define "$(dv_vm huge "{http: {url: \"http://127.0.0.1:$port/huge.img\"}}" 1Mi)" \
    "spec.dataVolumeTemplates[0].spec.source.http.url" "is larger than" "huge/spec.yaml:10:"
}

scenario_refusals_leave_nothing() {
  VMS=$(qm -o json list | json_get 'len(d["vms"]) if isinstance(d, dict) else len(d)')
  refused_define "$(dv_vm gone '{http: {url: "http://127.0.0.1:9/disk.img"}}')" \
    "spec.dataVolumeTemplates[0].spec.source.http.url" "could not download" \
    "check that this host reaches it" "gone/spec.yaml:10:"
  refused_define "$(dv_vm noimg '{registry: {url: "docker://quay.io/nope/none:1"}}')" \
    "spec.dataVolumeTemplates[0].spec.source.registry.url" "quay.io/nope/none:1" \
    "qmctl image import" "noimg/spec.yaml:10:"
  refused_define "$(dv_vm nosrc '{pvc: {name: no-such-claim}}')" \
    "spec.dataVolumeTemplates[0].spec.source.pvc.name" "no-such-claim" "nosrc/spec.yaml:10:"
  refused_define "$(dv_vm odd '{nfs: {server: x}}')" \
    "spec.dataVolumeTemplates[0].spec.source" "nfs" "(request body:"
  local file
  file=$(dv_vm climb '{blank: {}}')
  sed -i 's|name: climb-dv}|name: ../../etc/evil}|' "$file"
  refused_define "$file" "spec.dataVolumeTemplates[0].metadata.name" "is not a claim name" \
    "(request body:"
  [[ ! -e /etc/evil.qcow2 && ! -e "$S/etc" ]] || fail "a claim climbed out"
}

scenario_made_again_at_start() {
  qm volume delete blank-dv >/dev/null 2>&1 && fail "deleted a claim VM blank uses"
  rm -f "$CLAIMS/blank-dv.qcow2"  # gone behind qmd's back
  qm start blank >/dev/null || fail "start blank without its claim"
  [[ -f "$CLAIMS/blank-dv.qcow2" ]] || fail "the claim was not made again"
  qm kill blank >/dev/null
}

scenario_deleted_with_the_vm_only() {
  # A template whose claim exists already: used, not owned, kept at the delete.
  qm create -f "$(dv_vm keep '{blank: {}}' 4Mi)" >/dev/null || fail "create keep"
  qm delete keep >/dev/null || fail "delete keep"
  qm volume create keep-dv --size 4Mi >/dev/null || fail "volume create keep-dv"
  qm create -f "$(dv_vm keep '{blank: {}}' 4Mi)" >/dev/null || fail "create keep again"
  [[ -z "$(owned keep)" ]] || fail "an existing claim was taken as owned: $(owned keep)"
  local vm
  for vm in blank clone reg web keep; do
    qm delete "$vm" >/dev/null || fail "delete $vm"
  done
  local left
  left=$(ls "$CLAIMS" | sort | paste -sd, -)
  [[ "$left" == "dv-src.raw,keep-dv.qcow2" ]] || fail "claims after the deletes: $left"
  api GET '/v1/events?vm=web'
  grep_q "claim web-dv deleted with VM web" <<<"$BODY" || fail "no ClaimDeleted event: $BODY"
}

run_scenarios data-volumes scenario_blank_seen_by_the_guest scenario_clone_of_a_claim \
  scenario_from_the_image_store scenario_http_download scenario_refusals_leave_nothing \
  scenario_made_again_at_start scenario_deleted_with_the_vm_only
