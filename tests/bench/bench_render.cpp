// Prints how long parsing + presets + rendering each example takes, and one host probe.
// A benchmark, not a test: it asserts nothing about speed.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cmdline/render.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 2000;
  auto host = qmd::policy::parse_host_caps(
      "kvm=yes memory=256Gi cpus=64 hugepages-2Mi=32768/32768 vhost-net=yes");
  auto catalog = qmd::policy::PresetCatalog::load("");
  if (!host || !catalog) {
    std::fprintf(stderr, "bench: bad fake host or preset catalog\n");
    return 1;
  }
  std::printf("%-22s %12s %12s %8s\n", "example", "parse us", "render us", "options");
  for (const auto& e : fs::directory_iterator(fs::path(QMD_SOURCE_DIR) / "examples")) {
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    qmd::policy::RunPolicy rp;
    rp.state_dir = "/var/lib/qmd/vms/x";
    const qmd::cmdline::VmPaths paths{"/run/qmd/vms/x", "/var/lib/qmd/vms/x"};
    std::size_t options = 0;
    auto t0 = Clock::now();
    for (int i = 0; i < rounds; ++i) {
      auto spec = qmd::policy::parse_spec(text, e.path().filename());
      options += spec.has_value();
    }
    auto t1 = Clock::now();
    auto spec = qmd::policy::apply_presets(*qmd::policy::parse_spec(text, "x"), *catalog);
    for (int i = 0; i < rounds; ++i) {
      auto r = qmd::cmdline::render(*spec, *host, paths, rp);
      options = r ? r->argv.options().size() : 0;
    }
    auto t2 = Clock::now();
    auto us = [&](auto d) {
      return std::chrono::duration<double, std::micro>(d).count() / rounds;
    };
    std::printf("%-22s %12.1f %12.1f %8zu\n", e.path().stem().c_str(), us(t1 - t0), us(t2 - t1),
                options);
  }
  auto p0 = Clock::now();
  auto probed = qmd::policy::probe_host();
  auto p1 = Clock::now();
  std::printf("probe_host: %.0f ms (kvm usable: %s, Hyper-V verdicts: %zu KVM, %zu TCG)\n",
              std::chrono::duration<double, std::milli>(p1 - p0).count(),
              probed.kvm_usable ? "yes" : "no", probed.hyperv.size(), probed.hyperv_tcg.size());
  return 0;
}
