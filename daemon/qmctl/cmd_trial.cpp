// qmctl trial: parse -> presets -> render -> start QEMU with -S, ask query-status, quit.
// Proves the installed QEMU accepts what qmd renders, without running guest code.
#include <fmt/format.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmdline/render.hpp"
#include "daemon/qmctl/commands.hpp"
#include "daemon/qmctl/pipeline.hpp"
#include "daemon/trial/trial.hpp"

namespace {

namespace fs = std::filesystem;
using namespace qmd;

// Unix socket paths hold at most 107 characters; the longest name under the run dir is
// "/swtpm-ctrl.sock".
constexpr std::size_t kMaxRunDir = 107 - 16;

void usage(std::FILE* out = stderr) {
  std::fprintf(out,
               "usage: qmctl trial FILE [--config FILE] [--emulation]\n"
               "                        [--hyperv strict|best-effort]\n"
               "                        [--run-dir DIR] [--state-dir DIR] [--preset-dir DIR]\n"
               "                        [--fake-host TEXT] [--timeout SECONDS] [--scratch-disks]\n"
               "  --scratch-disks: host-local volumes become fresh sparse images in the run dir\n");
}

struct TrialFlags {
  int timeout_seconds = 60;
  bool scratch_disks = false;
};

// --timeout and --scratch-disks are trial's own; the rest are qmctl's common flags.
std::expected<TrialFlags, std::string> trial_flags(const std::vector<std::string>& rest) {
  TrialFlags out;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == "--scratch-disks") {
      out.scratch_disks = true;
      continue;
    }
    if (rest[i] != "--timeout") {
      return std::unexpected(fmt::format("unknown argument \"{}\"", rest[i]));
    }
    if (i + 1 >= rest.size()) {
      return std::unexpected("--timeout needs a value");
    }
    const std::string& text = rest[++i];
    char* end = nullptr;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || value <= 0 || value > 3600) {
      return std::unexpected(fmt::format("--timeout wants 1..3600 seconds, not \"{}\"", text));
    }
    out.timeout_seconds = static_cast<int>(value);
  }
  return out;
}

// A trial of a spec whose disks live on a real host (/var/lib/...) should not create or
// open them: each host-local volume becomes a sparse raw image in the run dir instead.
void use_scratch_disks(policy::VmSpec& spec, const std::string& run_dir) {
  constexpr std::uint64_t kDefaultCapacity = 1ull << 30;
  for (auto& volume : spec.volumes) {
    using Kind = policy::VolumeKind;
    if (volume.kind != Kind::host_disk && volume.kind != Kind::file && volume.kind != Kind::block) {
      continue;
    }
    volume.kind = Kind::host_disk;
    volume.path = fmt::format("{}/disks/{}.img", run_dir, volume.name);
    volume.format.reset();
    volume.host_disk_type = "DiskOrCreate";
    volume.capacity = volume.capacity.value_or(kDefaultCapacity);
  }
}

// A fresh, short run directory removed when the command ends.
class TempRunDir {
 public:
  TempRunDir() {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    std::string base = (runtime != nullptr && *runtime != '\0') ? runtime : "/tmp";
    if (base.size() + 20 > kMaxRunDir) {
      base = "/tmp";
    }
    std::string pattern = base + "/qmd-trial-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  ~TempRunDir() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  TempRunDir(const TempRunDir&) = delete;
  TempRunDir& operator=(const TempRunDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int fail(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

}  // namespace

int cmd_trial(int argc, char** argv) {
  // argv[0] is "trial".
  if (qmctl::asks_help(argc, argv)) {
    usage(stdout);
    return 0;
  }
  auto flags = qmctl::parse_common_flags(argc - 1, argv + 1);
  if (!flags) {
    std::fprintf(stderr, "qmctl trial: %s\n", flags.error().c_str());
    usage();
    return 2;
  }
  const auto own = trial_flags(flags->rest);
  if (!own || flags->file.empty()) {
    std::fprintf(stderr, "qmctl trial: %s\n", own ? "FILE is missing" : own.error().c_str());
    usage();
    return 2;
  }

  std::optional<TempRunDir> temp;  // only without --run-dir
  if (flags->run_dir.empty()) {
    temp.emplace();
    if (temp->path().empty()) {
      return fail("cannot create a temporary run directory (set --run-dir)");
    }
    flags->run_dir = temp->path();
  } else {
    std::error_code ec;
    fs::create_directories(flags->run_dir, ec);
    if (ec) {
      return fail(fmt::format("--run-dir {}: {}", flags->run_dir, ec.message()));
    }
  }
  if (flags->run_dir.size() > kMaxRunDir) {
    return fail(fmt::format("--run-dir {} is too long for unix sockets (at most {} characters)",
                            flags->run_dir, kMaxRunDir));
  }
  // Without --state-dir, persistent VARS/TPM state lives in the run dir and goes with it:
  // a trial never touches a real VM's state.
  if (flags->state_dir.empty()) {
    flags->state_dir = flags->run_dir + "/state";
  }

  std::printf("load: %s (parse, presets, %s)\n", flags->file.c_str(),
              flags->host_text.empty() ? "probe host" : "fake host");
  auto loaded = qmctl::load(*flags);
  if (!loaded) {
    return fail(policy::to_string(loaded.error()));
  }
  if (own->scratch_disks) {
    use_scratch_disks(loaded->spec, loaded->paths.run_dir);
    std::printf("scratch disks: host-local volumes become images under %s/disks\n",
                loaded->paths.run_dir.c_str());
  }
  // A trial has no qmd to make the NAT network's taps: masquerade stays user-mode here.
  loaded->policy.masquerade_nat = false;
  std::printf("render: %s under %s\n", loaded->spec.name.c_str(),
              loaded->policy.use_emulation ? "emulation (TCG)" : "KVM");
  auto rendered = cmdline::render(loaded->spec, loaded->host, loaded->paths, loaded->policy);
  if (!rendered) {
    return fail(policy::to_string(rendered.error()));
  }
  for (const auto& warning : rendered->warnings) {
    std::printf("warning: %s\n", warning.c_str());
  }

  std::printf("trial: run dir %s, state dir %s\n", loaded->paths.run_dir.c_str(),
              loaded->paths.state_dir.c_str());
  const auto result =
      trial::trial_start(*rendered, loaded->paths, std::chrono::seconds(own->timeout_seconds),
                         [](const std::string& step) { std::printf("  %s\n", step.c_str()); });
  if (!result.ok) {
    return fail(fmt::format("VM {} not accepted: {}", loaded->spec.name, result.error));
  }
  std::printf("ok: VM %s accepted by QEMU %s (status %s)\n", loaded->spec.name.c_str(),
              result.qemu_version.c_str(), result.status.c_str());
  return 0;
}
