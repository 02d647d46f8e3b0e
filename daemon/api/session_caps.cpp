#include "daemon/api/session_caps.hpp"

namespace qmd::daemon::api {

SessionCaps::Lease::~Lease() {
  if (auto counts = counts_.lock()) {
    const auto it = counts->find(key_);
    if (it != counts->end() && --it->second == 0) {
      counts->erase(it);
    }
  }
}

std::expected<std::shared_ptr<SessionCaps::Lease>, SessionCaps::Full> SessionCaps::acquire(
    const std::string& key) {
  if (active() >= total_) {
    return std::unexpected(Full::total);
  }
  if (active(key) >= per_key_) {
    return std::unexpected(Full::key);
  }
  ++(*counts_)[key];
  return std::make_shared<Lease>(counts_, key);
}

std::size_t SessionCaps::active(const std::string& key) const {
  const auto it = counts_->find(key);
  return it == counts_->end() ? 0 : it->second;
}

std::size_t SessionCaps::active() const {
  std::size_t sum = 0;
  for (const auto& [key, n] : *counts_) {
    sum += n;
  }
  return sum;
}

}  // namespace qmd::daemon::api
