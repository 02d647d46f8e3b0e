#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

namespace {

void field(std::string& out, const char* key, const std::optional<std::string>& value) {
  if (value) {
    out += fmt::format(",{}={}", key, qemu_escape(*value));
  }
}

}  // namespace

void SmbiosConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto& fw = spec.domain.firmware;
  const auto& s = fw.smbios;
  std::string t1;
  field(t1, "manufacturer", s.manufacturer);
  field(t1, "product", s.product);
  field(t1, "version", s.version);
  // firmware.serial is KubeVirt's field; firmware.smbios.serial our spelling of the same.
  field(t1, "serial", fw.serial ? fw.serial : s.serial);
  field(t1, "uuid", fw.uuid);
  field(t1, "sku", s.sku);
  field(t1, "family", s.family);
  if (!t1.empty()) {
    out.argv.add("-smbios", "type=1" + t1);
  }
  const auto& c = spec.domain.chassis;
  std::string t3;
  field(t3, "manufacturer", c.manufacturer);
  field(t3, "version", c.version);
  field(t3, "serial", c.serial);
  field(t3, "asset", c.asset);
  field(t3, "sku", c.sku);
  if (!t3.empty()) {
    out.argv.add("-smbios", "type=3" + t3);
  }
}

}  // namespace qmd::cmdline
