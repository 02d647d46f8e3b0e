#include "daemon/migration/admission.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qmd::daemon::migration {

bool stream_over_unix(std::string_view transport, std::string_view source_boot_id,
                      std::string_view this_boot_id) {
  const bool same_host = !source_boot_id.empty() && source_boot_id == this_boot_id;
  return transport == "unix" || (transport == "auto" && same_host);
}

std::optional<std::string> name_refusal(std::string_view name,
                                        std::optional<std::string_view> existing_state) {
  if (!existing_state || *existing_state == "migrated") {
    return std::nullopt;
  }
  return fmt::format("a VM named {} exists on this qmd ({}); delete or rename it here first", name,
                     *existing_state);
}

std::optional<std::string> machine_type_refusal(std::string_view vm, std::string_view machine_type,
                                                std::span<const std::string> host_types) {
  if (machine_type.empty() || std::ranges::find(host_types, machine_type) != host_types.end()) {
    return std::nullopt;
  }
  return fmt::format(
      "VM {} runs with machine type {} on the source, which this host's QEMU "
      "does not have; migrate to a host with the same or a newer QEMU",
      vm, machine_type);
}

}  // namespace qmd::daemon::migration
