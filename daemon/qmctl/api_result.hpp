#pragma once
// How every qmctl command that asks qmd ends: a client for -s (or the default socket), and
// the answer shown — a transport or API error on stderr (exit 1), -o json as JSON, else the
// command's own words.
#include <boost/json/value.hpp>
#include <chrono>
#include <expected>
#include <functional>
#include <string>

#include "daemon/qmctl/api_client.hpp"
#include "daemon/qmctl/commands.hpp"

namespace qmd::qmctl {

ApiClient client_for(const GlobalFlags& globals, ApiTimeouts timeouts = {});
// "qmctl: MESSAGE" on stderr; returns 1.
int fail(const std::string& message);
// Not JSON: the body as it came. Otherwise -o json prints it, else `human(value)`.
int finish(const GlobalFlags& globals, const std::expected<ApiResponse, std::string>& response,
           const std::function<void(const boost::json::value&)>& human);
// The same, with a fixed line for people.
int finish(const GlobalFlags& globals, const std::expected<ApiResponse, std::string>& response,
           const std::string& human);

}  // namespace qmd::qmctl
