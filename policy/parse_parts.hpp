#pragma once
// The spec parser's parts, one per region of the document. Each reads one mapping into the
// matching piece of VmSpec; errors and positions go through the reader.
#include "policy/spec.hpp"
#include "policy/yaml_reader.hpp"

namespace qmd::policy::parse_parts {

// The warning for cluster-only fields, which are accepted so that KubeVirt YAML loads unchanged.
inline constexpr std::string_view kNoEffectHere =
    "has no effect on one host (it places or schedules the VM in a cluster); ignored";

// The VMI spec: domain, volumes, networks, hostname, terminationGracePeriodSeconds.
void read_vmi_spec(yaml::MapReader& spec, VmSpec& out);
void read_domain(yaml::MapReader& domain, DomainSpec& out);
void read_clock(yaml::MapReader& clock, ClockSpec& out);
void read_features(yaml::MapReader& features, FeaturesSpec& out);
void read_devices(yaml::MapReader& devices, DevicesSpec& out);
void read_volume(yaml::MapReader& volume, Volume& out);
void read_network(yaml::MapReader& network, Network& out);

// One dataVolumeTemplates entry: the claim's name, its source and size.
void read_data_volume_template(yaml::MapReader& entry, std::size_t index, VmSpec& out);

// accessCredentials: sshPublicKey from a secret, propagated by the guest agent.
void read_access_credentials(yaml::MapReader& spec, VmSpec& out);

// readinessProbe and livenessProbe (guestAgentPing or exec).
void read_probes(yaml::MapReader& spec, VmSpec& out);

// cloudInitNoCloud / cloudInitConfigDrive: the payloads, decoded and size-capped.
void read_cloud_init(yaml::MapReader& source, CloudInitSource& out);
// sysprep: its configMap or secret's name (a local secret here).
void read_sysprep(yaml::MapReader& source, std::string& secret);

// A Kubernetes object name (DNS-1123 subdomain) that is also one file name: no '/', no
// leading '.', so it names an entry beneath secrets.dir and nothing else.
bool is_secret_name(std::string_view name);

// A Kubernetes DNS-1123 label: 1-63 of a-z, 0-9 and '-', starting and ending alphanumeric.
bool is_dns_label(std::string_view name);

// `{enabled: bool}`; `{}` leaves `enabled` unset, which means enabled.
void read_toggle(yaml::MapReader& parent, std::string_view key, std::optional<Toggle>& out);

}  // namespace qmd::policy::parse_parts
