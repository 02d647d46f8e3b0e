#!/usr/bin/env bash
# Claims and container disks against a root-run qmd (QEMU as nobody): `qmctl volume create`
# makes a claim the test guest boots with and reads; `qmctl image import` stores a disk (a
# plain image, a container-disk tar, an OCI layout) under its reference, a containerDisk VM
# runs on a per-run overlay that is gone after the stop while the stored image stays as it
# was, and so does an ephemeral volume over a claim. Then the
# attacks: a claimName that climbs out, a claim file that is a link to a root-only file, a
# --from and an import of files outside the roots or through links, a missing and an ambiguous
# claim, deletes and a resize while VMs use them: each refused with the documented error and
# nothing changed.
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (the QEMU user owns what qmd makes)"; exit 77; }

e2e_dir
A=$(mktemp -d /tmp/qmd-claims-attack.XXXXXX)  # outside every root
EXIT_HOOKS+=("rm -rf '$A'")
printf 'root secret\n' >"$A/secret"
chmod 0600 "$A/secret"
e2e_setup
CLAIMS=$S/claims
IMAGES=$S/images
REF=quay.io/containerdisks/qmd-test:1

snapshot() {  # everything outside the roots, and the claims and images
  find "$A" -printf '%p %U:%G %m %s\n' | sort
  md5sum "$A/secret"
}
before=$(snapshot)

# with_volume NAME VOLUME_YAML: the guest spec with one virtio disk "data" on that volume.
with_volume() {
  local file
  file=$(spec "$1" Manual)
  sed -i \
    -e "s|^          interfaces: \[\]|&\n          disks: [{name: data, disk: {bus: virtio}}]|" \
    -e "s|^      networks: \[\]|&\n      volumes: [$2]|" "$file"
  grep_q "volumes:" "$file" || fail "spec edit did not apply"
  echo "$file"
}

marker_image() {  # marker_image FILE MARKER: a 4 MiB raw image starting with MARKER
  head -c 4194304 /dev/zero >"$1"
  printf '%s' "$2" | dd of="$1" conv=notrunc status=none
}

# refused WANT_STATUS WANT... -- COMMAND...: COMMAND (qm -o json ...) fails, its message holds
# every WANT.
refused() {
  local wants=()
  while [[ "$1" != -- ]]; do wants+=("$1"); shift; done
  shift
  local out
  if out=$("$@" 2>&1); then fail "$* succeeded: $out"; fi
  local want
  for want in "${wants[@]}"; do
    grep_q -F -- "$want" <<<"$out" || fail "'$*' does not say '$want': $out"
  done
}

scenario_claim_create_and_boot() {
  qm volume create data --size 4Mi --format raw >/dev/null || fail "volume create"
  [[ -f "$CLAIMS/data.raw" ]] || fail "no $CLAIMS/data.raw"
  [[ "$(stat -c '%U %a %s' "$CLAIMS/data.raw")" == "nobody 600 4194304" ]] ||
    fail "the claim is not the QEMU user's 0600 4 MiB file: $(stat -c '%U %a %s' "$CLAIMS/data.raw")"
  local marker="qmd-claim-marker-$RANDOM"
  printf '%s' "$marker" | dd of="$CLAIMS/data.raw" conv=notrunc status=none
  qm create -f "$(with_volume cl-vm "{name: data, persistentVolumeClaim: {claimName: data}}")" \
    >/dev/null || fail "create cl-vm"
  qm start cl-vm >/dev/null || fail "start cl-vm"
  wait_agent cl-vm 120
  guest_wait 60 "the marker on the claim" cl-vm "head -c ${#marker} /dev/vda; echo" "$marker"
  [[ "$(qm -o json volume list | json_get '[v["usedBy"] for v in d["volumes"] if v["name"]=="data"][0]')" == '["cl-vm"]' ]] ||
    fail "volume list does not show cl-vm using data: $(qm -o json volume list)"
}

