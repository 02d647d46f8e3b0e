#include "cmdline/seed.hpp"

#include <fmt/format.h>

namespace qmd::cmdline {

namespace {

// The values are a uuid and DNS labels (validated), so nothing in them needs escaping.
std::string no_cloud_meta(const std::string& instance_id, const std::string& hostname) {
  return fmt::format("instance-id: {}\nlocal-hostname: {}\n", instance_id, hostname);
}

std::string config_drive_meta(const std::string& instance_id, const std::string& hostname) {
  return fmt::format("{{\"uuid\": \"{}\", \"hostname\": \"{}\", \"name\": \"{}\"}}\n",
                     instance_id, hostname, hostname);
}

SeedFile fixed(std::string path, std::string content) {
  SeedFile file;
  file.path = std::move(path);
  file.content = std::move(content);
  return file;
}

// One payload: inline bytes, or a secret with its key names (KubeVirt's keys, either case).
SeedFile payload(std::string path, const std::optional<std::string>& data,
                 const std::string& secret, const char* key, const char* camel_key) {
  SeedFile file;
  file.path = std::move(path);
  if (!secret.empty()) {
    file.secret = secret;
    file.keys = {key, camel_key};
  } else {
    file.content = data.value_or("");
  }
  return file;
}

bool has_network(const policy::CloudInitSource& ci) {
  return ci.network_data.has_value() || !ci.network_data_secret.empty();
}

}  // namespace

SeedPlan cloud_init_seed(const policy::VmSpec& spec, const policy::Volume& volume,
                         const VmPaths& paths) {
  const std::string instance_id = spec.domain.firmware.uuid.value_or(spec.name);
  const std::string hostname = policy::guest_hostname(spec);
  const auto& ci = volume.cloud_init;
  SeedPlan plan;
  plan.volume = volume.name;
  plan.path = fmt::format("{}/seed-{}.iso", paths.run_dir, volume.name);
  if (volume.kind == policy::VolumeKind::cloud_init_config_drive) {
    plan.source = "cloudInitConfigDrive";
    plan.label = "config-2";
    const std::string dir = "openstack/latest/";
    plan.files.push_back(
        fixed(dir + "meta_data.json", config_drive_meta(instance_id, hostname)));
    plan.files.push_back(payload(dir + "user_data", ci.user_data, ci.user_data_secret,
                                 "userdata", "userData"));
    if (has_network(ci)) {
      plan.files.push_back(payload(dir + "network_data.json", ci.network_data,
                                   ci.network_data_secret, "networkdata", "networkData"));
    }
    return plan;
  }
  plan.source = "cloudInitNoCloud";
  plan.label = "cidata";
  plan.files.push_back(fixed("meta-data", no_cloud_meta(instance_id, hostname)));
  plan.files.push_back(
      payload("user-data", ci.user_data, ci.user_data_secret, "userdata", "userData"));
  if (has_network(ci)) {
    plan.files.push_back(payload("network-config", ci.network_data, ci.network_data_secret,
                                 "networkdata", "networkData"));
  }
  return plan;
}

SeedPlan sysprep_seed(const policy::Volume& volume, const VmPaths& paths) {
  SeedPlan plan;
  plan.volume = volume.name;
  plan.source = "sysprep";
  plan.path = fmt::format("{}/seed-{}.iso", paths.run_dir, volume.name);
  plan.label = "sysprep";
  plan.needs_one = true;
  SeedFile autounattend = payload("autounattend.xml", std::nullopt, volume.sysprep_secret,
                                  "autounattend.xml", "Autounattend.xml");
  autounattend.optional = true;
  SeedFile unattend = payload("unattend.xml", std::nullopt, volume.sysprep_secret,
                              "unattend.xml", "Unattend.xml");
  unattend.optional = true;
  unattend.whole_file = false;
  plan.files = {autounattend, unattend};
  return plan;
}

}  // namespace qmd::cmdline
