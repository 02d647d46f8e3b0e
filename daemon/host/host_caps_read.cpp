#include "daemon/host/host_caps_read.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "policy/host_units.hpp"

namespace qmd::daemon {
namespace {

namespace json = boost::json;

// Reads one JSON object's fields by type; the first problem sticks (with its path) and
// every later read returns an empty value, so a caller checks once at the end.
class Fields {
 public:
  Fields(const json::value* value, std::string where, std::optional<std::string>& error)
      : where_(std::move(where)), error_(error) {
    if (value != nullptr && value->is_object()) {
      object_ = &value->get_object();
    } else {
      fail("", "is not an object");
    }
  }

  const json::value* get(std::string_view key) {
    const json::value* found = object_ != nullptr ? object_->if_contains(key) : nullptr;
    if (found == nullptr) {
      fail(key, "is missing");
    }
    return found;
  }
  std::string text(std::string_view key) {
    const json::value* v = get(key);
    if (v != nullptr && !v->is_string()) {
      fail(key, "is not a string");
      return {};
    }
    return v != nullptr ? std::string(v->get_string()) : std::string();
  }
  bool flag(std::string_view key) {
    const json::value* v = get(key);
    if (v != nullptr && !v->is_bool()) {
      fail(key, "is not true or false");
      return false;
    }
    return v != nullptr && v->get_bool();
  }
  std::uint64_t number(std::string_view key,
                       std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    const json::value* v = get(key);
    if (v == nullptr) {
      return 0;
    }
    if (v->is_int64() && v->get_int64() >= 0) {
      return check_max(key, static_cast<std::uint64_t>(v->get_int64()), max);
    }
    if (v->is_uint64()) {
      return check_max(key, v->get_uint64(), max);
    }
    fail(key, "is not a count");
    return 0;
  }
  std::vector<std::string> texts(std::string_view key) {
    std::vector<std::string> out;
    const json::value* v = get(key);
    if (v != nullptr && !v->is_array()) {
      fail(key, "is not a list");
    } else if (v != nullptr) {
      for (const auto& item : v->get_array()) {
        if (!item.is_string()) {
          fail(key, "holds something that is not a string");
          return {};
        }
        out.emplace_back(item.get_string());
      }
    }
    return out;
  }
  Fields sub(std::string_view key) {
    return Fields(get(key), fmt::format("{}.{}", where_, key), error_);
  }
  const json::object* object() const { return object_; }
  std::optional<std::string>& error() { return error_; }
  void fail(std::string_view key, std::string_view what) {
    if (!error_) {
      error_ = key.empty() ? fmt::format("{} {}", where_, what)
                           : fmt::format("{}.{} {}", where_, key, what);
    }
  }

 private:
  std::uint64_t check_max(std::string_view key, std::uint64_t n, std::uint64_t max) {
    if (n > max) {
      fail(key, fmt::format("is above {}", max));
      return 0;
    }
    return n;
  }

