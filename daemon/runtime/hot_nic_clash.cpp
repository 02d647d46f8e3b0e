#include "daemon/runtime/hot_nic_clash.hpp"

#include <fmt/format.h>

#include "cmdline/devices_layout.hpp"

namespace qmd::daemon {

std::optional<std::string> hot_nic_clash(const std::string& vm, const std::vector<HotNic>& hot,
                                         const policy::VmSpec& definition) {
  const auto interfaces = cmdline::interfaces_to_render(definition);  // with the implied one
  for (const auto& nic : hot) {
    for (const auto& iface : interfaces) {
      if (iface.name == nic.name && iface.binding != nic.binding) {
        return fmt::format(
            "VM {}: interface {} is attached at run time with binding {}; the new definition "
            "has an interface {} with binding {}, which cannot stand for it. Detach it first "
            "(qmctl detach-interface {} {}), give the new interface another name, or update "
            "the VM once it is stopped",
            vm, nic.name, nic.binding, iface.name, iface.binding, vm, nic.name);
      }
    }
  }
  return std::nullopt;
}

}  // namespace qmd::daemon