scenario_clone_and_resize() {
  refused "claim data is in use by running VM cl-vm; stop it first to clone it" \
    -- qm volume create data2 --clone data
  refused "claim data is in use by running VM cl-vm" "stop it first" -- qm volume resize data 8Mi
  [[ $(stat -c %s "$CLAIMS/data.raw") == 4194304 ]] || fail "the running VM's claim changed size"
  qm stop cl-vm >/dev/null || fail "stop cl-vm"
  qm volume create data2 --clone data --format qcow2 >/dev/null || fail "volume create --clone"
  [[ "$(qemu-img info --output=json "$CLAIMS/data2.qcow2" | json_get 'd["virtual-size"]')" == 4194304 ]] ||
    fail "the clone is not 4 MiB"
  qemu-img convert -f qcow2 -O raw "$CLAIMS/data2.qcow2" "$T/clone.raw"
  cmp -s "$CLAIMS/data.raw" "$T/clone.raw" || fail "the clone does not hold the claim's bytes"
  qm volume resize data2 8Mi >/dev/null || fail "resize data2"
  [[ "$(qemu-img info --output=json "$CLAIMS/data2.qcow2" | json_get 'd["virtual-size"]')" == 8388608 ]] ||
    fail "data2 did not grow to 8 MiB"
  refused "claim data2 is 8388608 bytes; 4194304 bytes would shrink the guest's disk" \
    -- qm volume resize data2 4Mi
}

scenario_delete_while_used() {
  refused "claim data is used by VM cl-vm" -- qm volume delete data
  [[ -f "$CLAIMS/data.raw" ]] || fail "the used claim is gone"
  qm volume delete data2 >/dev/null || fail "delete the unused data2"
  [[ ! -e "$CLAIMS/data2.qcow2" ]] || fail "data2 is still there"
}

# An ephemeral volume over the claim: the guest reads the claim, writes over it, and after a
# stop and start its write is gone and the claim file is byte for byte what it was.
scenario_ephemeral_claim() {
  local prefix sum
  prefix=$(head -c 17 "$CLAIMS/data.raw")
  [[ "$prefix" == qmd-claim-marker- ]] || fail "the claim lost its marker: $prefix"
  sum=$(md5sum <"$CLAIMS/data.raw")
  qm create -f "$(with_volume eph-vm \
    "{name: data, ephemeral: {persistentVolumeClaim: {claimName: data}}}")" >/dev/null ||
    fail "create eph-vm"
  qm start eph-vm >/dev/null || fail "start eph-vm"
  wait_agent eph-vm 120
  guest_wait 60 "the claim's marker" eph-vm "head -c 17 /dev/vda; echo" "$prefix"
  [[ -f "$T/run/vms/eph-vm/overlay-data.qcow2" ]] || fail "no overlay in the run dir"
  guest_sh eph-vm "printf ephemeral-write >/dev/vda && sync" >/dev/null ||
    fail "eph-vm's shell is gone"
  guest_wait 30 "the guest's own write" eph-vm "head -c 15 /dev/vda; echo" ephemeral-write
  refused "claim data is used by VM" -- qm volume delete data
  refused "claim data is in use by running VM eph-vm" -- qm volume resize data 8Mi
  qm stop eph-vm >/dev/null || fail "stop eph-vm"
  [[ ! -e "$T/run/vms/eph-vm/overlay-data.qcow2" ]] || fail "the overlay outlived the stop"
  [[ "$(md5sum <"$CLAIMS/data.raw")" == "$sum" ]] || fail "the claim changed"
  qm start eph-vm >/dev/null || fail "start eph-vm again"
  wait_agent eph-vm 120
  guest_wait 60 "the claim's marker after the restart" eph-vm "head -c 17 /dev/vda; echo" \
    "$prefix"
  qm kill eph-vm >/dev/null && qm delete eph-vm >/dev/null || fail "kill/delete eph-vm"
  [[ "$(md5sum <"$CLAIMS/data.raw")" == "$sum" ]] || fail "the claim changed"
}

