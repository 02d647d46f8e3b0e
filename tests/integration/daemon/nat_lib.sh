# Shared by the NAT network's end-to-end tests (sourced after lib.sh): the namespaces of
# netns_lib.sh, and guests on the NAT network.
source "$(dirname "${BASH_SOURCE[0]}")/netns_lib.sh"
GW=10.91.0.1

# A guest with one masquerade interface on the pod network, a fixed MAC, optional ports and
# optional pod fields (nat_vm NAME MAC ["{port: 8000}, ..."] ["vmNetworkCIDR: ..."]).
nat_vm() {
  local name=$1 mac=$2 ports=${3:-} pod=${4:-} file
  file=$(spec "$name")
  sed -i "s/^          interfaces: \[\]$/          interfaces: [{name: default, masquerade: {}, macAddress: \"$mac\", ports: [$ports]}]/" "$file"
  sed -i "s|^      networks: \[\]$|      networks: [{name: default, pod: {$pod}}]|" "$file"
  qm create -f "$file" >/dev/null || fail "create $name"
}

nat_ip() { show_field "$1" 'd["natInterfaces"][0]["ipAddress"]'; }
guest_ip_is() {
  qm exec "$1" -- ip -4 -o addr show dev eth0 2>/dev/null | grep_q " inet $2/24 "
}
dnsmasq_pid() { qm -o json network | json_get 'd["dnsmasqPid"]'; }
counter() {  # packets of counter NAME in NSQ's probe table
  inq nft list counter ip qmdprobe "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
counter_above() { (($(counter "$1") > $2)); }

