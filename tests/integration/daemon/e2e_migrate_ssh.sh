#!/usr/bin/env bash
# Live migration to ssh://HOST/SOCKET: qmd A reaches qmd B's API through a real sshd (its own,
# on a loopback port, with a throw-away key) and `qmctl stdio-proxy` on the other side, as
# between two hosts, with the key and known hosts of migration.ssh. The guest moves and keeps
# running; a qmd without migration.ssh refuses ssh:// naming the key; a destination ssh
# cannot reach is a 502 with ssh's own words, before anything changes. The whole migration
# rides one ssh connection (a ControlMaster), which ends with it, success or failure, leaving
# no process and no control socket behind. Needs root (sshd) and openssh-server.
source "$(dirname "$0")/lib.sh"
if [[ $(id -u) -ne 0 || ! -x /usr/sbin/sshd ]]; then
  echo "SKIP: needs root and /usr/sbin/sshd (scripts/deps.sh installs openssh-server)"
  exit 77
fi

e2e_dir
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -f "$T/id" -C qmd-test
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" -C qmd-test-host
cp "$T/id.pub" "$T/authorized_keys"
chmod 0600 "$T/authorized_keys"
cat >"$T/sshd_config" <<EOC
ListenAddress 127.0.0.1
Port $port
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
PidFile $T/sshd.pid
LogLevel VERBOSE
EOC
cat >"$T/ssh_config" <<EOC
Host 127.0.0.1
  Port $port
  User root
  IdentityFile $T/id
  IdentitiesOnly yes
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  LogLevel ERROR
EOC
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>>"$T/sshd.log" &
SSHD_PID=$!
EXIT_HOOKS+=('kill -KILL "$SSHD_PID" 2>/dev/null')
# A's config: the migration key and known hosts (what qmd's ssh uses, whatever the ssh_config
# says: it trusts no host key the ssh_config would), the test's ssh_config for port and user,
# and the qmctl of this build on the far side.
echo "[127.0.0.1]:$port $(cat "$T/hostkey.pub")" >"$T/known_hosts"
printf 'migration: {sshConfig: %s, remoteQmctl: %s, ssh: {identity: %s, knownHosts: %s}}\n' \
  "$T/ssh_config" "$QMCTL_BIN" "$T/id" "$T/known_hosts" >"$T/a.yaml"
QMD_ARGS=(--config "$T/a.yaml")
e2e_setup

source "$(dirname "$0")/migrate_lib.sh"
start_qmd_b
wait_for 10 "sshd to listen" bash -c "ssh -F '$T/ssh_config' -o BatchMode=yes 127.0.0.1 true"

# The connections the test sshd took ("Connection from 127.0.0.1 port N ...", LogLevel VERBOSE),
# logged in or not.
connections() { grep -c '^Connection from ' "$T/sshd.log" || true; }
# qmd A's ssh masters: their argv names A's control directory ($T/run/ssh), so this sees
# nothing of other tests.
CONTROL_DIR=$T/run/ssh
master_gone() {
  [[ -z "$(pgrep -f -- "-S $CONTROL_DIR/" || true)" ]] &&
    [[ -z "$(find "$CONTROL_DIR" -type s 2>/dev/null)" ]]
}
wait_master_gone() {  # the master ends off the loop's path: give it a moment
  wait_for 10 "qmd A's ssh master and its control socket to be gone after $1" master_gone
}

vm=mssh
boot_vm
qm exec "$vm" -- /bin/sh -c 'echo ssh-marker > /tmp/marker' >/dev/null || fail "write the marker"

log "an ssh destination that does not answer: 502 with ssh's words, nothing changed"
out=$(qm migrate "$vm" --to "ssh://127.0.0.1:1$SOCK_B" 2>&1) && fail "migrate to port 1: $out"
grep_q "ssh: .*port 1" <<<"$out" || fail "the error does not carry ssh's message: $out"
[[ "$(vm_state "$vm")" == running ]] || fail "the VM is $(vm_state "$vm") after a refused migration"
wait_master_gone "an unreachable destination"

log "an ssh destination that answers but has no qmd there: refused, the connection ends"
out=$(qm migrate "$vm" --to "ssh://127.0.0.1$T/nowhere.sock" 2>&1) && fail "migrate to no qmd: $out"
log "$out"
[[ "$(vm_state "$vm")" == running ]] || fail "the VM is $(vm_state "$vm") after a refused migration"
wait_master_gone "a destination without qmd"

log "migrate to ssh://127.0.0.1$SOCK_B"
before=$(connections)
out=$(qm migrate "$vm" --to "ssh://127.0.0.1$SOCK_B" 2>&1) || fail "qmctl migrate over ssh: $out"
log "$out"
used=$(($(connections) - before))
log "ssh connections for the migration: $used"
((used == 1)) || fail "the migration made $used ssh connections, not one (a ControlMaster)"
wait_master_gone "a migration"
[[ "$(vm_state "$vm")" == migrated ]] || fail "A: $vm is $(vm_state "$vm")"
[[ "$(SOCK=$SOCK_B vm_state "$vm")" == running ]] || fail "B: $vm is not running"
SOCK=$SOCK_B wait_agent "$vm" 60
[[ "$("$QMCTL_BIN" -s "$SOCK_B" exec "$vm" -- cat /tmp/marker)" == ssh-marker ]] ||
  fail "the marker did not survive the migration over ssh"
[[ -z "$(pgrep -f "stdio-proxy" || true)" ]] || fail "a stdio-proxy or ssh is left running"

log "a qmd without migration.ssh refuses ssh:// (no falling back to root's own keys)"
before=$(connections)
out=$(qm_b migrate "$vm" --to "ssh://127.0.0.1$SOCK_A" 2>&1) && fail "B migrated without a key: $out"
grep_q "migration.ssh.identity" <<<"$out" || fail "the refusal does not name the key to set: $out"
(($(connections) == before)) || fail "B tried ssh without migration.ssh"
[[ "$(SOCK=$SOCK_B vm_state "$vm")" == running ]] || fail "B: $vm is not running after the refusal"
log "PASS"