scenario_container_disk_overlay() {
  local marker="qmd-image-marker-$RANDOM"
  mkdir -p "$S/src"
  marker_image "$S/src/disk.img" "$marker"
  qm image import "$REF" "$S/src/disk.img" >/dev/null || fail "image import"
  local stored
  stored=$(qm -o json image list | json_get "[i['path'] for i in d['images'] if i['ref']=='$REF'][0]")
  [[ -f "$stored" && "$stored" == "$IMAGES/"* ]] || fail "no stored image: $stored"
  local sum
  sum=$(md5sum <"$stored")
  qm create -f "$(with_volume cd-vm "{name: data, containerDisk: {image: $REF}}")" >/dev/null ||
    fail "create cd-vm"
  qm start cd-vm >/dev/null || fail "start cd-vm"
  wait_agent cd-vm 120
  guest_wait 60 "the image's marker" cd-vm "head -c ${#marker} /dev/vda; echo" "$marker"
  [[ -f "$T/run/vms/cd-vm/overlay-data.qcow2" ]] || fail "no overlay in the run dir"
  guest_sh cd-vm "printf overwritten >/dev/vda && sync" >/dev/null || fail "cd-vm's shell is gone"
  guest_wait 30 "the guest's own write" cd-vm "head -c 11 /dev/vda; echo" overwritten
  refused "image $REF is used by VM cd-vm" -- qm image delete "$REF"
  qm stop cd-vm >/dev/null || fail "stop cd-vm"
  [[ ! -e "$T/run/vms/cd-vm/overlay-data.qcow2" ]] || fail "the overlay outlived the stop"
  [[ "$(md5sum <"$stored")" == "$sum" ]] || fail "the stored image changed"
  qm start cd-vm >/dev/null || fail "start cd-vm again"
  wait_agent cd-vm 120
  guest_wait 60 "the image's marker again" cd-vm "head -c ${#marker} /dev/vda; echo" "$marker"
  qm kill cd-vm >/dev/null
}

scenario_container_disk_tar() {
  mkdir -p "$T/cd/disk"
  qemu-img create -q -f qcow2 "$T/cd/disk/disk.qcow2" 8M
  tar -C "$T/cd" -czf "$S/src/cd.tar.gz" disk
  qm image import registry:5000/kubevirt/cirros-container-disk-demo:devel "$S/src/cd.tar.gz" \
    >/dev/null || fail "import a container disk archive"
  [[ "$(qm -o json image list | json_get "[i['format'] + ' ' + str(i['virtualSize']) for i in d['images'] if i['ref']=='registry:5000/kubevirt/cirros-container-disk-demo:devel'][0]")" == "qcow2 8388608" ]] ||
    fail "the archive's disk is not stored as an 8 MiB qcow2: $(qm -o json image list)"
  ls -A "$IMAGES" | grep_q '^\.' && fail "the import left hidden files: $(ls -A "$IMAGES")"
  return 0
}

# An OCI image layout (index.json -> manifest -> a gzipped layer holding disk/disk.img), as
# `skopeo copy docker://... oci:DIR` writes one.
scenario_container_disk_oci_layout() {
  local oci=$S/src/oci marker="qmd-oci-marker-$RANDOM"
  mkdir -p "$T/layer/disk" "$oci/blobs/sha256"
  marker_image "$T/layer/disk/disk.img" "$marker"
  tar -C "$T/layer" -czf "$T/layer.tar.gz" disk
  local layer manifest
  layer=$(sha256sum "$T/layer.tar.gz" | cut -d' ' -f1)
  mv "$T/layer.tar.gz" "$oci/blobs/sha256/$layer"
  printf '{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s"}]}' \
    "$layer" >"$T/manifest.json"
  manifest=$(sha256sum "$T/manifest.json" | cut -d' ' -f1)
  mv "$T/manifest.json" "$oci/blobs/sha256/$manifest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s"}]}' \
    "$manifest" >"$oci/index.json"
  qm image import localhost/oci-disk:1 "$oci" >/dev/null || fail "import an OCI layout"
  local stored
  stored=$(qm -o json image list | json_get "[i['path'] for i in d['images'] if i['ref']=='localhost/oci-disk:1'][0]")
  [[ "$(head -c ${#marker} "$stored")" == "$marker" ]] || fail "the layout's disk is not what was stored"
  # A manifest digest that climbs out of the layout is refused.
  printf '{"manifests":[{"digest":"sha256:../../../../etc/passwd"}]}' >"$oci/index.json"
  refused "is not sha256:HEX" -- qm image import localhost/oci-evil:1 "$oci"
}

