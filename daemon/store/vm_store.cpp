#include "daemon/store/vm_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/store/atomic_file.hpp"
#include "daemon/store/dir_fd.hpp"
#include "daemon/store/remove_tree.hpp"

namespace qmd::daemon {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSpecFile = "spec.yaml";
constexpr const char* kRecordFile = "record.json";
constexpr mode_t kDirMode = 0750;
constexpr unsigned kFileMode = 0640;

// Names are DNS labels by the time they get here (the spec parser checks); this is the
// second fence: nothing that could leave <root> or hit qmd's own hidden files.
std::expected<void, std::string> check_name(const std::string& name) {
  if (name.empty()) {
    return std::unexpected("bad VM name: empty");
  }
  if (name.find('/') != std::string::npos || name.find("..") != std::string::npos ||
      name.find('\0') != std::string::npos || name.front() == '.') {
    return std::unexpected("bad VM name \"" + name +
                           "\": must not hold '/', '..' or start with '.'");
  }
  return {};
}

// Made (or kept) without following a link in its place; qmd's, with exactly `mode`.
std::expected<void, std::string> make_dir(const std::string& path, mode_t mode = kDirMode) {
  auto made = make_dir_path(path, mode, self_owner());
  if (!made) {
    return std::unexpected("mkdir " + path + ": " + made.error());
  }
  return {};
}

std::expected<void, std::string> sync_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected("fsync " + path + ": " + std::strerror(errno));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return std::unexpected("fsync " + path + ": " + std::strerror(err));
  }
  return {};
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A crash during create leaves a directory without spec.yaml; a crash during remove too
// (spec.yaml goes first); a crash during a write leaves a hidden temporary file.
std::expected<void, std::string> clean_up(const std::string& root) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string path = entry.path().string();
    if (!entry.is_directory() || entry.is_symlink()) {
      continue;  // not ours to judge
    }
    if (name.front() == '.' || !is_file(path + "/" + kSpecFile)) {
      if (auto removed = remove_tree(path); !removed) {
        return removed;
      }
      continue;
    }
    for (const auto& file : fs::directory_iterator(path, ec)) {
      const std::string file_name = file.path().filename().string();
      if (file_name.starts_with(".") && file_name.find(".tmp-") != std::string::npos) {
        fs::remove(file.path(), ec);
      }
    }
  }
  if (ec) {
    return std::unexpected("clean " + root + ": " + ec.message());
  }
  return {};
}

}  // namespace

std::expected<VmStore, std::string> VmStore::open(const std::string& state_dir,
                                                  unsigned dir_mode) {
  if (state_dir.empty()) {
    return std::unexpected("state dir: empty path");
  }
  auto top = open_config_dir(state_dir);
  if (!top) {
    return std::unexpected(top.error());
  }
  if (::fchmod(top->get(), dir_mode) != 0) {
    return std::unexpected("chmod " + state_dir + ": " + std::strerror(errno));
  }
  const std::string root = state_dir + "/vms";
  if (auto made = make_dir(root, dir_mode); !made) {
    return std::unexpected(made.error());
  }
  if (auto cleaned = clean_up(root); !cleaned) {
    return std::unexpected(cleaned.error());
  }
  return VmStore(root);
}

std::string VmStore::vm_dir(const std::string& name) const { return root_ + "/" + name; }

bool VmStore::exists(const std::string& name) const {
  return check_name(name) && is_file(vm_dir(name) + "/" + kSpecFile);
}

std::expected<StoredVm, std::string> VmStore::load(const std::string& name) const {
  if (auto ok = check_name(name); !ok) {
    return std::unexpected(ok.error());
  }
  if (!exists(name)) {
    return std::unexpected("no VM named " + name);
  }
  auto spec = read_file(vm_dir(name) + "/" + kSpecFile);
  if (!spec) {
    return std::unexpected(spec.error());
  }
  StoredVm vm{name, std::move(*spec), "{}"};
  const std::string record_path = vm_dir(name) + "/" + kRecordFile;
  if (is_file(record_path)) {
    auto record = read_file(record_path);
    if (!record) {
      return std::unexpected(record.error());
    }
    vm.record_json = std::move(*record);
  }
  return vm;
}

std::expected<std::vector<StoredVm>, std::string> VmStore::load_all() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && !entry.is_symlink() && check_name(name) && exists(name)) {
      names.push_back(name);
    }
  }
  if (ec) {
    return std::unexpected("list " + root_ + ": " + ec.message());
  }
  std::sort(names.begin(), names.end());
  std::vector<StoredVm> vms;
  for (const auto& name : names) {
    auto vm = load(name);
    if (!vm) {
      return std::unexpected(vm.error());
    }
    vms.push_back(std::move(*vm));
  }
  return vms;
}

std::expected<void, std::string> VmStore::save_spec(const std::string& name,
                                                    const std::string& text) {
  if (auto ok = check_name(name); !ok) {
    return ok;
  }
  const std::string dir = vm_dir(name);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (auto made = make_dir(dir); !made) {
      return made;
    }
    // The new directory entry must be durable before the spec in it counts.
    if (auto synced = sync_dir(root_); !synced) {
      return synced;
    }
  }
  return write_file_atomic(dir + "/" + kSpecFile, text, kFileMode);
}

std::expected<void, std::string> VmStore::save_record(const std::string& name,
                                                      const std::string& json) {
  if (auto ok = check_name(name); !ok) {
    return ok;
  }
  if (!exists(name)) {
    return std::unexpected("no VM named " + name);
  }
  return write_file_atomic(vm_dir(name) + "/" + kRecordFile, json, kFileMode);
}

std::expected<void, std::string> VmStore::remove(const std::string& name) {
  if (auto ok = check_name(name); !ok) {
    return ok;
  }
  const std::string dir = vm_dir(name);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return std::unexpected("no VM named " + name);
  }
  // spec.yaml first: from here on a crash leaves "not a VM", which open() removes.
  const std::string spec = dir + "/" + kSpecFile;
  if (::unlink(spec.c_str()) != 0 && errno != ENOENT) {
    return std::unexpected("remove " + spec + ": " + std::strerror(errno));
  }
  if (auto synced = sync_dir(dir); !synced) {
    return synced;
  }
  if (auto removed = remove_tree(dir); !removed) {
    return removed;
  }
  return sync_dir(root_);
}

}  // namespace qmd::daemon