  const json::object* object_ = nullptr;
  std::string where_;
  std::optional<std::string>& error_;
};

std::optional<policy::QemuVersion> parse_version(const std::string& text) {
  policy::QemuVersion v;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d.%d.%d%c", &v.major, &v.minor, &v.micro, &tail) != 3 ||
      v.major < 0 || v.minor < 0 || v.micro < 0) {
    return std::nullopt;
  }
  return v;
}

// {"probed", "probe_cpu", "features": {NAME: {"accepted", "detail"?}}}; NAME a known one.
void read_hyperv(Fields in, bool& probed, std::string& probe_cpu,
                 std::map<std::string, bool>& verdicts,
                 std::map<std::string, std::string>& details) {
  probed = in.flag("probed");
  probe_cpu = in.text("probe_cpu");
  Fields features = in.sub("features");
  if (features.object() == nullptr) {
    return;
  }
  const auto& known = policy::known_hyperv_features();
  for (const auto& [name, value] : *features.object()) {
    const std::string feature(name);
    if (std::ranges::find(known, feature) == known.end()) {
      features.fail(name, "is not a Hyper-V feature qmd knows");
      return;
    }
    Fields one = features.sub(name);
    verdicts[feature] = one.flag("accepted");
    if (one.object() != nullptr && one.object()->contains("detail")) {
      details[feature] = one.text("detail");
    }
  }
}

void read_hugepages(Fields in, std::map<std::uint64_t, policy::HugepagePool>& pools) {
  if (in.object() == nullptr) {
    return;
  }
  for (const auto& [size, value] : *in.object()) {
    const auto bytes = policy::parse_binary_quantity(size);
    if (!bytes || *bytes == 0) {
      in.fail(size, "is not a page size");
      return;
    }
    Fields pool = in.sub(size);
    pools[*bytes] = policy::HugepagePool{pool.number("total"), pool.number("free")};
  }
}

void read_ovmf(Fields& in, std::vector<policy::OvmfImage>& images) {
  const json::value* list = in.get("ovmf");
  if (list == nullptr || !list->is_array()) {
    in.fail("ovmf", "is not a list");
    return;
  }
  std::size_t i = 0;
  for (const auto& item : list->get_array()) {
    Fields one(&item, fmt::format("caps.ovmf[{}]", i++), in.error());
    images.push_back(policy::OvmfImage{.code = one.text("code"),
                                       .vars = one.text("vars"),
                                       .secure_boot = one.flag("secure_boot"),
                                       .keys_enrolled = one.flag("keys_enrolled"),
                                       .size_4m = one.flag("size_4m")});
  }
}

void read_swtpm(Fields in, policy::SwtpmCaps& swtpm) {
  swtpm.present = in.flag("present");
  swtpm.path = in.text("path");
  swtpm.setup_path = in.text("setup_path");
  swtpm.tpm2 = in.flag("tpm2");
  swtpm.features = in.texts("features");
}

void read_machine(Fields& in, policy::HostCaps& caps) {
  caps.hostname = in.text("hostname");
  caps.arch = in.text("arch");
  Fields qemu = in.sub("qemu");
  caps.qemu_binary = qemu.text("binary");
  const std::string version = qemu.text("version");
  if (auto v = parse_version(version)) {
    caps.qemu_version = *v;
  } else {
    qemu.fail("version", "is not MAJOR.MINOR.MICRO");
  }
  Fields kvm = in.sub("kvm");
  caps.kvm_present = kvm.flag("present");
  caps.kvm_usable = kvm.flag("usable");
  caps.kvm_detail = kvm.text("detail");
  Fields cpu_host = in.sub("cpu_host");
  caps.cpu_host_usable = cpu_host.flag("usable");
  caps.cpu_host_detail = cpu_host.text("detail");
  caps.machine_types = in.texts("machine_types");
  caps.cpu_models = in.texts("cpu_models");
  caps.cpu_flags = in.texts("cpu_flags");
  caps.vhost_net = in.flag("vhost_net");
  caps.memory_total = in.number("memory_total");
  caps.cpus_online = static_cast<std::uint32_t>(
      in.number("cpus_online", std::numeric_limits<std::uint32_t>::max()));
  Fields security = in.sub("launch_security");
  caps.sev = security.flag("sev");
  caps.sev_snp = security.flag("snp");
  caps.tdx = security.flag("tdx");
  caps.tsc_khz = in.number("tsc_khz");
  caps.tsc_scaling = in.flag("tsc_scaling");
}

// What a changed file could turn into running another program, or QEMU reading another
// file: the configured QEMU, a swtpm where the probe looks for one, OVMF images qmd trusts.
std::optional<std::string> check_paths(const policy::HostCaps& caps,
                                       const std::string& qemu_binary) {
  if (caps.qemu_binary != qemu_binary) {
    return fmt::format("caps.qemu.binary is {}, not the configured {}", caps.qemu_binary,
                       qemu_binary);
  }
  auto in_bin = [](const std::string& path, std::string_view name) {
    return std::ranges::any_of(std::array{"/usr/bin/", "/usr/local/bin/", "/bin/"},
                               [&](const char* dir) { return path == dir + std::string(name); });
  };
  if (!caps.swtpm.path.empty() && !in_bin(caps.swtpm.path, "swtpm")) {
    return fmt::format("caps.swtpm.path {} is not where qmd looks for swtpm", caps.swtpm.path);
  }
  if (!caps.swtpm.setup_path.empty() && !in_bin(caps.swtpm.setup_path, "swtpm_setup")) {
    return fmt::format("caps.swtpm.setup_path {} is not where qmd looks for swtpm_setup",
                       caps.swtpm.setup_path);
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [name, path] : {std::pair{"swtpm.path", caps.swtpm.path},
                                   std::pair{"swtpm.setup_path", caps.swtpm.setup_path}}) {
    if (!path.empty()) {
      files.emplace_back(name, path);
    }
  }
  for (std::size_t i = 0; i < caps.ovmf.size(); ++i) {
    files.emplace_back(fmt::format("ovmf[{}].code", i), caps.ovmf[i].code);
    files.emplace_back(fmt::format("ovmf[{}].vars", i), caps.ovmf[i].vars);
  }
  for (const auto& [name, path] : files) {
    if (auto trusted = check_trusted_file(path); !trusted) {
      return fmt::format("caps.{}: {}", name, trusted.error());
    }
  }
  return std::nullopt;
}

}  // namespace

std::expected<void, std::string> check_trusted_file(const std::string& path) {
  if (!path.starts_with('/') || path.find("/../") != std::string::npos || path.ends_with("/..")) {
    return std::unexpected(fmt::format("{} is not an absolute path without ..", path));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::unexpected(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected(fmt::format("{} is not a regular file", path));
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return std::unexpected(
        fmt::format("{} belongs to uid {}, neither root nor qmd", path, st.st_uid));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return std::unexpected(
        fmt::format("{} is writable by others ({:04o})", path, st.st_mode & 07777));
  }
  return {};
}

std::expected<policy::HostCaps, std::string> host_caps_from_json(const json::value& doc,
                                                                 const std::string& qemu_binary) {
  std::optional<std::string> error;
  policy::HostCaps caps;
  Fields in(&doc, "caps", error);
  read_machine(in, caps);
  read_hyperv(in.sub("hyperv"), caps.hyperv_probed, caps.hyperv_probe_cpu, caps.hyperv,
              caps.hyperv_detail);
  std::string tcg_cpu;
  read_hyperv(in.sub("hyperv_tcg"), caps.hyperv_tcg_probed, tcg_cpu, caps.hyperv_tcg,
              caps.hyperv_tcg_detail);
  read_hugepages(in.sub("hugepages"), caps.hugepages);
  read_ovmf(in, caps.ovmf);
  read_swtpm(in.sub("swtpm"), caps.swtpm);
  if (error) {
    return std::unexpected(std::move(*error));
  }
  // Whatever the reader skipped or the writer has since learnt shows here.
  boost::system::error_code ec;
  const json::value again = json::parse(policy::host_caps_json(caps), ec);
  if (ec || again != doc) {
    return std::unexpected("caps do not match what qmd writes (another qmd's or edited)");
  }
  if (auto wrong = check_paths(caps, qemu_binary)) {
    return std::unexpected(std::move(*wrong));
  }
  return caps;
}

}  // namespace qmd::daemon
