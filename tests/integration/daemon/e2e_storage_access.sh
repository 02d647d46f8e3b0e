#!/usr/bin/env bash
# Paths from users, attacked by a plain member of qmd's API group against a root-run qmd:
# specs, hotplug calls and names that reach outside the storage roots are a 400 naming the
# path (at its line:column) and the roots, and nothing outside the roots changes. Then the
# positive case: a root-owned 0600 image in a storage root boots as a disk of a VM whose QEMU
# runs as the QEMU user (nobody), and the guest reads a marker from it.
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (a root-run qmd and a group member)"; exit 77; }
GROUP=qmde2e
MEMBER=qmde2e-member
groupadd -f "$GROUP"
id "$MEMBER" >/dev/null 2>&1 || useradd -r -g "$GROUP" -M -s /usr/sbin/nologin "$MEMBER"

e2e_dir
# Outside every root: a root-only file, and a root-only directory.
A=$(mktemp -d /tmp/qmd-attack.XXXXXX)
EXIT_HOOKS+=("rm -rf '$A'")
chmod 0755 "$A"
printf 'root secret\n' >"$A/secret"
chmod 0600 "$A/secret"
mkdir -m 0700 "$A/locked"
# Inside the root: a directory the member owns, where it may plant what it likes.
mkdir -p "$S/member"
chown "$MEMBER:$GROUP" "$S/member"
QMD_ARGS=(--group "$GROUP")
e2e_setup

snapshot() {  # what is outside the roots, with owner, mode, size and content
  find "$A" -printf '%p %U:%G %m %s\n' | sort
  md5sum "$A/secret"
  ls -d /q.img /q 2>/dev/null || true
}
before=$(snapshot)

as_member() { setpriv --reuid "$MEMBER" --regid "$GROUP" --clear-groups "$@"; }

# member_api METHOD PATH [curl args...]: as api (lib.sh), as the group member.
member_api() {
  local method=$1 path=$2 out
  shift 2
  out=$(as_member curl -sS --max-time 120 --unix-socket "$SOCK" -w '\n%{http_code}' \
    -X "$method" "$@" "http://qmd$path") || out=$'\ncurl-failed'
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}

# volume_spec NAME DISK VOLUME_YAML: the guest spec with one more disk on that volume.
volume_spec() {
  local file
  file=$(spec "$1" Manual)
  sed -i \
    -e "s|^          interfaces: \[\]|&\n          disks: [{name: \"$2\", disk: {bus: virtio}}]|" \
    -e "s|^      networks: \[\]|&\n      volumes: [$3]|" "$file"
  grep_q "volumes:" "$file" || fail "spec edit did not apply"
  echo "$file"
}

# create_refused FILE WANT...: the member's create is a 400 whose body holds every WANT, and
# no VM is defined.
create_refused() {
  local file=$1
  shift
  member_api POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
  [[ "$STATUS" == 400 ]] || fail "create $(basename "$file"): HTTP $STATUS, expected 400: $BODY"
  local want
  for want in "$@"; do
    grep_q -F -- "$want" <<<"$BODY" || fail "the 400 does not say '$want': $BODY"
  done
  [[ "$(qm -o json list)" == *"$(basename "$file" .yaml)"* ]] && fail "the VM was defined"
  return 0
}

scenario_disk_or_create_outside() {
  local file
  file=$(volume_spec sa-outside data "{name: data, hostDisk: {path: $A/secret, type: DiskOrCreate, capacity: 1Mi}}")
  create_refused "$file" "$A/secret is outside every storage root" "$S" \
    '"path":"spec.template.spec.volumes[0].hostDisk.path"' '"line":'

}

scenario_block_device_outside() {
  local file
  file=$(volume_spec sa-block data "{name: data, block: {path: /dev/null}}")
  create_refused "$file" "/dev/null is outside every storage root" "volumes[0].block.path"
}

scenario_traversal_name() {
  local file
  file=$(volume_spec sa-name "/../../../../q" "{name: \"/../../../../q\", emptyDisk: {capacity: 1Mi}}")
  create_refused "$file" '/../../../../q\" is not a name qmd accepts' \
    '"path":"spec.template.spec.volumes[0].name","message"' '"line":'

  [[ ! -e /q.img ]] || fail "/q.img exists"
}

