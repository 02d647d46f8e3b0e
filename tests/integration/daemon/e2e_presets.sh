#!/usr/bin/env bash
# Preset files against the real qmd: a file replacing a built-in, one with a bad field and one
# that is not YAML. qmd starts and logs them; GET /v1/host and qmctl host list every preset
# with its origin and the failed files; only the VMs naming the broken preset are refused
# (400 with the file's line:column); kind: Bogus is a 400 at its position; nothing is stored
# for a refused VM.
source "$(dirname "$0")/lib.sh"
e2e_dir
P=$T/presets
mkdir -p "$P"
cat >"$P/mine.yaml" <<'YAML'
---
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterPreference
metadata:
  labels: {instancetype.kubevirt.io/os-type: linux}
  name: linux
spec:
  annotations: {example.org/origin: file}
  devices: {preferredDiskBus: sata, preferredInterfaceModel: e1000e}
  requirements: {cpu: {guest: 1}, memory: {guest: 128Mi}}
---
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachinePreference
metadata: {name: broken}
spec:
  devices: {preferredDiskBuss: sata}
YAML
printf 'kind: [unclosed\n' >"$P/syntax.yaml"
cat >"$T/qmd.yaml" <<YAML
presetDir: $P
YAML
QMD_ARGS=(--config "$T/qmd.yaml")
e2e_setup

vm_yaml() {  # vm_yaml NAME PREFERENCE-LINE
  cat <<YAML
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: $1}
spec:
  runStrategy: Halted
$2
  template:
    spec:
      domain:
        cpu: {cores: 1}
        memory: {guest: 256Mi}
        devices: {autoattachGraphicsDevice: false}
YAML
}
yaml=(-H 'Content-Type: application/yaml')

# qmd started, and said once which file replaced a built-in and which failed.
wait_for 10 "the replacement logged" grep -q "preference \"linux\" from $P/mine.yaml replaces the built-in one" "$T/qmd.log"
grep -q "presets: $P/syntax.yaml did not load" "$T/qmd.log" || fail "syntax.yaml failure not logged"
[[ $(grep -c "replaces the built-in one" "$T/qmd.log") -eq 1 ]] || fail "replacement logged more than once"

# The host document: origins, the replacement, the broken preset and both failed files.
expect_status 200 GET /v1/host
preset() { json_get "[p for p in d['presets']['presets'] if p['name'] == '$1'][0]" <<<"$BODY"; }
[[ $(preset linux | json_get 'd["origin"]') == "$P/mine.yaml" ]] || fail "linux origin: $(preset linux)"
[[ $(preset linux | json_get 'd["replacesBuiltIn"]') == true ]] || fail "linux not marked as replacing"
[[ $(preset windows.11 | json_get 'd["origin"]') == built-in ]] || fail "windows.11: $(preset windows.11)"
[[ $(preset cx1.medium | json_get 'd["kind"]') == VirtualMachineClusterInstancetype ]] ||
  fail "cx1.medium: $(preset cx1.medium)"
[[ $(preset broken | json_get 'd["errors"][0]') == *"($P/mine.yaml:16:13)" ]] ||
  fail "broken: $(preset broken)"
failed=$(json_get '" ".join(f["file"] for f in d["presets"]["failedFiles"])' <<<"$BODY")
[[ "$failed" == "$P/mine.yaml $P/syntax.yaml" ]] || fail "failedFiles: $failed"
host_out=$(qm host) || fail "qmctl host"
grep_q -F "\"origin\": \"$P/mine.yaml\"" <<<"$host_out" ||
  fail "qmctl host does not list the file's origin"

# Only the VM naming the broken preset is refused, with the file's position; nothing stored.
expect_status 400 POST /v1/vms "${yaml[@]}" --data-binary "$(vm_yaml bad '  preference: {name: broken}')"
[[ "$BODY" == *"preference \\\"broken\\\" did not load from $P/mine.yaml"* ]] || fail "broken: $BODY"
[[ "$BODY" == *"($P/mine.yaml:16:13)"* ]] || fail "no file position: $BODY"
expect_status 404 GET /v1/vms/bad
expect_status 201 POST /v1/vms "${yaml[@]}" --data-binary "$(vm_yaml good '  preference: {name: linux}')"
[[ $(qm -o json show good | json_get 'd["name"]') == good ]] || fail "good not stored"
argv_out=$(qm argv good) || fail "qmctl argv good"
grep_q "^e1000e,id=nic-default" <<<"$argv_out" || fail "the file's interface model was not applied"
# A preference's requirements hold: windows.2k19 wants 2Gi, the VM has 256Mi.
expect_status 400 POST /v1/vms "${yaml[@]}" --data-binary "$(vm_yaml win '  preference: {name: windows.2k19}')"
[[ "$BODY" == *'the VM has 256Mi of memory, but preference \"windows.2k19\" requires at least 2Gi'*'(request body:11:18)'* ]] ||
  fail "requirements: $BODY"
expect_status 404 GET /v1/vms/win

# kind must be one of KubeVirt's: 400 at the field's line:column, nothing stored.
expect_status 400 POST /v1/vms "${yaml[@]}" \
  --data-binary "$(vm_yaml bogus '  preference: {name: linux, kind: Bogus}')"
[[ "$BODY" == *'spec.preference.kind: \"Bogus\" is not a preference kind'*'(request body:6:35)'* ]] ||
  fail "kind: $BODY"
expect_status 404 GET /v1/vms/bogus
log "PASS presets"