scenario_missing_claim() {
  qm create -f "$(with_volume cl-missing "{name: data, persistentVolumeClaim: {claimName: nope}}")" \
    >/dev/null || fail "a VM naming a claim still to come is defined"
  refused "VM cl-missing, volume data: claim nope does not exist" "$CLAIMS/nope.qcow2" \
    "$CLAIMS/nope.img" "$CLAIMS/nope.raw" "qmctl volume create nope --size SIZE" \
    -- qm start cl-missing
  [[ "$(vm_state cl-missing)" == stopped ]] || fail "cl-missing is not stopped"
  qm create -f "$(with_volume cd-missing "{name: data, containerDisk: {image: quay.io/none:1}}")" \
    >/dev/null || fail "create cd-missing"
  refused "VM cd-missing, volume data: image quay.io/none:1 is not in the image store" \
    "qmctl image import quay.io/none:1 FILE" -- qm start cd-missing
}

scenario_ambiguous_claim() {
  qemu-img create -q -f qcow2 "$CLAIMS/twice.qcow2" 1M
  head -c 1048576 /dev/zero >"$CLAIMS/twice.raw"
  qm create -f "$(with_volume cl-twice "{name: data, dataVolume: {name: twice}}")" >/dev/null ||
    fail "create cl-twice"
  refused "claim twice is both $CLAIMS/twice.qcow2 and $CLAIMS/twice.raw" -- qm start cl-twice
}

scenario_claim_name_climbs_out() {
  local out
  out=$(qm create -f "$(with_volume cl-escape "{name: data, persistentVolumeClaim: {claimName: ../../etc/passwd}}")" 2>&1) &&
    fail "a claimName with ../ was defined"
  grep_q -F '"../../etc/passwd" is not a claim name' <<<"$out" || fail "wrong error: $out"
  grep_q -F 'persistentVolumeClaim.claimName' <<<"$out" || fail "the field is not named: $out"
  qm show cl-escape >/dev/null 2>&1 && fail "cl-escape exists"
  refused '"../x" is not a claim name' -- qm volume create ../x --size 1Mi
  refused "is not an image reference" -- qm image import ../../etc/passwd "$S/src/disk.img"
  return 0
}

scenario_symlinked_claim() {
  ln -s "$A/secret" "$CLAIMS/evil.raw"
  qm create -f "$(with_volume cl-evil "{name: data, persistentVolumeClaim: {claimName: evil}}")" \
    >/dev/null || fail "create cl-evil"
  refused "$CLAIMS/evil.raw goes through a symbolic link" -- qm start cl-evil
  refused "goes through a symbolic link" -- qm volume create evil2 --from "$CLAIMS/evil.raw"
  refused "$A/secret is outside every storage root" -- qm volume create evil3 --from "$A/secret"
  refused "$A/secret is outside every storage root" -- qm image import quay.io/evil:1 "$A/secret"
  ln -s "$A/secret" "$S/src/link.img"
  refused "goes through a symbolic link" -- qm image import quay.io/evil:1 "$S/src/link.img"
  # A qcow2 whose header names the secret as its backing file: refused, not followed.
  qemu-img create -q -f qcow2 -b "$A/secret" -F raw "$S/src/backed.qcow2" 1M
  refused "has a backing file" -- qm image import quay.io/evil:2 "$S/src/backed.qcow2"
  refused "has a backing file" -- qm volume create evil4 --from "$S/src/backed.qcow2"
  # A container-disk archive whose disk is a link to the secret.
  mkdir -p "$T/evil/disk"
  ln -s "$A/secret" "$T/evil/disk/disk.img"
  tar -C "$T/evil" -cf "$S/src/evil.tar" disk
  refused "holds no regular file under disk/" -- qm image import quay.io/evil:3 "$S/src/evil.tar"
  [[ -z "$(ls "$CLAIMS" | grep evil[234])" ]] || fail "an evil claim was made: $(ls "$CLAIMS")"
  [[ "$(qm -o json image list)" != *evil* ]] || fail "an evil image was stored"
}

scenario_nothing_outside_the_roots_changed() {
  local after
  after=$(snapshot)
  [[ "$after" == "$before" ]] ||
    fail "outside the roots: before"$'\n'"$before"$'\n'"after"$'\n'"$after"
}

run_scenarios claims scenario_claim_create_and_boot scenario_clone_and_resize \
  scenario_delete_while_used scenario_ephemeral_claim scenario_container_disk_overlay \
  scenario_container_disk_tar scenario_container_disk_oci_layout scenario_missing_claim \
  scenario_ambiguous_claim scenario_claim_name_climbs_out scenario_symlinked_claim \
  scenario_nothing_outside_the_roots_changed
