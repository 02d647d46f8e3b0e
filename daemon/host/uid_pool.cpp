#include "daemon/host/uid_pool.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <memory>
#include <sstream>

namespace qmd::daemon {

UidPool::UidPool(UidRange range, std::vector<gid_t> groups)
    : range_(range), groups_(std::move(groups)) {}

void UidPool::hold(uid_t uid) {
  if (!range_.contains(uid)) {
    return;
  }
  held_.insert(uid);
  // After a restart of qmd the search goes on past the VMs it found: a deleted VM's uid
  // comes back as late as the range allows.
  next_ = std::max(next_, static_cast<std::uint32_t>(uid - range_.first + 1) % range_.count);
}

void UidPool::release(uid_t uid) {
  if (auto it = held_.find(uid); it != held_.end()) {
    held_.erase(it);
  }
}

std::optional<uid_t> UidPool::take(const std::set<uid_t>& running) {
  for (std::uint64_t tried = 0; tried < range_.count; ++tried) {
    const auto uid = static_cast<uid_t>(range_.first + next_);
    next_ = (next_ + 1) % range_.count;
    if (!held_.contains(uid) && !running.contains(uid)) {
      held_.insert(uid);
      return uid;
    }
  }
  return std::nullopt;
}

std::vector<std::uint64_t> status_ids(std::string_view status) {
  std::vector<std::uint64_t> out;
  for (std::string_view key : {"\nUid:", "\nGid:"}) {
    auto at = status.find(key);
    if (at == std::string_view::npos) {
      continue;
    }
    at += key.size();
    const auto nl = status.find('\n', at);
    std::string_view line = status.substr(at, nl == std::string_view::npos ? nl : nl - at);
    while (!line.empty()) {
      const auto start = line.find_first_not_of(" \t");
      if (start == std::string_view::npos) {
        break;
      }
      line.remove_prefix(start);
      std::uint64_t value = 0;
      const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
      if (ec != std::errc{}) {
        break;
      }
      out.push_back(value);
      line.remove_prefix(static_cast<std::size_t>(end - line.data()));
    }
  }
  return out;
}

namespace {

std::string read_small(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::map<uid_t, std::string> ids_in_use(const UidRange& range, const std::string& proc) {
  std::map<uid_t, std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(proc.c_str()), ::closedir);
  if (!dir) {
    return out;
  }
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string_view name = entry->d_name;
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
      continue;
    }
    const std::string base = proc + "/" + std::string(name);
    // "\n" first: status_ids looks for its keys at the start of a line.
    const std::string status = "\n" + read_small(base + "/status");
    if (status.find("\nState:\tZ") != std::string::npos) {
      continue;  // a zombie runs nothing and holds nothing; its parent has yet to reap it
    }
    for (std::uint64_t id : status_ids(status)) {
      if (range.contains(id) && !out.contains(static_cast<uid_t>(id))) {
        std::string comm = read_small(base + "/comm");
        if (!comm.empty() && comm.back() == '\n') {
          comm.pop_back();
        }
        out.emplace(static_cast<uid_t>(id), fmt::format("pid {} ({})", name, comm));
      }
    }
  }
  return out;
}

std::vector<gid_t> device_groups() {
  std::vector<gid_t> out;
  for (const char* device : {"/dev/kvm", "/dev/vhost-net", "/dev/net/tun"}) {
    struct stat st {};
    if (::stat(device, &st) == 0 && st.st_gid != 0 && (st.st_mode & S_IRWXG) != 0 &&
        std::find(out.begin(), out.end(), st.st_gid) == out.end()) {
      out.push_back(st.st_gid);
    }
  }
  return out;
}

}  // namespace qmd::daemon
