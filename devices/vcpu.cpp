#include "devices/vcpu.hpp"

#include <fmt/format.h>

#include "devices/props.hpp"

namespace qmd::devices {

namespace {
std::uint32_t field(const boost::json::object& props, const char* key) {
  const auto* v = props.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return 0;
  }
  boost::system::error_code ec;
  const auto n = v->to_number<std::uint32_t>(ec);
  return ec ? 0 : n;
}
}  // namespace

std::string vcpu_id(const CpuSlot& slot) {
  return fmt::format("vcpu-{}-{}-{}", slot.socket, slot.core, slot.thread);
}

QmpCall vcpu_add(const std::string& driver, const boost::json::object& props) {
  const CpuSlot slot{field(props, "socket-id"), field(props, "core-id"), field(props, "thread-id")};
  boost::json::object args;
  args["driver"] = driver;
  args["id"] = vcpu_id(slot);
  for (const auto& [key, value] : props) {
    args[key] = value;
  }
  return {"device_add", std::move(args)};
}

QmpCall vcpu_add(const std::string& driver, const CpuSlot& slot) {
  boost::json::object props;
  props["socket-id"] = slot.socket;
  props["core-id"] = slot.core;
  props["thread-id"] = slot.thread;
  return vcpu_add(driver, props);
}

QmpCall vcpu_del(const CpuSlot& slot) { return device_del(vcpu_id(slot)); }

}  // namespace qmd::devices
