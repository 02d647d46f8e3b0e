#include "tests/unit/cmdline/golden.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cmdline/render.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"

namespace qmd::testing {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Collects the words of every line starting with `prefix` ("# host:").
std::string header(const std::string& text, const std::string& prefix) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) {
      out += line.substr(prefix.size()) + " ";
    }
  }
  return out;
}

// `# run: forward=IFACE/TCP/80=20080` words: the host ports the daemon would have chosen.
std::vector<policy::PortForward> chosen_forwards(const std::string& run) {
  std::vector<policy::PortForward> out;
  std::istringstream words(run);
  for (std::string word; words >> word;) {
    if (!word.starts_with("forward=")) {
      continue;
    }
    std::istringstream parts(word.substr(8));
    policy::PortForward f;
    std::string guest;
    std::string host;
    std::getline(parts, f.interface, '/');
    std::getline(parts, f.protocol, '/');
    std::getline(parts, guest, '=');
    std::getline(parts, host);
    f.guest_port = static_cast<std::uint16_t>(std::stoi(guest));
    f.host_port = static_cast<std::uint16_t>(std::stoi(host));
    out.push_back(f);
  }
  return out;
}

std::string errors_text(const policy::SpecErrors& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += "error: " + e.to_string() + "\n";
  }
  return out;
}

const char* prep_kind(cmdline::FilePrep::Kind k) {
  switch (k) {
    case cmdline::FilePrep::Kind::copy_if_missing:
      return "copy-if-missing";
    case cmdline::FilePrep::Kind::create_image_if_missing:
      return "create-image-if-missing";
    case cmdline::FilePrep::Kind::make_dir:
      return "make-dir";
  }
  return "?";
}

}  // namespace

// Reads the golden's header lines (host, run flags) into one policy and renders; a flat list of
// header keys, each one or two lines.
std::string render_golden(const std::string& yaml_path, const std::string& default_host) {
  const std::string text = read_file(yaml_path);
  std::string host_text = header(text, "# host:");
  if (host_text.empty()) {
    host_text = default_host;
  }
  const std::string run = header(text, "# run:");

  auto host = policy::parse_host_caps(host_text);
  if (!host) {
    return "bad # host: header: " + host.error() + "\n";
  }
  // Errors show the file name only, so goldens do not depend on the checkout's path.
  auto parsed = policy::parse_spec(text, std::filesystem::path(yaml_path).filename());
  if (!parsed) {
    return errors_text(parsed.error());
  }
  auto catalog = policy::PresetCatalog::load("");
  if (!catalog) {
    return errors_text(catalog.error());
  }
  auto spec = policy::apply_presets(*parsed, *catalog);
  if (!spec) {
    return errors_text(spec.error());
  }
  policy::RunPolicy rp;
  rp.use_emulation = run.find("emulation") != std::string::npos;
  if (run.find("best-effort") != std::string::npos) {
    rp.hyperv = policy::RunPolicy::Hyperv::best_effort;
  }
  rp.bridges = {{"br-prod", "br0"}};
  rp.passt_for_masquerade = run.find("passt") != std::string::npos;  // an unprivileged qmd
  rp.port_forwards = chosen_forwards(run);
  // `# run: nat`: qmd's managed NAT network is on (network.masquerade: nat).
  rp.masquerade_nat = (" " + run).find(" nat ") != std::string::npos;
  cmdline::VmPaths paths{"/run/qmd/vms/" + spec->name, "/var/lib/qmd/vms/" + spec->name};
  rp.state_dir = paths.state_dir;
  auto r = cmdline::render(*spec, *host, paths, rp);
  if (!r) {
    return errors_text(r.error());
  }
  std::string out = r->binary + "\n";
  for (const auto& line : r->argv.lines()) {
    out += line + "\n";
  }
  for (const auto& e : r->env) {
    out += "# env " + e + "\n";
  }
  for (const auto& s : r->sidecars) {
    std::string cmd;
    for (const auto& a : s.argv) {
      cmd += (cmd.empty() ? "" : " ") + a;
    }
    out += fmt::format("# sidecar {}{}: {}\n", s.name, s.run_once ? " (once)" : "", cmd);
    if (!s.skip_if_exists.empty()) {
      out += fmt::format("#   skip if exists: {}\n", s.skip_if_exists);
    }
    if (!s.ready_socket.empty()) {
      out += fmt::format("#   ready: {} pid: {} own sandbox: {}\n", s.ready_socket, s.pid_file,
                         s.own_sandbox);
    }
  }
  for (const auto& f : r->forwards) {
    out += fmt::format("# forward {} {} host {} -> guest {}{}\n", f.interface, f.protocol,
                       f.host_port, f.guest_port, f.name.empty() ? "" : " (" + f.name + ")");
  }
  for (const auto& p : r->prepare) {
    out += fmt::format("# prepare {} {}{}{} mode={:04o}\n", prep_kind(p.kind), p.path,
                       p.source.empty() ? "" : " from " + p.source,
                       p.size ? fmt::format(" size={} format={}", p.size, p.format) : "", p.mode);
  }
  for (const auto& seed : r->seeds) {
    out += fmt::format("# seed {} label={} ({} {})\n", seed.path, seed.label, seed.source,
                       seed.volume);
    for (const auto& f : seed.files) {
      out += f.secret.empty()
                 ? fmt::format("#   {}: {:?}\n", f.path, f.content)
                 : fmt::format("#   {}: secret {} key {}\n", f.path, f.secret,
                               fmt::join(f.keys, "|"));
    }
  }
  for (const auto& tap : r->taps) {
    if (tap.nat) {  // bridge taps are in the argv already; these also get a lease
      out += fmt::format("# nat tap {} interface={} mac={} multiqueue={}\n", tap.name,
                         tap.interface, tap.mac, tap.queues > 1);
    }
  }
  if (r->start_paused) {
    out += "# start paused (no cont)\n";
  }
  out += fmt::format("# pinning dedicated={} vcpus={} isolate-emulator={} numa-passthrough={}\n",
                     r->pinning.dedicated, r->pinning.vcpus, r->pinning.isolate_emulator_thread,
                     r->pinning.numa_passthrough);
  for (const auto& w : r->warnings) {
    out += "# warning " + w + "\n";
  }
  return out;
}

std::string compare_golden(const std::string& golden_path, const std::string& actual) {
  const char* update = std::getenv("QMD_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::filesystem::create_directories(std::filesystem::path(golden_path).parent_path());
    std::ofstream(golden_path) << actual;
    return "";
  }
  if (!std::filesystem::exists(golden_path)) {
    return fmt::format("golden file {} is missing; run with QMD_UPDATE_GOLDEN=1 to create it "
                       "and review it. Rendered:\n{}",
                       golden_path, actual);
  }
  const std::string expected = read_file(golden_path);
  if (expected == actual) {
    return "";
  }
  // diff(1) is in every Debian install; a unified diff reads best for argv changes.
  const auto tmp = std::filesystem::temp_directory_path() /
                   fmt::format("qmd-golden-{}.argv", ::getpid());
  std::ofstream(tmp) << actual;
  std::string diff;
  if (FILE* p = ::popen(fmt::format("diff -u '{}' '{}'", golden_path, tmp.string()).c_str(),
                        "r")) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) {
      diff.append(buf, n);
    }
    ::pclose(p);
  }
  std::filesystem::remove(tmp);
  return fmt::format("{} differs from the rendered argv (QMD_UPDATE_GOLDEN=1 accepts the new "
                     "one):\n{}",
                     golden_path, diff);
}

}  // namespace qmd::testing