scenario_new_file_in_outside_dir() {
  local file
  file=$(volume_spec sa-newdir data "{name: data, hostDisk: {path: $A/locked/new.img, type: DiskOrCreate, capacity: 1Mi}}")
  create_refused "$file" "$A/locked/new.img is outside every storage root"
  [[ -z "$(ls -A "$A/locked")" ]] || fail "something was made in $A/locked"
}

scenario_planted_links() {
  as_member ln -s "$A/secret" "$S/member/disk.img" || fail "plant a link"
  as_member ln -s "$A" "$S/member/via" || fail "plant a directory link"
  local file
  file=$(volume_spec sa-link data "{name: data, hostDisk: {path: $S/member/disk.img, type: DiskOrCreate, capacity: 1Mi}}")
  create_refused "$file" "$S/member/disk.img goes through a symbolic link"
  file=$(volume_spec sa-via data "{name: data, file: {path: $S/member/via/secret}}")
  create_refused "$file" "$S/member/via/secret goes through a symbolic link"
}

# A running VM of the member's, for the hotplug attacks and the positive case: a root-owned
# 0600 image in the root, which QEMU (nobody) could not open by its path.
scenario_root_only_image_boots() {
  local marker="qmd-storage-marker-$RANDOM"
  head -c 1048576 /dev/zero >"$S/root-only.img"
  printf '%s' "$marker" | dd of="$S/root-only.img" conv=notrunc status=none
  chmod 0600 "$S/root-only.img"
  local file
  file=$(volume_spec sa-vm data "{name: data, file: {path: $S/root-only.img, format: raw}}")
  member_api POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
  [[ "$STATUS" == 201 ]] || fail "create sa-vm: HTTP $STATUS: $BODY"
  member_api POST /v1/vms/sa-vm/start
  [[ "$STATUS" == 200 ]] || fail "start sa-vm: HTTP $STATUS: $BODY"
  wait_agent sa-vm 120
  [[ "$(stat -c %u "/proc/$(vm_pid sa-vm)")" == "$(vm_uid sa-vm)" ]] ||
    fail "QEMU runs as $(stat -c %u "/proc/$(vm_pid sa-vm)"), not as sa-vm's uid $(vm_uid sa-vm)"
  guest_wait 60 "the marker on /dev/vda" sa-vm "head -c ${#marker} /dev/vda; echo" "$marker"
  [[ "$(stat -c '%U %a' "$S/root-only.img")" == "root 600" ]] || fail "the image was chowned"
}

