// spec.template.spec.volumes and .networks. Cluster-only sources (PVC, containerDisk,
// dataVolume) are parsed into their kind; validation refuses or maps them. cloud-init
// sources are read by parse_cloud_init.cpp.
#include <array>

#include "policy/parse_parts.hpp"
#include "policy/vm_network_cidr.hpp"

namespace qmd::policy::parse_parts {

namespace {

using yaml::MapReader;

constexpr std::array<std::string_view, 11> kVolumeSources{
    "hostDisk", "file", "block", "emptyDisk", "persistentVolumeClaim", "containerDisk",
    "dataVolume", "cloudInitNoCloud", "cloudInitConfigDrive", "sysprep", "ephemeral"};
constexpr std::array<VolumeKind, 11> kVolumeKinds{
    VolumeKind::host_disk, VolumeKind::file, VolumeKind::block, VolumeKind::empty_disk,
    VolumeKind::persistent_volume_claim, VolumeKind::container_disk, VolumeKind::data_volume,
    VolumeKind::cloud_init_no_cloud, VolumeKind::cloud_init_config_drive, VolumeKind::sysprep,
    VolumeKind::ephemeral};

// persistentVolumeClaim: {claimName, readOnly}, alone or inside ephemeral.
void read_claim_ref(MapReader& source, Volume& out) {
  source.require("claimName");
  source.read("claimName", out.claim_name);
  std::optional<bool> read_only;  // checked for type; the claim is opened as the disk says
  source.read("readOnly", read_only);
}

void read_source(MapReader& source, VolumeKind kind, Volume& out) {
  switch (kind) {
    case VolumeKind::host_disk:
      source.require("path");
      source.read("path", out.path);
      source.read("type", out.host_disk_type);
      source.read_bytes("capacity", out.capacity);
      break;
    case VolumeKind::file:
      source.require("path");
      source.read("path", out.path);
      source.read("format", out.format);
      break;
    case VolumeKind::block:
      source.require("path");
      source.read("path", out.path);
      break;
    case VolumeKind::empty_disk:
      source.require("capacity");
      source.read_bytes("capacity", out.capacity);
      break;
    case VolumeKind::persistent_volume_claim:
      read_claim_ref(source, out);
      break;
    case VolumeKind::ephemeral:
      // KubeVirt's ephemeral volume: the claim under a per-run overlay.
      source.require("persistentVolumeClaim");
      source.read_map("persistentVolumeClaim",
                      [&](MapReader& claim) { read_claim_ref(claim, out); });
      break;
    case VolumeKind::container_disk:
      source.require("image");
      source.read("image", out.claim_name);
      break;
    case VolumeKind::data_volume:
      source.require("name");
      source.read("name", out.claim_name);
      break;
    case VolumeKind::cloud_init_no_cloud:
    case VolumeKind::cloud_init_config_drive:
      read_cloud_init(source, out.cloud_init);
      break;
    case VolumeKind::sysprep:
      read_sysprep(source, out.sysprep_secret);
      break;
  }
}

// pod: KubeVirt's vmNetworkCIDR (user-mode and passt interfaces take it) and
// vmIPv6NetworkCIDR (checked, not applied). Empty reads as absent, as in KubeVirt.
void read_pod_network(MapReader& pod, Network& out) {
  pod.read("vmNetworkCIDR", out.vm_network_cidr);
  if (!out.vm_network_cidr.empty()) {
    if (auto cidr = parse_vm_network_cidr(out.vm_network_cidr); !cidr) {
      pod.error_at("vmNetworkCIDR", cidr.error());
    }
  }
  pod.read("vmIPv6NetworkCIDR", out.vm_ipv6_network_cidr);
  if (!out.vm_ipv6_network_cidr.empty()) {
    if (auto cidr = parse_vm_ipv6_network_cidr(out.vm_ipv6_network_cidr); !cidr) {
      pod.error_at("vmIPv6NetworkCIDR", cidr.error());
    } else {
      pod.doc().warn(pod.child_path("vmIPv6NetworkCIDR"), pod.value_mark("vmIPv6NetworkCIDR"),
                     "is checked but not applied: a guest's IPv6 addresses come from its "
                     "interface's binding (user-mode networking: fec0::/64; passt: the "
                     "host's; the NAT network: qmd.yaml's network.nat)");
    }
  }
}

}  // namespace

void read_volume(MapReader& volume, Volume& out) {
  volume.require("name");
  volume.read("name", out.name);
  const auto which = volume.one_of({"hostDisk", "file", "block", "emptyDisk",
                                    "persistentVolumeClaim", "containerDisk", "dataVolume",
                                    "cloudInitNoCloud", "cloudInitConfigDrive", "sysprep",
                                    "ephemeral"});
  if (!which) {
    return;
  }
  out.kind = kVolumeKinds[*which];
  volume.read_map(kVolumeSources[*which],
                  [&](MapReader& source) { read_source(source, out.kind, out); });
}

void read_network(MapReader& network, Network& out) {
  network.require("name");
  network.read("name", out.name);
  switch (network.one_of({"pod", "multus"}).value_or(2)) {
    case 0:
      network.read_map("pod", [&](MapReader& pod) { read_pod_network(pod, out); });
      out.kind = NetworkKind::pod;
      break;
    case 1:
      network.read_map("multus", [&](MapReader& multus) {
        multus.require("networkName");
        multus.read("networkName", out.multus_network_name);
      });
      out.kind = NetworkKind::multus;
      break;
    default:
      break;
  }
}

}  // namespace qmd::policy::parse_parts
