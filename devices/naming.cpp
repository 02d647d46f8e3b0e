#include "devices/naming.hpp"

#include <fmt/format.h>

namespace qmd::devices {

std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string stable_mac(const std::string& vm, const std::string& iface) {
  const auto h = stable_hash(vm + "/" + iface);
  return fmt::format("52:54:00:{:02x}:{:02x}:{:02x}", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
}

std::string bridge_tap_name(const std::string& vm, const std::string& iface) {
  return fmt::format("tap-{:08x}", stable_hash(vm + "/" + iface) & 0xffffffffULL);
}

}  // namespace qmd::devices
