#!/usr/bin/env bash
# Installs the Debian 12 packages qmd needs to build and test (DESIGN.md), only when one is
# missing. Uses sudo only when not already root.
set -euo pipefail

packages=(
  # build
  g++ meson ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libyaml-cpp-dev libspdlog-dev libseccomp-dev libgnutls28-dev
  doctest-dev
  # run time
  qemu-system-x86 qemu-utils ovmf swtpm swtpm-tools genisoimage
  # the managed NAT network (network.masquerade: nat): the bridge, its rules, DHCP and DNS
  iproute2 nftables dnsmasq-base
  # an unprivileged qmd's masquerade interfaces (passt binding); e2e passt
  passt
  # the test guest (tests/guest/build-guest.sh) and its boot test
  cpio kmod socat e2fsprogs gzip
  # the daemon end-to-end tests (tests/integration/daemon/*.sh); ssh: migrate-ssh runs its own
  # sshd on a loopback port (the system's sshd that the package enables is disabled below)
  curl python3 openssh-client openssh-server
  # migrate-tls makes a throw-away CA and certificates
  openssl
  # fuzz-smoke (scripts/fuzz.sh): libFuzzer targets; clang 16 is the first whose concepts
  # libstdc++ 12's <expected> works with
  clang-16 libclang-rt-16-dev
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#packages[@]} packages installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"

# openssh-server is here for the test's private sshd only: a host that had no sshd gets none
# running or enabled from this script.
if [[ " ${missing[*]} " == *" openssh-server "* && -d /run/systemd/system ]]; then
  "${sudo[@]}" systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  echo "deps: openssh-server installed for the tests; the system sshd left disabled"
fi
