#!/usr/bin/env bash
# Live migration of a VM with a persistent TPM and persistent EFI VARS (OVMF booting the test
# guest's kernel, TCG), between two qmd on this machine. Everything the guest writes, it
# writes itself: raw TPM2 commands on /dev/tpm0, CFI program commands on the VARS flash
# through /dev/mem (busybox devmem; the test kernel has no efivarfs, and without secure boot
# the flash takes writes from the OS) into the unused tail of the VARS.
# - before: an NV index defined and written (V1), PCR16 extended, bytes F1 programmed into the
#   flash; A's VARS file holds F1;
# - a migration cancelled mid-way leaves A's VARS and TPM state as they were, nothing on B;
# - after the migration: B's guest reads V1 from the NV index, PCR16 is the expected digest
#   (volatile TPM state came along), the flash reads F1; B's state dir holds the VARS (with
#   F1) and the TPM state (with V1), A's has neither any more;
# - then B's guest writes V2 to the NV index and F2 to the flash, and the VM is stopped on B:
#   B's VARS file holds F1 and F2, its TPM state file V2; started again on B, the NV index reads V2 (the stored TPM
#   state is the one the guest last had), PCR16 is back to zero (a real new boot) and the
#   flash reads F1 F2 (the stored VARS are the ones the guest last had). As root: the VM ran on
#   B as A's QEMU's uid; stopped, its VARS and TPM state are B's qmd's, and started again it
#   runs as a uid of B's own range.
source "$(dirname "$0")/lib.sh"
e2e_setup

source "$(dirname "$0")/migrate_lib.sh"
start_qmd_b

vm=st1
cat >"$T/$vm.yaml" <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: $vm
spec:
  runStrategy: Manual
  template:
    spec:
      terminationGracePeriodSeconds: 10
      domain:
        cpu: {cores: 1}
        memory: {guest: 256Mi}
        firmware:
          bootloader:
            efi: {secureBoot: false, persistent: true}
          kernelBoot:
            kernelPath: $S/guest/vmlinuz
            initrdPath: $S/guest/initramfs.img
            kernelArgs: "console=ttyS0 panic=-1 quiet mitigations=off"
        devices:
          autoattachGraphicsDevice: false
          interfaces: []
          tpm: {persistent: true}
      networks: []
EOF
qm create -f "$T/$vm.yaml" >/dev/null || fail "qmctl create"
qm start "$vm" >/dev/null || fail "qmctl start"

rand_hex() { od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }
# file_has FILE HEX: the bytes occur in FILE (swtpm keeps NV index data unencrypted).
file_has() {
  python3 -c 'import sys; sys.exit(bytes.fromhex(sys.argv[2]) not in open(sys.argv[1], "rb").read())' "$1" "$2"
}
file_hex() { od -v -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }  # file_hex FILE OFFSET COUNT

