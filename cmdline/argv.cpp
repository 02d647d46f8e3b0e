#include "cmdline/argv.hpp"

namespace qmd::cmdline {

std::vector<std::string> Argv::args() const {
  std::vector<std::string> out;
  out.reserve(options_.size() * 2);
  for (const auto& o : options_) {
    out.push_back(o.flag);
    if (o.value) {
      out.push_back(*o.value);
    }
  }
  return out;
}

std::vector<std::string> Argv::lines() const {
  std::vector<std::string> out;
  out.reserve(options_.size());
  for (const auto& o : options_) {
    out.push_back(o.value ? o.flag + " " + *o.value : o.flag);
  }
  return out;
}

namespace {
std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./=,:+@%") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}
}  // namespace

std::string Argv::shell(const std::string& binary) const {
  std::string out = shell_quote(binary);
  for (const auto& o : options_) {
    out += " \\\n  " + shell_quote(o.flag);
    if (o.value) {
      out += " " + shell_quote(*o.value);
    }
  }
  return out;
}

}  // namespace qmd::cmdline
