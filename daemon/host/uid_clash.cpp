#include "daemon/host/uid_clash.hpp"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace qmd::daemon {

namespace {

// Spans no qmd may hand out whatever the files say: what systemd and the kernel keep.
struct Reserved {
  std::uint64_t first;
  std::uint64_t end;  // one past
  const char* why;
};
constexpr Reserved kReserved[] = {
    {0, 65536,
     "0–65535 holds the system and login users, systemd's DynamicUser range (61184–65519), "
     "nobody (65534) and the 16-bit -1"},
    {2147352576, 2147418112, "2147352576–2147418111 is systemd's foreign-uid range"},
    {2147483648, 4294967296,
     "uids from 2147483648 on read as negative numbers to many tools (and 4294967295 is -1)"},
};

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  for (;;) {
    const auto colon = line.find(':', at);
    out.push_back(line.substr(at, colon == std::string_view::npos ? colon : colon - at));
    if (colon == std::string_view::npos) {
      return out;
    }
    at = colon + 1;
  }
}

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

template <typename Fn>
void each_line(std::string_view text, Fn fn) {
  std::size_t at = 0;
  while (at < text.size()) {
    auto nl = text.find('\n', at);
    if (nl == std::string_view::npos) {
      nl = text.size();
    }
    const std::string_view line = text.substr(at, nl - at);
    if (!line.empty() && line.front() != '#') {
      fn(fields_of(line));
    }
    at = nl + 1;
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool overlaps(const UidRange& range, std::uint64_t first, std::uint64_t end) {
  return first < range.end() && range.first < end;
}

}  // namespace

std::vector<HostIds> parse_id_file(std::string_view text, const std::string& where) {
  std::vector<HostIds> out;
  each_line(text, [&](const std::vector<std::string_view>& fields) {
    if (fields.size() >= 3) {
      if (auto id = number(fields[2])) {
        out.push_back(HostIds{where, std::string(fields[0]), *id, 1});
      }
    }
  });
  return out;
}

std::vector<HostIds> parse_subid_file(std::string_view text, const std::string& where) {
  std::vector<HostIds> out;
  each_line(text, [&](const std::vector<std::string_view>& fields) {
    if (fields.size() >= 3) {
      auto first = number(fields[1]);
      auto count = number(fields[2]);
      if (first && count && *count > 0) {
        out.push_back(HostIds{where, std::string(fields[0]), *first, *count});
      }
    }
  });
  return out;
}

std::vector<HostIds> read_host_ids(const std::string& etc) {
  std::vector<HostIds> out;
  for (const char* name : {"/passwd", "/group"}) {
    auto found = parse_id_file(read_text(etc + name), etc + name);
    out.insert(out.end(), found.begin(), found.end());
  }
  for (const char* name : {"/subuid", "/subgid"}) {
    auto found = parse_subid_file(read_text(etc + name), etc + name);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::optional<std::string> uid_range_refusal(const UidRange& range,
                                             const std::vector<HostIds>& host) {
  const std::string shown = range.count == 0
                                ? fmt::format("qemuUids {{first: {}, count: 0}}", range.first)
                                : fmt::format("qemuUids {}–{}", range.first, range.end() - 1);
  if (range.count == 0) {
    return shown + " is empty: give count 1 or more (one uid per VM)";
  }
  for (const auto& reserved : kReserved) {
    if (overlaps(range, reserved.first, reserved.end)) {
      return fmt::format("{} overlaps what qmd never hands out: {}; move qemuUids.first (the "
                         "default 1879048192 with count 65536 clashes with nothing usual)",
                         shown, reserved.why);
    }
  }
  for (const auto& ids : host) {
    if (overlaps(range, ids.first, ids.first + ids.count)) {
      const std::string what =
          ids.count == 1 ? fmt::format("id {}", ids.first)
                         : fmt::format("ids {}–{}", ids.first, ids.first + ids.count - 1);
      return fmt::format("{} overlaps {} of {} in {}: a VM's QEMU would run as (or beside) "
                         "them; move qemuUids.first or shrink qemuUids.count in qmd.yaml",
                         shown, what, ids.name, ids.where);
    }
  }
  return std::nullopt;
}

}  // namespace qmd::daemon
