// qmctl render / qmctl validate: the renderer without a daemon.
#include <cstdio>
#include <iostream>
#include <optional>
#include <utility>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "daemon/qmctl/commands.hpp"
#include "daemon/qmctl/pipeline.hpp"

namespace {

using qmd::cmdline::RenderResult;

void print_errors(const qmd::policy::SpecErrors& errors) {
  for (const auto& e : errors) {
    std::cerr << "error: " << e.to_string() << '\n';
  }
}

boost::json::array to_json(const std::vector<std::string>& v) {
  return boost::json::array(v.begin(), v.end());
}

std::string kind_name(qmd::cmdline::FilePrep::Kind k) {
  switch (k) {
    case qmd::cmdline::FilePrep::Kind::copy_if_missing:
      return "copyIfMissing";
    case qmd::cmdline::FilePrep::Kind::create_image_if_missing:
      return "createImageIfMissing";
    case qmd::cmdline::FilePrep::Kind::make_dir:
      return "makeDir";
  }
  return "";
}

std::string render_json(const RenderResult& r) {
  boost::json::array sidecars;
  for (const auto& s : r.sidecars) {
    sidecars.push_back({{"name", s.name},
                        {"argv", to_json(s.argv)},
                        {"runOnce", s.run_once},
                        {"skipIfExists", s.skip_if_exists}});
  }
  boost::json::array prepare;
  for (const auto& p : r.prepare) {
    prepare.push_back({{"kind", kind_name(p.kind)},
                       {"source", p.source},
                       {"path", p.path},
                       {"size", p.size},
                       {"format", p.format},
                       {"mode", fmt::format("{:04o}", p.mode)}});
  }
  boost::json::object o{
      {"binary", r.binary},
      {"argv", to_json(r.argv.args())},
      {"env", to_json(r.env)},
      {"sidecars", std::move(sidecars)},
      {"prepare", std::move(prepare)},
      {"pinning",
       {{"dedicated", r.pinning.dedicated},
        {"vcpus", r.pinning.vcpus},
        {"isolateEmulatorThread", r.pinning.isolate_emulator_thread},
        {"numaPassthrough", r.pinning.numa_passthrough}}},
      {"warnings", to_json(r.warnings)}};
  return boost::json::serialize(o);
}

std::string shell_line(const std::vector<std::string>& argv) {
  qmd::cmdline::Argv a;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    a.add(argv[i]);
  }
  return a.shell(argv.front());
}

void print_render(const RenderResult& r, const std::string& output) {
  if (output == "json") {
    std::cout << render_json(r) << '\n';
    return;
  }
  if (output == "shell") {
    for (const auto& s : r.sidecars) {
      std::cout << "# sidecar " << s.name << (s.run_once ? " (run once, before QEMU)" : "")
                << "\n" << shell_line(s.argv) << "\n\n";
    }
    std::string env;
    for (const auto& e : r.env) {
      env += e + " ";
    }
    std::cout << env << r.argv.shell(r.binary) << '\n';
    return;
  }
  // Default: one argument per line, binary first, so `mapfile -t` gets the argv back.
  std::cout << r.binary << '\n';
  for (const auto& a : r.argv.args()) {
    std::cout << a << '\n';
  }
  for (const auto& s : r.sidecars) {
    std::cerr << "sidecar " << s.name << ": " << shell_line(s.argv) << '\n';
  }
  for (const auto& e : r.env) {
    std::cerr << "env: " << e << '\n';
  }
}

// Spec file -> presets -> render, printing errors and warnings; nullopt after an error.
std::optional<std::pair<qmd::qmctl::Loaded, RenderResult>> load_and_render(
    const qmd::qmctl::CommonFlags& flags) {
  auto loaded = qmd::qmctl::load(flags);
  if (!loaded) {
    print_errors(loaded.error());
    return std::nullopt;
  }
  auto result = qmd::cmdline::render(loaded->spec, loaded->host, loaded->paths, loaded->policy);
  if (!result) {
    print_errors(result.error());
    return std::nullopt;
  }
  for (const auto& w : result->warnings) {
    std::cerr << "warning: " << w << '\n';
  }
  return std::pair{std::move(*loaded), std::move(*result)};
}

}  // namespace

