#include "daemon/api/body_limits.hpp"

#include <fmt/format.h>

namespace qmd::daemon::api {

namespace http = boost::beast::http;

BodyKind body_kind(http::verb method, std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (method == http::verb::post && target == "/v1/vms") {
    return BodyKind::spec;
  }
  constexpr std::string_view kVms = "/v1/vms/";
  if (method == http::verb::put && target.starts_with(kVms) && target.size() > kVms.size() &&
      target.find('/', kVms.size()) == std::string_view::npos) {
    return BodyKind::spec;
  }
  if (method == http::verb::post && target == "/v1/migrations/incoming") {
    return BodyKind::migration;
  }
  return BodyKind::other;
}

std::size_t body_limit(const BodyLimits& limits, BodyKind kind) {
  switch (kind) {
    case BodyKind::spec:
      return limits.spec;
    case BodyKind::migration:
      return limits.migration;
    case BodyKind::other:
      break;
  }
  return limits.other;
}

std::string body_limit_message(const BodyLimits& limits, BodyKind kind) {
  const std::size_t limit = body_limit(limits, kind);
  const std::string size = limit % (1024 * 1024) == 0
                               ? fmt::format("{} MiB", limit / (1024 * 1024))
                               : fmt::format("{} KiB", limit / 1024);
  switch (kind) {
    case BodyKind::spec:
      return fmt::format("the request body is larger than {} ({} bytes), the most a VM spec "
                         "may be; split disks off into images or trim the spec",
                         size, limit);
    case BodyKind::migration:
      return fmt::format("the request body is larger than {} ({} bytes), the most an "
                         "incoming migration request may be",
                         size, limit);
    case BodyKind::other:
      break;
  }
  return fmt::format("the request body is larger than {} ({} bytes), the most this request "
                     "may carry (only VM specs may be larger)",
                     size, limit);
}

}  // namespace qmd::daemon::api
