#!/usr/bin/env bash
# KubeVirt's own example specs (tests/fixtures/kubevirt-examples), unchanged, run under a
# root-run qmd: for each one the test makes what a cluster would have made first (the claims
# it names, with `qmctl volume create`; the container disks, with `qmctl image import`), then
# `qmctl create -f FILE` and `qmctl start`, and checks that QEMU runs with the claim, the
# container disk's per-run overlay and the cloud-init seed. No guest OS is booted: the disks
# are blank, so what runs is the firmware looking for one. Examples that need what this host
# lacks (multus bridges, an Arm host, sidecar hooks) are listed with the reason and left out.
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (the QEMU user owns what qmd makes)"; exit 77; }
command -v genisoimage >/dev/null || { echo "SKIP: genisoimage is missing"; exit 77; }

X=$QMD_SOURCE_DIR/tests/fixtures/kubevirt-examples
e2e_dir
cat >"$T/qmd.yaml" <<EOC
presetDir: $X/presets
hyperv: bestEffort
network: {ports: {range: 20000-20099}}  # vmi-masquerade forwards port 80: it gets one of these
EOC
QMD_ARGS=(--config "$T/qmd.yaml")
e2e_setup

# name: why it does not run here (each validates; see test_kubevirt_examples.cpp)
declare -A LEFT_OUT=(
  [vmi-arm.yaml]="an aarch64 guest needs qemu-system-aarch64"
  [vmi-multus-multiple-net.yaml]="needs the host bridges its multus networks map to"
  [vmi-multus-ptp.yaml]="needs the host bridge its multus network maps to"
  [vm-win2k19.yaml]="needs the host bridge its multus network maps to"
  [vmi-host-disk.yaml]="its hostDisk is /var/data/disk.img, a host path outside the test's root"
  [vm-cirros-with-sidecar-hook-configmap.yaml]="a sidecar hook is a cluster-side program"
  [vmi-with-sidecar-hook-configmap.yaml]="a sidecar hook is a cluster-side program"
  [vmi-with-sidecar-hook.yaml]="a sidecar hook is a cluster-side program"
)

# Refused as written on one host (GPUs, host devices, SR-IOV, macvtap, conflicting presets...).
REFUSED="vmi-gpu.yaml vmi-dra-pgpu.yaml vm-dra-pgpu.yaml vmi-usb.yaml vmi-resource-claim.yaml
  vmi-sriov.yaml vmi-kernel-boot.yaml vmi-macvtap.yaml vm-cirros-clarge.yaml
  vm-cirros-clarge-windows.yaml"
REFUSED=$(echo $REFUSED)

# needs FILE: "claim NAME" and "image REF" lines, one for each claim and container disk.
needs() {
  python3 - "$1" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
spec = doc["spec"]
spec = spec.get("template", {}).get("spec", spec) if doc["kind"] == "VirtualMachine" else spec
for v in spec.get("volumes", []):
    pvc = v.get("persistentVolumeClaim") or (v.get("ephemeral") or {}).get("persistentVolumeClaim")
    if pvc:
        print("claim", pvc["claimName"])
    if "dataVolume" in v:
        print("claim", v["dataVolume"]["name"])
    if "containerDisk" in v:
        print("image", v["containerDisk"]["image"])
PY
}

vm_name() { python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["metadata"]["name"])' "$1"; }

make_needs() {  # creates each claim and imports each image FILE names, once
  local kind what
  while read -r kind what; do
    case $kind in
      claim)
        [[ -e "$S/claims/$what.qcow2" ]] ||
          qm volume create "$what" --size 64Mi >/dev/null || fail "volume create $what"
        ;;
      image)
        qm -o json image list | grep_q -F "\"$what\"" ||
          qm image import "$what" "$S/blank.qcow2" >/dev/null || fail "image import $what"
        ;;
    esac
  done < <(needs "$1")
}

run_example() {  # run_example FILE: create, start, check QEMU's argv, kill, delete
  local file=$X/$1 name pid
  name=$(vm_name "$file")
  make_needs "$file"
  qm create -f "$file" >/dev/null || fail "$1: create: $(qm create -f "$file" 2>&1)"
  qm start "$name" >/dev/null || fail "$1: start: $(qm show "$name" 2>&1 | tail -n 20)"
  wait_state "$name" running 60
  pid=$(vm_pid "$name")
  local kind what
  while read -r kind what; do
    case $kind in
      claim) find "/proc/$pid/fd" -lname "$S/claims/$what.*" | grep_q . ||
        fail "$1: QEMU does not hold claim $what open" ;;
    esac
  done < <(needs "$file")
  if grep_q -E "cloudInit(NoCloud|ConfigDrive)" "$file"; then
    find "/proc/$pid/fd" -lname "$T/run/vms/$name/*.iso" | grep_q . ||
      fail "$1: QEMU does not hold a cloud-init seed open"
  fi
  if grep_q containerDisk "$file"; then
    find "/proc/$pid/fd" -lname "$T/run/vms/$name/overlay-*.qcow2" | grep_q . ||
      fail "$1: QEMU does not hold a container disk overlay open"
  fi
  qm kill "$name" >/dev/null || fail "$1: kill"
  wait_state "$name" stopped 30
  qm delete "$name" >/dev/null || fail "$1: delete"
}

qemu-img create -q -f qcow2 "$S/blank.qcow2" 64M
ran=0
for file in "$X"/*.yaml; do
  base=$(basename "$file")
  if [[ -n "${LEFT_OUT[$base]:-}" ]]; then
    log "$base: left out: ${LEFT_OUT[$base]}"
    continue
  fi
  if [[ " $REFUSED " == *" $base "* ]]; then
    continue  # refused on one host; test_kubevirt_examples.cpp checks each error
  fi
  log "$base"
  run_example "$base"
  ran=$((ran + 1))
done
((ran >= 20)) || fail "only $ran examples ran"
log "PASS: $ran examples ran unchanged"