scenario_attach_outside_reveals_nothing() {
  member_api POST /v1/vms/sa-vm/disks -H 'Content-Type: application/json' \
    -d "{\"name\":\"x\",\"path\":\"$A/secret\"}"
  [[ "$STATUS" == 400 ]] || fail "attach $A/secret: HTTP $STATUS: $BODY"
  local existing=${BODY//"$A/secret"/PATH}
  member_api POST /v1/vms/sa-vm/disks -H 'Content-Type: application/json' \
    -d "{\"name\":\"x\",\"path\":\"$A/no-such-file\"}"
  [[ "$STATUS" == 400 ]] || fail "attach $A/no-such-file: HTTP $STATUS: $BODY"
  [[ "${BODY//"$A/no-such-file"/PATH}" == "$existing" ]] ||
    fail "the answers differ for a file that exists and one that does not: $existing / $BODY"
  grep_q "outside every storage root" <<<"$BODY" || fail "unclear refusal: $BODY"
  member_api POST /v1/vms/sa-vm/disks -H 'Content-Type: application/json' \
    -d "{\"name\":\"y\",\"path\":\"$S/member/via/secret\"}"
  [[ "$STATUS" == 400 ]] && grep_q "symbolic link" <<<"$BODY" ||
    fail "attach through a planted link: HTTP $STATUS: $BODY"
}

# A second VM given sa-vm's writable image: QEMU's image lock refuses it, qmd's answer says so
# and names the image (not QEMU's /dev/fdset/N), and sa-vm runs on as it was.
scenario_second_writer_refused() {
  local pid file
  pid=$(vm_pid sa-vm)
  file=$(volume_spec sa-lock data "{name: data, file: {path: $S/root-only.img, format: raw}}")
  member_api POST /v1/vms -H 'Content-Type: application/yaml' --data-binary "@$file"
  [[ "$STATUS" == 201 ]] || fail "create sa-lock: HTTP $STATUS: $BODY"
  member_api POST /v1/vms/sa-lock/start
  [[ "$STATUS" == 409 ]] || fail "a second VM on sa-vm's writable image: HTTP $STATUS: $BODY"
  grep_q -F 'Failed to get \"write\" lock' <<<"$BODY" || fail "no lock error: $STATUS $BODY"
  grep_q -F "$S/root-only.img" <<<"$BODY" || fail "the lock error does not name the image: $BODY"
  grep_q -F "/dev/fdset/" <<<"$BODY" && fail "the answer names an fd set: $BODY"
  log "second writer: HTTP $STATUS: $BODY"
  [[ "$(vm_state sa-lock)" != running ]] || fail "sa-lock is running"
  [[ "$(vm_pid sa-vm)" == "$pid" ]] && state_is sa-vm running || fail "sa-vm was disturbed"
  local mark="qmd-first-writer-$RANDOM"
  guest_sh sa-vm "printf %s $mark >/dev/vda && sync" >/dev/null || fail "sa-vm's shell is gone"
  [[ "$(head -c ${#mark} "$S/root-only.img")" == "$mark" ]] || fail "sa-vm's write did not land"
}

# Hotplug hands QEMU a descriptor too: a root-owned 0600 image attaches to the running VM, and
# a second writer of sa-vm's own image is QEMU's lock error naming the image, not its fd set.
scenario_hotplug_root_only_image() {
  local marker="qmd-hotplug-marker-$RANDOM"
  head -c 1048576 /dev/zero >"$S/hot-root-only.img"
  printf '%s' "$marker" | dd of="$S/hot-root-only.img" conv=notrunc status=none
  chmod 0600 "$S/hot-root-only.img"
  member_api POST /v1/vms/sa-vm/disks -H 'Content-Type: application/json' \
    -d "{\"name\":\"hot\",\"path\":\"$S/hot-root-only.img\"}"
  [[ "$STATUS" == 200 ]] || fail "attach the root-only image: HTTP $STATUS: $BODY"
  guest_wait 60 "the marker on /dev/vdb" sa-vm "head -c ${#marker} /dev/vdb; echo" "$marker"
  [[ "$(stat -c '%U %a' "$S/hot-root-only.img")" == "root 600" ]] || fail "the image was chowned"
  member_api POST /v1/vms/sa-vm/disks -H 'Content-Type: application/json' \
    -d "{\"name\":\"twice\",\"path\":\"$S/root-only.img\"}"
  [[ "$STATUS" == 409 ]] || fail "sa-vm's own image attached a second time: HTTP $STATUS: $BODY"
  grep_q -F 'Failed to get \"write\" lock' <<<"$BODY" || fail "no lock error: $STATUS $BODY"
  grep_q -F "$S/root-only.img" <<<"$BODY" || fail "the lock error does not name the image: $BODY"
  grep_q -F "/dev/fdset/" <<<"$BODY" && fail "the answer names an fd set: $BODY"
  member_api DELETE /v1/vms/sa-vm/disks/hot
  [[ "$STATUS" == 200 ]] || fail "detach hot: HTTP $STATUS: $BODY"
}

scenario_nothing_outside_the_roots_changed() {
  local after
  after=$(snapshot)
  [[ "$after" == "$before" ]] ||
    fail "outside the roots: before"$'\n'"$before"$'\n'"after"$'\n'"$after"
}

run_scenarios storage-access scenario_disk_or_create_outside scenario_block_device_outside \
  scenario_traversal_name scenario_new_file_in_outside_dir scenario_planted_links \
  scenario_root_only_image_boots scenario_attach_outside_reveals_nothing \
  scenario_second_writer_refused scenario_hotplug_root_only_image \
  scenario_nothing_outside_the_roots_changed
