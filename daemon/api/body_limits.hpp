#pragma once
// How large a request body may be, by route: a VM spec (POST /v1/vms, PUT /v1/vms/NAME) up
// to 1 MiB, an incoming migration (spec + firmware variables) up to 4 MiB, everything else
// up to 64 KiB. Decided from the request line before any of the body is read.
#include <boost/beast/http/verb.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace qmd::daemon::api {

struct BodyLimits {
  std::size_t other = 64 * 1024;
  std::size_t spec = 1024 * 1024;
  std::size_t migration = 4 * 1024 * 1024;
};

enum class BodyKind { other, spec, migration };

// `target` as sent ("/v1/vms/web1?x=1"); the query does not matter.
BodyKind body_kind(boost::beast::http::verb method, std::string_view target);
std::size_t body_limit(const BodyLimits& limits, BodyKind kind);
// The 413 message: "a VM spec may be at most 1 MiB (1048576 bytes); ..."
std::string body_limit_message(const BodyLimits& limits, BodyKind kind);

}  // namespace qmd::daemon::api
