#!/bin/bash
# qmctl --config end to end: bridges from the config file reach validation, flags override
# the file, and config errors name file:line:col. Usage: qmctl_config.sh PATH/TO/qmctl
set -u
qmctl=${1:?usage: $0 PATH/TO/qmctl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# check NAME WANT_EXIT WANT_TEXT ARGS...: run qmctl, compare exit code, grep its output.
check() {
  local name=$1 want_rc=$2 want_text=$3
  shift 3
  echo "check: $name"
  echo "  \$ qmctl $*"
  local out rc
  out=$("$qmctl" "$@" 2>&1)
  rc=$?
  # Enough to see what happened; a rendered argv is long.
  echo "$out" | head -n 12 | sed 's/^/  | /'
  if [[ $rc -ne $want_rc ]]; then
    fail "$name: exit $rc, want $want_rc"
  fi
  if [[ -n $want_text ]] && ! grep -qF -- "$want_text" <<<"$out"; then
    fail "$name: output lacks: $want_text"
  fi
}

cat >"$tmp/vm.yaml" <<'YAML'
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: bridged}
spec:
  domain:
    memory: {guest: 1Gi}
    devices:
      interfaces:
      - {name: lan, bridge: {}}
  networks:
  - {name: lan, multus: {networkName: prod}}
YAML

cat >"$tmp/with-bridge.yaml" <<'YAML'
hyperv: strict
bridges:
  prod: br0
YAML

cat >"$tmp/without-bridge.yaml" <<'YAML'
bridges:
  lab: br-lab
YAML

cat >"$tmp/emulation.yaml" <<'YAML'
useEmulation: true
bridges: {prod: br0}
YAML

cat >"$tmp/bad.yaml" <<'YAML'
hyperv: strict
bridgez: {prod: br0}
YAML

host=(--fake-host "kvm=yes")

check "a bridge mapped in the config validates" 0 "ok: bridged is valid" \
  validate "$tmp/vm.yaml" "${host[@]}" --config "$tmp/with-bridge.yaml"

check "a bridge not in the config is refused, naming the network and bridges:" 1 \
  '"prod" is not a bridge qmd knows; add it under bridges:' \
  validate "$tmp/vm.yaml" "${host[@]}" --config "$tmp/without-bridge.yaml"

check "useEmulation from the config is used" 0 "under emulation" \
  validate "$tmp/vm.yaml" "${host[@]}" --config "$tmp/emulation.yaml"

check "--emulation adds to a config without it" 0 "under emulation" \
  validate "$tmp/vm.yaml" "${host[@]}" --config "$tmp/with-bridge.yaml" --emulation

check "an unknown config key is an error with file:line:col" 1 \
  "bridgez: unknown field \"bridgez\" (did you mean \"bridges\"?) ($tmp/bad.yaml:2:1)" \
  validate "$tmp/vm.yaml" "${host[@]}" --config "$tmp/bad.yaml"

check "a missing --config file is an error" 1 \
  "the config file does not exist; give the path of a qmd.yaml ($tmp/missing.yaml)" \
  validate "$tmp/vm.yaml" "${host[@]}" --config "$tmp/missing.yaml"

check "--config needs a value" 2 "--config needs a value" validate "$tmp/vm.yaml" --config

# The per-VM dirs come from the config's runDir/stateDir unless --run-dir/--state-dir say.
cat >"$tmp/dirs.yaml" <<YAML
runDir: $tmp/run
stateDir: $tmp/state
bridges: {prod: br0}
YAML
check "per-VM run dir is <runDir>/vms/NAME" 0 "$tmp/run/vms/bridged/qmp.sock" \
  render "$tmp/vm.yaml" "${host[@]}" --config "$tmp/dirs.yaml"
check "--run-dir overrides the config's" 0 "$tmp/elsewhere/qmp.sock" \
  render "$tmp/vm.yaml" "${host[@]}" --config "$tmp/dirs.yaml" --run-dir "$tmp/elsewhere"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
