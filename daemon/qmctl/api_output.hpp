#pragma once
// How qmctl shows the API's answers to people: tables, key: value lines, one event per line.
// `-o json` bypasses all of this and prints the JSON itself.
#include <boost/json/value.hpp>
#include <string>

namespace qmd::qmctl {

// Two-space indented JSON, one member per line, ending in a newline.
std::string pretty_json(const boost::json::value& value);

// GET /v1/vms -> "NAME STATE PID AGENT" table, columns aligned.
std::string vm_table(const boost::json::value& list);
// GET /v1/vms/NAME -> "key: value" lines, all but specText.
std::string vm_details(const boost::json::value& vm);
// One event object -> "TIME VM TYPE STATE MESSAGE".
std::string event_line(const boost::json::value& event);
// GET /v1/vms/NAME/argv -> the binary, then one argument per line (as `qmctl render`).
std::string argv_lines(const boost::json::value& argv);

}  // namespace qmd::qmctl
