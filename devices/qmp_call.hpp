#pragma once
// One QMP command, as the daemon sends it: {"execute": ..., "arguments": {...}}.
#include <boost/json/object.hpp>
#include <string>

namespace qmd::devices {

struct QmpCall {
  std::string execute;
  boost::json::object arguments;
  bool operator==(const QmpCall&) const = default;
};

}  // namespace qmd::devices
