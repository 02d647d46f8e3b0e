#pragma once
// Request-target pieces: percent-decoding and the query string. Pure, so the rules are tested
// without a socket.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace qmd::daemon::api {

// "%2Fa%20b" -> "/a b"; nullopt on a malformed escape, a decoded NUL or a result that is not
// UTF-8 (a name in an answer's JSON must be). With `plus_is_space` (query strings) '+' decodes
// to ' '.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

struct Target {
  std::string path;                          // decoded
  std::map<std::string, std::string> query;  // decoded; "flag" alone maps to ""
};
// "/v1/vms/web1?grace=30&force" -> {"/v1/vms/web1", {grace: 30, force: ""}}; nullopt when
// the path is not absolute or a part does not decode.
std::optional<Target> parse_target(std::string_view target);

}  // namespace qmd::daemon::api