int cmd_render(int argc, char** argv) {
  if (qmd::qmctl::asks_help(argc, argv)) {
    std::cout << "usage: qmctl render FILE [--config FILE] [--emulation]\n"
                 "                    [--hyperv strict|best-effort] [-o args|json|shell]\n"
                 "                    [--fake-host \"kvm=yes ...\"]\n"
                 "                    [--run-dir DIR] [--state-dir DIR] [--preset-dir DIR]\n";
    return 0;
  }
  auto flags = qmd::qmctl::parse_common_flags(argc - 1, argv + 1);
  if (!flags || flags->file.empty() || !flags->rest.empty()) {
    std::cerr << (flags ? (flags->rest.empty() ? "" : "unknown argument: " + flags->rest[0] + "\n")
                        : flags.error() + "\n")
              << "usage: qmctl render FILE [--config FILE] [--emulation]\n"
                 "                    [--hyperv strict|best-effort] [-o args|json|shell]\n"
                 "                    [--fake-host \"kvm=yes ...\"]\n"
                 "                    [--run-dir DIR] [--state-dir DIR] [--preset-dir DIR]\n";
    return 2;
  }
  if (flags->output != "args" && flags->output != "json" && flags->output != "shell") {
    std::cerr << "-o takes args, json or shell, not \"" << flags->output << "\"\n";
    return 2;
  }
  const auto done = load_and_render(*flags);
  if (!done) {
    return 1;
  }
  print_render(done->second, flags->output);
  return 0;
}

int cmd_validate(int argc, char** argv) {
  if (qmd::qmctl::asks_help(argc, argv)) {
    std::cout << "usage: qmctl validate FILE [--config FILE] [--emulation]\n"
                 "                      [--hyperv strict|best-effort]\n"
                 "                      [--fake-host \"kvm=yes ...\"] [--preset-dir DIR]\n";
    return 0;
  }
  auto flags = qmd::qmctl::parse_common_flags(argc - 1, argv + 1);
  if (!flags || flags->file.empty() || !flags->rest.empty()) {
    std::cerr << (flags ? "" : flags.error() + "\n")
              << "usage: qmctl validate FILE [--config FILE] [--emulation]\n"
                 "                      [--hyperv strict|best-effort]\n"
                 "                      [--fake-host \"kvm=yes ...\"] [--preset-dir DIR]\n";
    return 2;
  }
  // Everything render checks (spec rules and this host), without printing an argv.
  const auto done = load_and_render(*flags);
  if (!done) {
    return 1;
  }
  const auto& loaded = done->first;
  std::cout << fmt::format("ok: {} is valid for host {}{}\n", loaded.spec.name,
                           loaded.host.hostname.empty() ? "(described)" : loaded.host.hostname,
                           loaded.policy.use_emulation ? " under emulation" : "");
  return 0;
}

int cmd_host(int argc, char** argv) {
  if (qmd::qmctl::asks_help(argc, argv)) {
    std::cout << "usage: qmctl host [-o text|json] [--config FILE]\n"
                 "                  [--fake-host \"kvm=yes ...\"]\n";
    return 0;
  }
  auto flags = qmd::qmctl::parse_common_flags(argc - 1, argv + 1);
  if (!flags || !flags->file.empty() || !flags->rest.empty() ||
      (flags->output != "args" && flags->output != "json" && flags->output != "text")) {
    std::cerr << "usage: qmctl host [-o text|json] [--config FILE]\n"
                 "                  [--fake-host \"kvm=yes ...\"]\n";
    return 2;
  }
  auto config = qmd::qmctl::config_for(*flags);  // its qemuBinary is what gets probed
  if (!config) {
    print_errors(config.error());
    return 1;
  }
  auto host = qmd::qmctl::host_for(*flags, *config);
  if (!host) {
    std::cerr << "error: --fake-host: " << host.error() << '\n';
    return 1;
  }
  std::cout << (flags->output == "json" ? qmd::policy::host_caps_json(*host)
                                        : qmd::policy::host_caps_text(*host));
  return 0;
}
