#!/usr/bin/env bash
# qmd run by a normal user (here: root runs it as nobody; a non-root runner runs it as itself):
# a VM with a persistent TPM starts — swtpm_setup gets its EK and platform certificates from a
# local CA of this qmd's own (under its state dir), not from root's /var/lib/swtpm-localca —
# QEMU and swtpm run as that user, and the TPM state survives a stop and a second start.
source "$(dirname "$0")/lib.sh"
if [[ $(id -u) -eq 0 ]]; then
  QMD_AS=nobody
fi
e2e_setup
owner=$(id -u "${QMD_AS:-$(id -un)}")

vm=utpm
file=$(spec $vm)
sed -i 's/interfaces: \[\]/interfaces: []\n          tpm: {persistent: true}/' "$file"
chmod 0644 "$file"
qm create -f "$file" >/dev/null || fail "create $vm"
qm start $vm >/dev/null || fail "start $vm: $(qm show $vm 2>&1)"
pid=$(vm_pid $vm)
[[ "$(proc_status "$pid" Uid | cut -f1)" == "$owner" ]] || fail "QEMU does not run as uid $owner"
swtpm_pid=$(cat "$T/run/vms/$vm/swtpm.pid")
[[ "$(proc_status "$swtpm_pid" Uid | cut -f1)" == "$owner" ]] || fail "swtpm does not run as uid $owner"
[[ -f "$T/state/vms/$vm/tpm/tpm2-00.permall" ]] || fail "no persistent TPM state"
[[ -f "$T/state/swtpm-localca/ca/issuercert.pem" ]] || fail "no local CA under the state dir"
wait_agent $vm 120
before=$(md5sum <"$T/state/vms/$vm/tpm/tpm2-00.permall")
qm stop $vm --grace 30 >/dev/null || fail "stop $vm"
qm start $vm >/dev/null || fail "second start $vm (TPM manufactured already): $(qm show $vm 2>&1)"
wait_state $vm running 10
[[ -f "$T/state/vms/$vm/tpm/tpm2-00.permall" ]] || fail "TPM state gone after a restart"
[[ -n "$before" ]] || fail "no TPM state before the stop"
qm kill $vm >/dev/null || fail "kill $vm"
qm delete $vm >/dev/null || fail "delete $vm"
log "ok"
