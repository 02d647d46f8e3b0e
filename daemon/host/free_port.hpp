#pragma once
// A TCP port in [low, high] that nothing listens on at `address` now, for an incoming
// migration's QEMU to bind (it binds it a moment later; the window is small and a lost race
// makes migrate-incoming fail with a clear error).
#include <cstdint>
#include <expected>
#include <set>
#include <string>

namespace qmd::daemon {

std::expected<std::uint16_t, std::string> free_tcp_port(const std::string& address,
                                                        std::uint16_t low, std::uint16_t high,
                                                        const std::set<std::uint16_t>& taken);

}  // namespace qmd::daemon