# --- TPM 2.0 commands as hex, each with one password session (empty auth) ---
tpm2_hex() {  # tpm2_hex CC HANDLES PARAMS
  local body="$2""00000009""40000009""0000""00""0000""$3"
  printf '8002%08x%s%s' "$((${#body} / 2 + 10))" "$1" "$body"
}
IDX=01500016  # an owner NV index: owner/auth read+write, no DA, 8 bytes
tpm_define() { tpm2_hex 0000012a 40000001 "0000""000e${IDX}000b020600060000""0008"; }
tpm_nv_write() { tpm2_hex 00000137 "$IDX$IDX" "0008$1""0000"; }
tpm_nv_read() { tpm2_hex 0000014e "$IDX$IDX" "0008""0000"; }
tpm_extend16() { tpm2_hex 00000182 00000010 "00000001""000b$1"; }
# guest_tpm SOCKET HEX: the response, as hex; fails unless its response code is 0.
guest_tpm() {
  local oct="" i out
  for ((i = 0; i < ${#2}; i += 2)); do oct+=$(printf '\\%03o' $((16#${2:i:2}))); done
  out=$(guest_exec "$1" "exec 3<>/dev/tpm0 && printf '$oct' >&3 &&
    dd bs=4096 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n'") || return 1
  [[ "${out:12:8}" == 00000000 ]] || { echo "TPM response $out" >&2; return 1; }
  echo "$out"
}
nv_read() { local r; r=$(guest_tpm "$1" "$(tpm_nv_read)") || return 1; echo "${r:32:16}"; }
pcr16() { guest_exec "$1" 'cat /sys/class/tpm/tpm0/pcr-sha256/16' | tr 'A-F' 'a-f'; }

# --- the VARS flash: mapped right below the code, both ending at 4 GiB ---
qm argv "$vm" -o json >"$T/argv.json" || fail "qmctl argv"
read -r code_file vars_file < <(python3 - "$T/argv.json" <<'EOF'
import json, sys
argv = json.load(open(sys.argv[1]))["argv"]
files = {}
for a in argv:
    if a.startswith("{") and '"filename"' in a:
        o = json.loads(a)
        files[o["node-name"]] = o["filename"]
print(files["pflash0-storage"], files["pflash1-storage"])
EOF
) || fail "no pflash0/pflash1 in the argv: $(cat "$T/argv.json")"
[[ "$vars_file" == "$T/state/vms/$vm/OVMF_VARS.fd" ]] || fail "the VARS are not persistent: $vars_file"
vars_base=$(((1 << 32) - $(stat -c %s "$code_file") - $(stat -c %s "$vars_file")))
# The tail of the fault-tolerant-write spare block, the end of the VARS: OVMF leaves it alone
# (bytes in the variable store's free space would make it reclaim the store at the next boot).
off1=$(($(stat -c %s "$vars_file") - 4096)) off2=$(($(stat -c %s "$vars_file") - 4096 + 16))
# guest_flash SOCKET OFFSET HEX: programs the bytes (CFI 0x40 + data each), back to read mode.
guest_flash() {
  local cmd="" i
  for ((i = 0; i < ${#3}; i += 2)); do
    cmd+="devmem $(($vars_base + $2 + i / 2)) 8 0x40 && devmem $(($vars_base + $2 + i / 2)) 8 0x${3:i:2} && "
  done
  guest_exec "$1" "${cmd}devmem $vars_base 8 0xff" >/dev/null
}
guest_flash_read() {  # guest_flash_read SOCKET OFFSET COUNT: hex, lower case
  guest_exec "$1" "for i in \$(seq 0 $(($3 - 1))); do devmem \$(($vars_base + $2 + i)) 8; done" |
    sed 's/^0x//' | tr -d '\n' | tr 'A-F' 'a-f'
}

wait_agent "$vm" 150
log "A: the guest (OVMF, persistent VARS and TPM) is up"
[[ "$(file_hex "$vars_file" "$off1" 32)" == "$(printf 'ff%.0s' {1..32})" ]] ||
  fail "the VARS at $off1 are not unused (erased): $(file_hex "$vars_file" "$off1" 32)"

V1=$(rand_hex 8) V2=$(rand_hex 8) F1=$(rand_hex 8) F2=$(rand_hex 8) D=$(rand_hex 32)
P1=$(python3 -c 'import hashlib, sys; print(hashlib.sha256(bytes(32) + bytes.fromhex(sys.argv[1])).hexdigest())' "$D")
guest_tpm "$SOCK_A" "$(tpm_define)" >/dev/null || fail "TPM2_NV_DefineSpace"
guest_tpm "$SOCK_A" "$(tpm_nv_write "$V1")" >/dev/null || fail "TPM2_NV_Write V1"
[[ "$(nv_read "$SOCK_A")" == "$V1" ]] || fail "A: the NV index does not read back V1"
guest_tpm "$SOCK_A" "$(tpm_extend16 "$D")" >/dev/null || fail "TPM2_PCR_Extend 16"
[[ "$(pcr16 "$SOCK_A")" == "$P1" ]] || fail "A: PCR16 is $(pcr16 "$SOCK_A"), expected $P1"
guest_flash "$SOCK_A" "$off1" "$F1" || fail "A: program the VARS flash"
[[ "$(guest_flash_read "$SOCK_A" "$off1" 8)" == "$F1" ]] || fail "A: the flash does not read F1"
[[ "$(file_hex "$vars_file" "$off1" 8)" == "$F1" ]] || fail "A's VARS file does not hold F1"
log "A: NV=$V1 PCR16=$P1 VARS@$off1=$F1"

log "a cancelled migration (1 MiB/s): A keeps its VARS and TPM state, B keeps nothing"
migrate "$SOCK_B" ',"maxBandwidth":"1Mi"'
wait_for 20 "B's copy of the state" test -f "$T/b-state/vms/$vm/OVMF_VARS.fd"
wait_sending 30
expect_status 202 DELETE "/v1/operations/$OP"
wait_op 30 cancelled
wait_state "$vm" running 10
[[ "$(file_hex "$vars_file" "$off1" 8)" == "$F1" ]] || fail "A's VARS changed by a cancelled migration"
file_has "$T/state/vms/$vm/tpm/tpm2-00.permall" "$V1" ||
  fail "A's stored TPM state lost V1 in a cancelled migration"
[[ "$(nv_read "$SOCK_A")" == "$V1" ]] || fail "A: the NV index after a cancelled migration"
wait_for 20 "B to drop its copy of the VM's state" test ! -e "$T/b-state/vms/$vm"

log "migrate to B"
migrate "$SOCK_B"
wait_op 120 succeeded
log "operation: $BODY"
[[ "$(vm_state "$vm")" == migrated ]] || fail "A: $vm is $(vm_state "$vm")"
[[ ! -e "$T/state/vms/$vm/OVMF_VARS.fd" ]] || fail "A kept its VARS after the hand-over"
[[ ! -e "$T/state/vms/$vm/tpm" ]] || fail "A kept its TPM state after the hand-over"
b_vars=$T/b-state/vms/$vm/OVMF_VARS.fd
[[ -f "$b_vars" && -f "$T/b-state/vms/$vm/tpm/tpm2-00.permall" ]] ||
  fail "B's state dir lacks the VARS or the TPM state: $(ls -lR "$T/b-state/vms/$vm" 2>&1)"
[[ "$(file_hex "$b_vars" "$off1" 8)" == "$F1" ]] || fail "B's VARS file does not hold F1"
b_tpm=$T/b-state/vms/$vm/tpm/tpm2-00.permall
file_has "$b_tpm" "$V1" || fail "B's stored TPM state does not hold V1 (the NV index)"

on_b wait_agent "$vm" 60
[[ "$(nv_read "$SOCK_B")" == "$V1" ]] || fail "B: the NV index reads $(nv_read "$SOCK_B"), not V1"
[[ "$(pcr16 "$SOCK_B")" == "$P1" ]] || fail "B: PCR16 is $(pcr16 "$SOCK_B"), not $P1"
[[ "$(guest_flash_read "$SOCK_B" "$off1" 8)" == "$F1" ]] || fail "B: the flash does not read F1"
log "B: the guest sees NV=V1, PCR16=P1, VARS F1"

guest_tpm "$SOCK_B" "$(tpm_nv_write "$V2")" >/dev/null || fail "B: TPM2_NV_Write V2"
guest_flash "$SOCK_B" "$off2" "$F2" || fail "B: program the VARS flash"
[[ "$(guest_flash_read "$SOCK_B" "$off2" 8)" == "$F2" ]] || fail "B: the flash does not read F2"
qm_b stop "$vm" >/dev/null || fail "B: stop"
on_b wait_state "$vm" stopped 60
[[ "$(file_hex "$b_vars" "$off1" 8)$(file_hex "$b_vars" "$off2" 8)" == "$F1$F2" ]] ||
  fail "B's stored VARS: $(file_hex "$b_vars" "$off1" 8) $(file_hex "$b_vars" "$off2" 8), expected $F1 $F2"
file_has "$b_tpm" "$V2" || fail "B's stored TPM state does not hold V2 after the stop"
if [[ $(id -u) -eq 0 ]]; then
  # It ran as A's QEMU's uid, which A's qmd may hand out again: stopped, its files are B's qmd's.
  [[ "$(stat -c %u "$b_vars" "$b_tpm" | sort -u)" == 0 ]] ||
    fail "B's stored VARS and TPM state still belong to A's uid: $(stat -c '%n %u' "$b_vars" "$b_tpm")"
fi
log "B: stored VARS hold F1 and F2, the stored TPM state V2; start again on B"

qm_b start "$vm" >/dev/null || fail "B: start again"
on_b wait_agent "$vm" 150
[[ "$(nv_read "$SOCK_B")" == "$V2" ]] ||
  fail "B after a restart: the NV index reads $(nv_read "$SOCK_B"), expected V2=$V2"
[[ "$(pcr16 "$SOCK_B")" == "$(printf '0%.0s' {1..64})" ]] ||
  fail "B after a restart: PCR16 is $(pcr16 "$SOCK_B"): not a fresh boot?"
[[ "$(guest_flash_read "$SOCK_B" "$off1" 8)$(guest_flash_read "$SOCK_B" "$off2" 8)" == "$F1$F2" ]] ||
  fail "B after a restart: the flash does not read F1 F2"
[[ "$(file_hex "$b_vars" "$off1" 8)$(file_hex "$b_vars" "$off2" 8)" == "$F1$F2" ]] ||
  fail "B after a restart: the VARS file lost F1 F2"
if [[ $(id -u) -eq 0 ]]; then
  uid_b=$(json_get 'd.get("qemuUid")' <"$T/b-state/vms/$vm/record.json")
  range_b=$(qmd_uids 1) first_b=${range_b%%:*}
  ((uid_b >= first_b && uid_b < first_b + 64)) || fail "B started the VM as uid $uid_b, not one of B's range $range_b"
  [[ "$(stat -c %u "$b_vars")" == "$uid_b" ]] || fail "B's VARS were not handed to the VM's new uid $uid_b"
fi
log "B after stop+start: NV=V2, PCR16 reset, the flash reads F1 F2"
qm_b kill "$vm" >/dev/null || true

log "PASS"
