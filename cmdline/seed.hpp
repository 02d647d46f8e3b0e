#pragma once
// The seed media qmd builds for a VM at each start (cloudInitNoCloud, cloudInitConfigDrive):
// which files go in which ISO 9660 image under which volume label. Pure: the renderer names
// the image in the run directory and its contents; the daemon reads the secrets and builds it.
#include <string>
#include <vector>

#include "cmdline/paths.hpp"
#include "policy/spec.hpp"

namespace qmd::cmdline {

struct SeedFile {
  std::string path;     // inside the image: "user-data", "openstack/latest/meta_data.json"
  std::string content;  // the bytes, unless `secret` is set
  // A local secret to take the bytes from: <secrets.dir>/SECRET/KEY, the first of `keys`
  // that exists (as KubeVirt reads a Kubernetes secret), or the file <secrets.dir>/SECRET.
  std::string secret;
  std::vector<std::string> keys;
  bool optional = false;    // a secret without any of `keys`: the file is left out
  bool whole_file = true;   // a secret that is one file gives this file's bytes
  bool operator==(const SeedFile&) const = default;
};

struct SeedPlan {
  std::string volume;  // the spec's volume, for errors
  std::string source;  // cloudInitNoCloud | cloudInitConfigDrive
  std::string path;    // the image: <runDir>/seed-VOLUME.iso
  std::string label;   // ISO volume id: cidata (NoCloud) | config-2 (ConfigDrive)
  std::vector<SeedFile> files;
  bool needs_one = false;  // at least one optional file must be there (sysprep)
  bool operator==(const SeedPlan&) const = default;
};

// The image a cloud-init volume becomes: instance-id is the VM's uuid (its name when it has
// none, as under `qmctl trial`), local-hostname its `hostname` or name.
SeedPlan cloud_init_seed(const policy::VmSpec& spec, const policy::Volume& volume,
                         const VmPaths& paths);

// The CD-ROM a sysprep volume becomes (label `sysprep`): autounattend.xml and/or
// unattend.xml from its local secret, a directory holding either (KubeVirt's ConfigMap or
// Secret keys), or one file taken as autounattend.xml.
SeedPlan sysprep_seed(const policy::Volume& volume, const VmPaths& paths);

}  // namespace qmd::cmdline
