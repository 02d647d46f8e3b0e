#!/usr/bin/env bash
# migration.tls: two qmd on this machine, each with x509 files from one throw-away CA (a server
# certificate for IP 127.0.0.1, a client certificate), keys 0600 that the QEMU user (nobody
# when root) cannot read in place:
# - a plaintext source (no migration.tls) is refused by a TLS destination before anything
#   starts, and the message says to configure migration.tls on the source;
# - A -> B over TCP with TLS and back: the guest keeps a RAM marker; the stream B received
#   begins with a TLS handshake, not QEMU's "QEVM", and the marker is nowhere in it (root: a
#   packet capture on lo); the private copies of the keys are gone afterwards;
# - a source whose files come from another CA fails with an error that names the CA, keeps
#   running, and B keeps nothing;
# - a source missing a file of migration.tls, and a destination without migration.tls facing a
#   TLS source, refuse before anything starts;
# - with TLS on neither side the same capture reads the marker in the plaintext stream (the
#   control), which also shows the creds were taken off A's QEMU again.
source "$(dirname "$0")/lib.sh"
e2e_dir

# --- a throw-away PKI: QEMU's layout, with the extensions QEMU's sanity checks want
pki() {  # pki DIR: ca-cert.pem server-cert.pem server-key.pem client-cert.pem client-key.pem
  local dir=$1
  mkdir -p "$dir"
  chmod 0700 "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=qmd test CA $RANDOM" \
      -keyout ca-key.pem -out ca-cert.pem \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    for role in server client; do
      local ext="basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment"
      if [[ $role == server ]]; then
        ext+="
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1"
      else
        ext+="
extendedKeyUsage=clientAuth"
      fi
      printf '%s\n' "$ext" >"$role.ext"
      openssl req -newkey rsa:2048 -nodes -subj "/CN=qmd test $role" \
        -keyout "$role-key.pem" -out "$role.csr" 2>/dev/null
      openssl x509 -req -in "$role.csr" -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial \
        -days 2 -extfile "$role.ext" -out "$role-cert.pem" 2>/dev/null
      rm -f "$role.csr" "$role.ext"
    done
    rm -f ca-key.pem ca-cert.srl
    chmod 0600 ./*-key.pem
  ) || fail "openssl: the test PKI in $dir"
  [[ -s "$dir/client-key.pem" && -s "$dir/server-cert.pem" ]] || fail "no PKI in $dir"
}
pki "$T/tls-a"
cp -a "$T/tls-a" "$T/tls-b"
pki "$T/tls-other"  # another CA

# A starts without TLS (the plaintext source), then with it.
printf 'migration: {address: 127.0.0.1, ports: 49470-49499}\n' >"$T/a-plain.yaml"
printf 'migration: {address: 127.0.0.1, ports: 49470-49499, tls: {dir: %s}}\n' "$T/tls-a" \
  >"$T/a.yaml"
QMD_ARGS=(--config "$T/a-plain.yaml")
e2e_setup

source "$(dirname "$0")/migrate_lib.sh"
B_PORTS=49400-49469
printf 'migration: {address: 127.0.0.1, ports: %s, tls: {dir: %s}}\n' "$B_PORTS" "$T/tls-b" \
  >"$T/b.yaml"
printf 'migration: {address: 127.0.0.1, ports: %s}\n' "$B_PORTS" >"$T/b-plain.yaml"
QMD_B_ARGS=(--config "$T/b.yaml")
start_qmd_b

vm=mtls1
# A local file disk, for copyStorage over TLS (the NBD export and the mirror's client node).
boot_vm "$S/a-data.img" 16M

# A marker only guest RAM holds (the initramfs root is RAM): "qmd-tls-" and 32 hex digits.
marker="qmd-tls-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
guest_exec "$SOCK_A" "echo $marker > /tmp/marker" >/dev/null || fail "write the marker"

# refused_tcp TEXT: a TCP migration of $vm to B is refused (409) with TEXT in the reason,
# before anything changed: $vm runs on A, B has nothing of it.
refused_tcp() {
  expect_status 409 POST "/v1/vms/$vm/migrate" -H 'Content-Type: application/json' \
    -d "{\"destination\":\"$SOCK_B\",\"transport\":\"tcp\"}"
  grep_q "$1" <<<"$BODY" || fail "the refusal does not say '$1': $BODY"
  [[ "$(vm_state "$vm")" == running ]] || fail "A: $vm is $(vm_state "$vm") after the refusal"
  nothing_on_b || fail "B keeps something after the refusal"
}

log "a plaintext source: B (migration.tls) refuses before anything starts"
refused_tcp "configure migration.tls on the source"

log "A restarted with migration.tls (the VM keeps running)"
kill_qmd
QMD_ARGS=(--config "$T/a.yaml")
start_qmd
wait_state "$vm" running 20

# Root: every TCP payload sent to B's migration ports on lo, in order, into capture.bin; the
# first payload's first bytes into capture.head; the kernel's drop count into capture.drops
# when it stops. Waits until the socket is bound (a slow start under load missed the head).
start_capture() {
  CAPTURE_PID=
  [[ $(id -u) -eq 0 ]] || return 0
  rm -f "$T/capture.bin" "$T/capture.head" "$T/capture.ready" "$T/capture.drops"
  python3 - "$T/capture" "${B_PORTS%-*}" "${B_PORTS#*-}" <<'EOF' &
import signal, socket, struct, sys
base, low, high = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: past rmem_max
try:
    s.setsockopt(263, 23, 1)  # PACKET_IGNORE_OUTGOING: lo shows each packet twice
except OSError:
    pass
s.bind(("lo", 0))
def stop(*_):
    packets, drops = struct.unpack("II", s.getsockopt(263, 6, 8))  # PACKET_STATISTICS
    open(base + ".drops", "w").write(str(drops))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(base + ".ready", "w").close()
first = True
with open(base + ".bin", "wb", buffering=0) as f:
    while True:
        frame, addr = s.recvfrom(262144)
        if addr[2] == socket.PACKET_OUTGOING or len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue  # IPv4 only
        ip = frame[14:]
        if ip[9] != 6:
            continue
        tcp = ip[(ip[0] & 15) * 4:]
        dport = struct.unpack("!H", tcp[2:4])[0]
        payload = tcp[(tcp[12] >> 4) * 4:]
        total = struct.unpack("!H", ip[2:4])[0]
        payload = payload[: max(0, total - (ip[0] & 15) * 4 - (tcp[12] >> 4) * 4)]
        if low <= dport <= high and payload:
            if first:
                open(base + ".head", "wb").write(payload[:8])
                first = False
            f.write(payload)
EOF
  CAPTURE_PID=$!
  EXTRA_PIDS+=("$CAPTURE_PID")
  wait_for 60 "the capture socket" test -e "$T/capture.ready"
}
stop_capture() {
  [[ -n "$CAPTURE_PID" ]] || return 0
  sleep 0.5
  kill "$CAPTURE_PID" 2>/dev/null || true
  wait "$CAPTURE_PID" 2>/dev/null || true
  log "capture: $(stat -c %s "$T/capture.bin" 2>/dev/null || echo 0) bytes, $(cat "$T/capture.drops" 2>/dev/null || echo '?') packets dropped by the kernel"
}

log "A -> B over TCP with TLS"
start_capture
migrate "$SOCK_B" ',"transport":"tcp","maxBandwidth":"32Mi"'
wait_op 180 succeeded
stop_capture
sent=$(json_get 'd["progress"]["bytesSent"]' <<<"$BODY")
log "operation: $BODY"
api GET "/v1/events?vm=$vm"
grep_q 'over tcp:127.0.0.1:' <<<"$BODY" || fail "the migration did not go over TCP: $BODY"
[[ "$(on_b vm_state "$vm")" == running ]] || fail "B: $vm is $(on_b vm_state "$vm")"
on_b wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_B" 'cat /tmp/marker')" == "$marker" ]] ||
  fail "the marker in guest RAM did not survive the migration"
if [[ -n "$CAPTURE_PID" ]]; then
  [[ -s "$T/capture.head" ]] || fail "the capture saw nothing sent to B's ports"
  head=$(od -An -tx1 "$T/capture.head" | tr -d ' \n')
  log "the stream B received begins with $head;" \
    "captured $(stat -c %s "$T/capture.bin") bytes, QEMU sent $sent"
  [[ "$head" == 1603* ]] || fail "the stream does not begin with a TLS handshake record: $head"
  [[ "$head" != 5145564d* ]] || fail "the stream begins with QEMU's plaintext QEVM"
  (($(stat -c %s "$T/capture.bin") >= sent / 2)) ||
    fail "the capture holds less than half of the $sent bytes sent: it proves nothing"
  ! grep -a -q "$marker" "$T/capture.bin" || fail "the RAM marker is readable in the stream"
else
  log "not root: no packet capture; the migration succeeded with TLS configured on both sides"
fi
[[ ! -e "$T/b-run/vms/$vm/migration-tls" ]] || fail "B kept its private copy of the key"
[[ ! -e "$T/run/vms/$vm/migration-tls" ]] || fail "A kept its private copy of the key"

log "and back to A over TCP with TLS"
SOCK=$SOCK_B migrate "$SOCK_A" ',"transport":"tcp"'
SOCK=$SOCK_B wait_op 180 succeeded
wait_state "$vm" running 10
wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_A" 'cat /tmp/marker')" == "$marker" ]] ||
  fail "the marker did not survive the way back"
on_b qm delete "$vm" >/dev/null || fail "B: delete the record of the move"

log "copyStorage over TCP with TLS: the disk goes to B over NBD with the same creds"
guest_exec "$SOCK_A" "echo $marker-disk | dd of=/dev/vda conv=fsync 2>/dev/null" >/dev/null ||
  fail "write the disk marker"
start_capture
paths="{\"$S/a-data.img\":\"$S/b-data.img\"}"
migrate "$SOCK_B" ",\"transport\":\"tcp\",\"copyStorage\":true,\"storagePaths\":$paths"
wait_op 180 succeeded
stop_capture
on_b wait_agent "$vm" 60
grep_q -a "$marker-disk" "$S/b-data.img" || fail "B's copy of the disk lacks the marker"
if [[ -n "$CAPTURE_PID" ]]; then
  # The NBD port is in B's range too: plaintext NBD would carry the disk block as it is.
  log "captured $(stat -c %s "$T/capture.bin") bytes of RAM and disk"
  ! grep -a -q "$marker" "$T/capture.bin" || fail "the marker is readable in the RAM or NBD stream"
fi
log "back to A over TCP with TLS (the disk stays B's copy, on this one host)"
SOCK=$SOCK_B migrate "$SOCK_A" ',"transport":"tcp"'
SOCK=$SOCK_B wait_op 180 succeeded
wait_state "$vm" running 10
wait_agent "$vm" 60
on_b qm delete "$vm" >/dev/null || fail "B: delete the record of the move"

log "A's files from another CA: the migration fails, A keeps running, B keeps nothing"
cp "$T/tls-other/"*.pem "$T/tls-a/"  # read at each migration: no restart needed
migrate "$SOCK_B" ',"transport":"tcp"'
wait_op 120 failed
error=$(json_get 'd["error"]' <<<"$BODY")
log "failed as expected: $error"
grep_q "same CA" <<<"$error" || fail "the error does not point at the certificates: $error"
wait_state "$vm" running 10
[[ "$(guest_exec "$SOCK_A" 'cat /tmp/marker')" == "$marker" ]] || fail "A's guest lost its marker"
wait_for 30 "B to drop the VM" nothing_on_b
[[ ! -e "$T/run/vms/$vm/migration-tls" ]] || fail "A kept its private copy after the failure"

log "A's migration.tls without a client key: refused before B starts anything"
rm "$T/tls-a/client-key.pem"
refused_tcp "client-key.pem"
cp "$T/tls-other/client-key.pem" "$T/tls-a/"

log "B without migration.tls: A (with it) is refused before anything starts"
kill -KILL "$QMD_B_PID"
wait "$QMD_B_PID" 2>/dev/null || true
QMD_B_ARGS=(--config "$T/b-plain.yaml")
start_qmd_b
refused_tcp "this qmd has no migration.tls"

# The control for the capture, and proof that the creds are off A's QEMU again (with
# tls-creds still set QEMU would speak TLS to a plaintext B): plaintext, the marker shows.
log "neither with migration.tls: plaintext over TCP, and the capture reads the marker"
kill_qmd
QMD_ARGS=(--config "$T/a-plain.yaml")
start_qmd
wait_state "$vm" running 20
start_capture
migrate "$SOCK_B" ',"transport":"tcp","maxBandwidth":"32Mi"'
wait_op 180 succeeded
stop_capture
on_b wait_agent "$vm" 60
[[ "$(guest_exec "$SOCK_B" 'cat /tmp/marker')" == "$marker" ]] || fail "the marker after plaintext"
if [[ -n "$CAPTURE_PID" ]]; then
  head=$(od -An -tx1 "$T/capture.head" | tr -d ' \n')
  log "the plaintext stream begins with $head"
  [[ "$head" == 5145564d* ]] || fail "the plaintext stream does not begin with QEVM: $head"
  grep -a -q "$marker" "$T/capture.bin" || fail "the capture misses the marker in plaintext ($(cat "$T/capture.drops") packets dropped)"
fi
log "PASS"
