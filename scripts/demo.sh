#!/usr/bin/env bash
# Builds qmd, shows what this host offers, then for every example: validate against this
# host, render its QEMU argv under emulation, and start it paused in the real QEMU (trial).
# Examples that need more than this host has (hugepages, memory, CPUs, KVM) are validated
# against a described big KVM host instead and reported as "host too small", not as failures.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh || exit 1
bash scripts/build.sh || exit 1
qmctl=build/daemon/qmctl

# A host big enough for every example, for the "spec is fine, this host is small" case.
big_host="kvm=yes qemu=7.2.0 vhost-net=yes hugepages-2Mi=65536/65536 memory=256Gi cpus=64"
big_host+=" hyperv=all ovmf=debian swtpm=yes"

rule() { printf '\n==== %s ====\n' "$*"; }

rule "qmctl host --offline"
$qmctl host --offline || { echo "qmctl host --offline failed"; exit 1; }

declare -a summary
failed=0
for spec in examples/*.yaml; do
  name=$(basename "$spec" .yaml)
  # Emulation (TCG) lacks some Hyper-V features (QEMU 7.2 refuses hv-vpindex under TCG):
  # the strict check says which; best effort then drops them with a warning, as a user would.
  flags=(--emulation)
  rule "$name: qmctl validate --emulation"
  if ! $qmctl validate "${flags[@]}" "$spec"; then
    flags=(--emulation --hyperv best-effort)
    rule "$name: qmctl validate --emulation --hyperv best-effort"
    if ! $qmctl validate "${flags[@]}" "$spec"; then
      rule "$name: qmctl validate --fake-host (a big KVM host)"
      if $qmctl validate --fake-host "$big_host" "$spec"; then
        summary+=("skip  $name: valid, but this host is too small for it (see above)")
      else
        summary+=("FAIL  $name: validate")
        failed=1
      fi
      continue
    fi
  fi
  rule "$name: qmctl render ${flags[*]} -o shell"
  if ! $qmctl render "${flags[@]}" -o shell "$spec"; then
    summary+=("FAIL  $name: render")
    failed=1
    continue
  fi
  rule "$name: qmctl trial ${flags[*]} --scratch-disks"
  if $qmctl trial "${flags[@]}" --scratch-disks "$spec"; then
    summary+=("ok    $name: validated, rendered, accepted by QEMU (${flags[*]})")
  else
    summary+=("FAIL  $name: QEMU did not accept it (see above)")
    failed=1
  fi
done

rule "summary"
printf '%s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
  echo "demo: FAILED"
  exit 1
fi
echo "demo: all examples ok"
