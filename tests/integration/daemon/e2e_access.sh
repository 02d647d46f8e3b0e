#!/bin/bash
# accessCredentials with propagationMethod qemuGuestAgent: the keys of a local secret
# (<stateDir>/secrets/NAME) become root's authorized_keys in the test guest once its agent
# answers; a changed secret replaces them within secrets.syncInterval (1 s here); a secret
# that breaks is reported once as AccessCredentialsFailed and leaves the guest's keys alone.
source "$(dirname "$0")/lib.sh"

KEY1="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq1Zp8rX4ZbqLq7r0bTzQjone one@test"
KEY2="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq1Zp8rX4ZbqLq7r0bTzQjtwo two@test"

e2e_dir
printf 'secrets:\n  syncInterval: 1s\n' >"$T/qmd.yaml"
QMD_ARGS=(--config "$T/qmd.yaml")
mkdir -p -m 0700 "$T/state/secrets/web-keys"
echo "$KEY1" >"$T/state/secrets/web-keys/key1"
e2e_setup

spec_file=$(spec web)
python3 - "$spec_file" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
text = text.replace("      terminationGracePeriodSeconds: 30\n",
                    "      terminationGracePeriodSeconds: 30\n"
                    "      accessCredentials:\n"
                    "      - sshPublicKey:\n"
                    "          source: {secret: {secretName: web-keys}}\n"
                    "          propagationMethod: {qemuGuestAgent: {users: [root]}}\n")
open(path, "w").write(text)
EOF
qm create -f "$spec_file" >/dev/null || fail "create web"
qm start web >/dev/null || fail "start web"
wait_agent web 180
# The test guest's initramfs has no /root; a guest OS has its users' homes. (The agent's exec
# is used to look, not the serial shell.)
qm exec web -- /bin/mkdir -p /root >/dev/null || fail "mkdir /root in web"

keys_are() { [[ "$(qm exec web -- /bin/cat /root/.ssh/authorized_keys 2>/dev/null)" == "$1" ]]; }
wait_for 60 "KEY1 in web's authorized_keys" keys_are "$KEY1"
log "PASS the secret's key is root's authorized key"

echo "$KEY2" >"$T/state/secrets/web-keys/key1"
wait_for 60 "KEY2 alone in web's authorized_keys" keys_are "$KEY2"
log "PASS a changed secret replaces the keys"

events() { curl -sS --max-time 10 --unix-socket "$SOCK" "http://qmd/v1/events?vm=web"; }
events | grep_q '"type":"AccessCredentialsSynced".*root (1 keys)' || fail "no AccessCredentialsSynced"

rm "$T/state/secrets/web-keys/key1"
failed_once() { [[ $(events | grep -c '"type":"AccessCredentialsFailed"') -ge 1 ]]; }
wait_for 30 "AccessCredentialsFailed" failed_once
events | grep '"type":"AccessCredentialsFailed"' | grep_q "secret web-keys ($T/state/secrets/web-keys) holds no public key" ||
  fail "the failure does not name the secret: $(events | grep AccessCredentialsFailed)"
keys_are "$KEY2" || fail "a broken secret changed the guest's keys"
[[ $(events | grep -c '"type":"AccessCredentialsFailed"') -eq 1 ]] || fail "the failure was said more than once"
log "PASS a broken secret is reported once and leaves the keys"
echo "PASS access-credentials"
