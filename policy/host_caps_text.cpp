// HostCaps for people (`qmctl host`) and programs (the API): aligned text and pretty JSON.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "policy/host_caps.hpp"
#include "policy/host_units.hpp"

namespace qmd::policy {
namespace {

namespace json = boost::json;

json::array strings(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) {
    out.emplace_back(s);
  }
  return out;
}

std::string version_string(const QemuVersion& v) {
  return fmt::format("{}.{}.{}", v.major, v.minor, v.micro);
}

// Boost.JSON only serializes compactly; `qmctl host` output is read by people too.
void pretty(const json::value& v, std::string& out, int depth) {
  const std::string pad(static_cast<std::size_t>(depth + 1) * 2, ' ');
  const std::string close_pad(static_cast<std::size_t>(depth) * 2, ' ');
  if (v.is_object()) {
    const auto& obj = v.get_object();
    if (obj.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& [key, value] : obj) {
      out += first ? "" : ",\n";
      first = false;
      out += pad + json::serialize(json::string(key)) + ": ";
      pretty(value, out, depth + 1);
    }
    out += "\n" + close_pad + "}";
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    if (arr.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto& value : arr) {
      out += first ? "" : ",\n";
      first = false;
      out += pad;
      pretty(value, out, depth + 1);
    }
    out += "\n" + close_pad + "]";
  } else {
    out += json::serialize(v);
  }
}

json::object hyperv_features_json(const std::map<std::string, bool>& verdicts,
                                  const std::map<std::string, std::string>& details) {
  json::object features;
  for (const auto& f : known_hyperv_features()) {
    const auto it = verdicts.find(f);
    if (it == verdicts.end()) {
      continue;
    }
    json::object one{{"accepted", it->second}};
    if (const auto why = details.find(f); why != details.end()) {
      one["detail"] = why->second;
    }
    features[f] = std::move(one);
  }
  return features;
}

json::object hyperv_json(const HostCaps& caps) {
  return json::object{{"probed", caps.hyperv_probed},
                      {"probe_cpu", caps.hyperv_probe_cpu},
                      {"features", hyperv_features_json(caps.hyperv, caps.hyperv_detail)}};
}

json::object hyperv_tcg_json(const HostCaps& caps) {
  return json::object{{"probed", caps.hyperv_tcg_probed},
                      {"probe_cpu", "max"},
                      {"features", hyperv_features_json(caps.hyperv_tcg, caps.hyperv_tcg_detail)}};
}

// Accepted features on wrapped lines, then one line per refused feature with QEMU's reason.
std::vector<std::string> hyperv_lines(const std::map<std::string, bool>& verdicts,
                                      const std::map<std::string, std::string>& details,
                                      std::size_t width);

// Rows of `key: value`, values of several lines indented under the first.
class Table {
 public:
  void row(std::string key, std::vector<std::string> lines) {
    rows_.emplace_back(std::move(key), std::move(lines));
  }
  void row(std::string key, std::string value) {
    row(std::move(key), std::vector<std::string>{std::move(value)});
  }
  std::string str() const {
    std::size_t width = 0;
    for (const auto& [key, lines] : rows_) {
      width = std::max(width, key.size() + 1);
    }
    std::string out;
    for (const auto& [key, lines] : rows_) {
      for (std::size_t i = 0; i < lines.size(); ++i) {
        out += fmt::format("{:<{}} {}\n", i == 0 ? key + ":" : "", width, lines[i]);
      }
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::vector<std::string>>> rows_;
};

// A comma list folded into lines of at most `width` characters.
std::vector<std::string> wrap(const std::vector<std::string>& items, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item = items[i] + (i + 1 < items.size() ? "," : "");
    if (!line.empty() && line.size() + 1 + item.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + item;
  }
  if (!line.empty() || lines.empty()) {
    lines.push_back(line.empty() ? "none" : line);
  }
  return lines;
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

std::string usable(bool ok, const std::string& detail) {
  std::string s = ok ? "usable" : "not usable";
  return detail.empty() ? s : fmt::format("{} ({})", s, detail);
}

std::vector<std::string> hyperv_lines(const std::map<std::string, bool>& verdicts,
                                      const std::map<std::string, std::string>& details,
                                      std::size_t width) {
  std::vector<std::string> accepted;
  std::vector<std::string> lines;
  for (const auto& f : known_hyperv_features()) {
    if (const auto it = verdicts.find(f); it != verdicts.end() && it->second) {
      accepted.push_back(f);
    }
  }
  for (auto& line : wrap(accepted, width - 10)) {
    lines.push_back((lines.empty() ? "accepted: " : "          ") + line);
  }
  for (const auto& f : known_hyperv_features()) {
    if (const auto it = verdicts.find(f); it != verdicts.end() && !it->second) {
      const auto why = details.find(f);
      lines.push_back(fmt::format("refused:  {}{}", f,
                                  why == details.end() ? "" : " (" + why->second + ")"));
    }
  }
  return lines;
}

}  // namespace

std::string host_caps_json(const HostCaps& caps) {
  json::object hugepages;
  for (const auto& [size, pool] : caps.hugepages) {
    hugepages[format_binary_quantity(size)] =
        json::object{{"total", pool.total}, {"free", pool.free}};
  }
  json::array ovmf;
  for (const auto& image : caps.ovmf) {
    ovmf.push_back(json::object{{"code", image.code},
                                {"vars", image.vars},
                                {"secure_boot", image.secure_boot},
                                {"keys_enrolled", image.keys_enrolled},
                                {"size_4m", image.size_4m}});
  }
  const json::object doc{
      {"hostname", caps.hostname},
      {"arch", caps.arch},
      {"qemu", json::object{{"binary", caps.qemu_binary},
                            {"version", version_string(caps.qemu_version)}}},
      {"kvm", json::object{{"present", caps.kvm_present},
                           {"usable", caps.kvm_usable},
                           {"detail", caps.kvm_detail}}},
      {"cpu_host", json::object{{"usable", caps.cpu_host_usable},
                                {"detail", caps.cpu_host_detail}}},
      {"machine_types", strings(caps.machine_types)},
      {"cpu_models", strings(caps.cpu_models)},
      {"cpu_flags", strings(caps.cpu_flags)},
      {"hyperv", hyperv_json(caps)},
      {"hyperv_tcg", hyperv_tcg_json(caps)},
      {"vhost_net", caps.vhost_net},
      {"hugepages", std::move(hugepages)},
      {"memory_total", caps.memory_total},
      {"cpus_online", caps.cpus_online},
      {"ovmf", std::move(ovmf)},
      {"swtpm", json::object{{"present", caps.swtpm.present},
                             {"path", caps.swtpm.path},
                             {"setup_path", caps.swtpm.setup_path},
                             {"tpm2", caps.swtpm.tpm2},
                             {"features", strings(caps.swtpm.features)}}},
      {"launch_security",
       json::object{{"sev", caps.sev}, {"snp", caps.sev_snp}, {"tdx", caps.tdx}}},
      {"tsc_khz", caps.tsc_khz},
      {"tsc_scaling", caps.tsc_scaling},
  };
  std::string out;
  pretty(doc, out, 0);
  return out + "\n";
}

std::string host_caps_text(const HostCaps& caps) {
  Table t;
  t.row("hostname", caps.hostname);
  t.row("arch", caps.arch);
  t.row("qemu", fmt::format("{} {}", caps.qemu_binary, version_string(caps.qemu_version)));
  t.row("kvm", caps.kvm_present ? usable(caps.kvm_usable, caps.kvm_detail)
                                : fmt::format("absent ({})", caps.kvm_detail));
  t.row("cpu host", usable(caps.cpu_host_usable, caps.cpu_host_detail));
  constexpr std::size_t kWidth = 78;
  t.row("machine types", wrap(caps.machine_types, kWidth));
  t.row("cpu models", wrap(caps.cpu_models, kWidth));
  t.row("cpu flags", caps.cpu_flags.empty() ? std::vector<std::string>{"unknown"}
                                            : wrap(caps.cpu_flags, kWidth));
  if (!caps.hyperv_probed) {
    t.row("hyperv (kvm)", "not probed (needs usable KVM)");
  } else {
    t.row(fmt::format("hyperv (kvm, -cpu {})", caps.hyperv_probe_cpu),
          hyperv_lines(caps.hyperv, caps.hyperv_detail, kWidth));
  }
  t.row("hyperv (tcg, -cpu max)", caps.hyperv_tcg_probed
                                      ? hyperv_lines(caps.hyperv_tcg, caps.hyperv_tcg_detail,
                                                     kWidth)
                                      : std::vector<std::string>{"not probed"});
  t.row("vhost-net", yes_no(caps.vhost_net));
  std::vector<std::string> pools;
  for (const auto& [size, pool] : caps.hugepages) {
    pools.push_back(fmt::format("{}: {} free of {}", format_binary_quantity(size), pool.free,
                                pool.total));
  }
  t.row("hugepages", pools.empty() ? std::vector<std::string>{"none"} : pools);
  const std::string memory = format_binary_quantity(caps.memory_total);
  t.row("memory", memory.ends_with("Gi") || memory.ends_with("Ti") || caps.memory_total == 0
                      ? memory
                      : fmt::format("{} ({:.1f}Gi)", memory,
                                    static_cast<double>(caps.memory_total) / (1ULL << 30)));
  t.row("cpus online", std::to_string(caps.cpus_online));
  std::vector<std::string> images;
  for (const auto& image : caps.ovmf) {
    images.push_back(fmt::format("{} + {} ({}{})", image.code, image.vars,
                                 image.secure_boot ? "secure boot" : "no secure boot",
                                 image.keys_enrolled ? ", keys enrolled" : ""));
  }
  t.row("ovmf", images.empty() ? std::vector<std::string>{"none"} : images);
  t.row("swtpm", !caps.swtpm.present
                     ? std::string("absent")
                     : fmt::format("{} ({}), setup {}", caps.swtpm.path,
                                   caps.swtpm.tpm2 ? "TPM 2.0" : "no TPM 2.0",
                                   caps.swtpm.setup_path.empty() ? "absent"
                                                                 : caps.swtpm.setup_path));
  t.row("launch security", fmt::format("sev {}, snp {}, tdx {}", yes_no(caps.sev),
                                       yes_no(caps.sev_snp), yes_no(caps.tdx)));
  t.row("tsc", fmt::format("{}, scaling {}",
                           caps.tsc_khz == 0 ? std::string("unknown")
                                             : fmt::format("{} kHz", caps.tsc_khz),
                           yes_no(caps.tsc_scaling)));
  return t.str();
}

}  // namespace qmd::policy
