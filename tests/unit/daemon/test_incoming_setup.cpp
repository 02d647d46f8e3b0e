// adjust_for_incoming (daemon/runtime/vm_incoming.cpp) on argvs the real renderer makes: the
// source's machine type in -machine, -incoming defer, swtpm_setup dropped (the TPM state comes
// in the stream), the source's TSC frequency pinned; everything else as rendered. Then its
// failure cases on hand-made argvs, and write_incoming_nvram (the source's VARS where the
// renderer copies the template).
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cmdline/render.hpp"
#include "daemon/runtime/incoming_setup.hpp"
#include "policy/parse.hpp"
#include "policy/presets.hpp"
#include "policy/tsc.hpp"
#include "tests/integration/support.hpp"

using qmd::cmdline::FilePrep;
using qmd::cmdline::RenderResult;
using qmd::daemon::adjust_for_incoming;
using qmd::daemon::OpError;
using qmd::daemon::Vm;
using qmd::daemon::write_incoming_nvram;
using Lines = std::vector<std::string>;
using qmd::itest::TempDir;

namespace fs = std::filesystem;

namespace {

// A KVM host with a known TSC frequency: the renderer pins it for a guest that needs it.
constexpr const char* kKvmTscHost = "kvm=yes qemu=7.2.0 memory=256Gi cpus=64 tsc-khz=2400000";

std::string errors_of(const qmd::policy::SpecErrors& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += e.to_string() + "\n";
  }
  return out;
}

// Parses, applies presets and renders `yaml` as qmd does, with `paths` under /run and /var.
RenderResult render_spec(const std::string& yaml, const std::string& host_text,
                         bool emulation = false,
                         std::string run_dir = "", std::string state_dir = "") {
  auto host = qmd::policy::parse_host_caps(host_text);
  REQUIRE_MESSAGE(host.has_value(), (host ? "" : host.error()));
  auto parsed = qmd::policy::parse_spec(yaml, "test.yaml");
  REQUIRE_MESSAGE(parsed.has_value(), (parsed ? "" : errors_of(parsed.error())));
  auto catalog = qmd::policy::PresetCatalog::load("");
  REQUIRE(catalog.has_value());
  auto spec = qmd::policy::apply_presets(*parsed, *catalog);
  REQUIRE_MESSAGE(spec.has_value(), (spec ? "" : errors_of(spec.error())));
  if (run_dir.empty()) {
    run_dir = "/run/qmd/vms/" + spec->name;
    state_dir = "/var/lib/qmd/vms/" + spec->name;
  }
  qmd::cmdline::VmPaths paths{run_dir, state_dir};
  qmd::policy::RunPolicy policy;
  policy.use_emulation = emulation;
  policy.state_dir = paths.state_dir;
  auto rendered = qmd::cmdline::render(*spec, *host, paths, policy);
  REQUIRE_MESSAGE(rendered.has_value(), (rendered ? "" : errors_of(rendered.error())));
  return *rendered;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of the first `flag` option ("" when none or without a value).
std::string value_of(const RenderResult& r, const std::string& flag) {
  for (const auto& option : r.argv.options()) {
    if (option.flag == flag) {
      return option.value.value_or("");
    }
  }
  return "";
}

std::size_t count_of(const RenderResult& r, const std::string& flag) {
  return static_cast<std::size_t>(std::ranges::count_if(
      r.argv.options(), [&](const auto& option) { return option.flag == flag; }));
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// The argv lines without the ones starting with any of `flags` ("-machine ", "-cpu ").
Lines lines_without(const RenderResult& r, const std::vector<std::string>& flags) {
  Lines out;
  for (const auto& line : r.argv.lines()) {
    if (std::ranges::none_of(flags, [&](const auto& f) { return line.starts_with(f + " "); })) {
      out.push_back(line);
    }
  }
  return out;
}

Lines sidecar_names(const RenderResult& r) {
  Lines out;
  for (const auto& s : r.sidecars) {
    out.push_back(s.name + (s.run_once ? " (once)" : ""));
  }
  return out;
}

Lines prepare_lines(const RenderResult& r) {
  Lines out;
  for (const auto& p : r.prepare) {
    out.push_back(std::to_string(static_cast<int>(p.kind)) + " " + p.path + " " + p.source +
                  " " + std::to_string(p.mode));
  }
  return out;
}

std::string example(const std::string& name) {
  return read_text(std::string(QMD_SOURCE_DIR) + "/examples/" + name);
}

// The small Linux guest of the end-to-end tests: kernel boot, ephemeral TPM, TCG.
constexpr const char* kTcgGuestTpm = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: small
spec:
  domain:
    cpu: {cores: 1}
    memory: {guest: 256Mi}
    firmware:
      kernelBoot:
        kernelPath: /srv/guest/vmlinuz
        initrdPath: /srv/guest/initramfs.img
        kernelArgs: "console=ttyS0"
    devices:
      autoattachGraphicsDevice: false
      interfaces: []
      tpm: {}
  networks: []
)";

// EFI with persistent VARS, a persistent TPM, and no Hyper-V: nothing pins the TSC.
constexpr const char* kEfiPersistentTpm = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: efi-tpm
spec:
  domain:
    memory: {guest: 1Gi}
    firmware:
      bootloader:
        efi: {secureBoot: false, persistent: true}
    devices:
      tpm: {persistent: true}
      autoattachGraphicsDevice: false
)";

Vm::IncomingStart incoming(std::string machine_type,
                           std::optional<std::uint64_t> tsc = std::nullopt) {
  Vm::IncomingStart in;
  in.machine_type = std::move(machine_type);
  in.tsc_frequency = tsc;
  in.uri = "unix:/run/qmd/vms/x/migrate.sock";
  return in;
}

}  // namespace

TEST_CASE("incoming: a Windows VM (EFI, persistent TPM, pinned TSC) gets the source's machine "
          "type and TSC, no swtpm_setup, -incoming defer, everything else as rendered") {
  const RenderResult before = render_spec(example("win11-desktop.yaml"), kKvmTscHost);
  RenderResult r = before;
  // What the renderer made: the premise of every check below.
  REQUIRE(value_of(r, "-machine").starts_with("q35,"));
  REQUIRE(value_of(r, "-cpu").find(",tsc-frequency=2400000000") != std::string::npos);
  REQUIRE(sidecar_names(r) == Lines{"swtpm-setup (once)", "swtpm"});
  REQUIRE(std::ranges::any_of(r.prepare, [](const FilePrep& p) {
    return p.kind == FilePrep::Kind::copy_if_missing;
  }));
  REQUIRE(count_of(r, "-incoming") == 0);

  auto adjusted = adjust_for_incoming(r, incoming("pc-q35-7.2", 2000000000ULL));
  REQUIRE_MESSAGE(adjusted.has_value(), (adjusted ? "" : adjusted.error().message));

  // The versioned type in place of the alias, every machine property kept in order.
  const std::string old_machine = value_of(before, "-machine");
  CHECK(value_of(r, "-machine") == "pc-q35-7.2" + old_machine.substr(old_machine.find(',')));
  CHECK(count_of(r, "-machine") == 1);
  // The source's frequency replaces this host's, once; every other CPU property stays.
  const std::string cpu = value_of(r, "-cpu");
  CHECK(qmd::policy::cpu_tsc_frequency(cpu) == 2000000000ULL);
  CHECK(occurrences(cpu, "tsc-frequency=") == 1);
  CHECK(cpu.find("2400000000") == std::string::npos);
  CHECK(cpu == qmd::policy::with_tsc_frequency(
                   value_of(before, "-cpu"), 2000000000ULL));
  CHECK(cpu.find("hv-frequencies") != std::string::npos);
  CHECK(cpu.find("hv-reenlightenment") != std::string::npos);
  // swtpm_setup would manufacture a fresh TPM: the state comes in the stream instead. swtpm
  // itself runs exactly as rendered (QEMU's tpm-emulator needs it to load the blobs into).
  REQUIRE(sidecar_names(r) == Lines{"swtpm"});
  CHECK(r.sidecars[0].argv == before.sidecars[1].argv);
  // QEMU waits for migrate-incoming, as the last option; -S from the base stays.
  REQUIRE(!r.argv.options().empty());
  CHECK(r.argv.options().back().flag == "-incoming");
  CHECK(r.argv.options().back().value == std::optional<std::string>("defer"));
  CHECK(count_of(r, "-incoming") == 1);
  CHECK(count_of(r, "-S") == 1);
  CHECK(r.argv.options().size() == before.argv.options().size() + 1);
  // Nothing else changed: the other options, files to prepare (the VARS copy stays: the
  // source's bytes are written first, so copy_if_missing keeps them), env, taps, binary.
  Lines rest = lines_without(r, {"-machine", "-cpu"});
  rest.pop_back();  // -incoming defer
  CHECK(rest == lines_without(before, {"-machine", "-cpu"}));
  CHECK(prepare_lines(r) == prepare_lines(before));
  CHECK(r.env == before.env);
  CHECK(r.binary == before.binary);
  CHECK(r.taps == before.taps);
  CHECK(r.warnings == before.warnings);
}

TEST_CASE("incoming: EFI with persistent VARS and TPM, nothing pinned: no tsc-frequency added") {
  const RenderResult before = render_spec(kEfiPersistentTpm, kKvmTscHost);
  REQUIRE(sidecar_names(before) == Lines{"swtpm-setup (once)", "swtpm"});
  REQUIRE_FALSE(qmd::policy::cpu_tsc_frequency(
      value_of(before, "-cpu")));
  RenderResult r = before;
  REQUIRE(adjust_for_incoming(r, incoming("pc-q35-7.2")).has_value());
  CHECK(value_of(r, "-machine").starts_with("pc-q35-7.2,"));
  CHECK(value_of(r, "-machine").find("pflash0=pflash0,pflash1=pflash1") != std::string::npos);
  CHECK(value_of(r, "-cpu") == value_of(before, "-cpu"));
  CHECK(value_of(r, "-cpu").find("tsc-frequency") == std::string::npos);
  CHECK(sidecar_names(r) == Lines{"swtpm"});
  CHECK(prepare_lines(r) == prepare_lines(before));
  CHECK(r.argv.lines().back() == "-incoming defer");
}

TEST_CASE("incoming: the e2e guest under TCG with an ephemeral TPM") {
  const RenderResult before = render_spec(kTcgGuestTpm, "kvm=no qemu=7.2.0", true);
  REQUIRE(value_of(before, "-accel") == "tcg");
  // An ephemeral TPM has no swtpm_setup to drop: swtpm stays.
  REQUIRE(sidecar_names(before) == Lines{"swtpm"});

  SUBCASE("the source's machine type") {
    RenderResult r = before;
    REQUIRE(adjust_for_incoming(r, incoming("pc-q35-7.2")).has_value());
    CHECK(value_of(r, "-machine").starts_with("pc-q35-7.2,"));
    CHECK(value_of(r, "-accel") == "tcg");
    CHECK(value_of(r, "-cpu") == value_of(before, "-cpu"));
    CHECK(sidecar_names(r) == Lines{"swtpm"});
    CHECK(r.sidecars[0].argv == before.sidecars[0].argv);
    CHECK(r.argv.lines().back() == "-incoming defer");
    Lines rest = lines_without(r, {"-machine"});
    rest.pop_back();
    CHECK(rest == lines_without(before, {"-machine"}));
  }
  SUBCASE("no machine type from the source: -machine stays as rendered") {
    RenderResult r = before;
    REQUIRE(adjust_for_incoming(r, incoming("")).has_value());
    CHECK(value_of(r, "-machine") == value_of(before, "-machine"));
    CHECK(r.argv.lines().back() == "-incoming defer");
    CHECK(r.argv.options().size() == before.argv.options().size() + 1);
  }
  SUBCASE("a frequency the renderer did not pin is appended to -cpu") {
    RenderResult r = before;
    REQUIRE(adjust_for_incoming(r, incoming("pc-q35-7.2", 2100000000ULL)).has_value());
    CHECK(value_of(r, "-cpu") ==
          value_of(before, "-cpu") + ",tsc-frequency=2100000000");
  }
}

TEST_CASE("incoming: a hand-made argv: the machine value without properties, tsc replaced") {
  RenderResult r;
  r.argv.add("-machine", "q35");
  r.argv.add("-cpu", "host,tsc-frequency=2400000000,kvm=off");
  r.sidecars.push_back({"swtpm-setup", {"/usr/bin/swtpm_setup"}, true, "/x/tpm2-00.permall"});
  r.sidecars.push_back({"swtpm", {"/usr/bin/swtpm", "socket"}, false, ""});
  r.sidecars.push_back({"other-once", {"/bin/true"}, true, ""});
  REQUIRE(adjust_for_incoming(r, incoming("pc-q35-7.1", 1000000000ULL)).has_value());
  CHECK(r.argv.lines() == Lines{"-machine pc-q35-7.1",
                                "-cpu host,tsc-frequency=1000000000,kvm=off",
                                "-incoming defer"});
  // Every run-once sidecar goes, not only swtpm_setup.
  CHECK(sidecar_names(r) == Lines{"swtpm"});
}

TEST_CASE("incoming: refused when the argv lacks what it must change") {
  SUBCASE("a machine type but no -machine") {
    RenderResult r;
    r.argv.add("-cpu", "max");
    auto adjusted = adjust_for_incoming(r, incoming("pc-q35-7.2"));
    REQUIRE_FALSE(adjusted.has_value());
    CHECK(adjusted.error().code == OpError::Code::failed);
    CHECK(adjusted.error().message == "the argv has no -machine");
    CHECK(count_of(r, "-incoming") == 0);
  }
  SUBCASE("a -machine without a value") {
    RenderResult r;
    r.argv.add("-machine");
    auto adjusted = adjust_for_incoming(r, incoming("pc-q35-7.2"));
    REQUIRE_FALSE(adjusted.has_value());
    CHECK(adjusted.error().message == "the argv has no -machine");
  }
  SUBCASE("a TSC frequency but no -cpu") {
    RenderResult r;
    r.argv.add("-machine", "q35,usb=off");
    auto adjusted = adjust_for_incoming(r, incoming("pc-q35-7.2", 2000000000ULL));
    REQUIRE_FALSE(adjusted.has_value());
    CHECK(adjusted.error().code == OpError::Code::failed);
    CHECK(adjusted.error().message == "the argv has no -cpu");
    CHECK(count_of(r, "-incoming") == 0);
  }
  SUBCASE("neither asked for: no -machine or -cpu needed") {
    RenderResult r;
    REQUIRE(adjust_for_incoming(r, incoming("")).has_value());
    CHECK(r.argv.lines() == Lines{"-incoming defer"});
  }
}

TEST_CASE("incoming: the source's VARS are written where the renderer copies the template") {
  TempDir tmp("incoming");
  const std::string run_dir = tmp.path() + "/run/vms/efi-tpm";
  const std::string state_dir = tmp.path() + "/state/vms/efi-tpm";
  const RenderResult r = render_spec(kEfiPersistentTpm, kKvmTscHost, false, run_dir, state_dir);
  const auto copy = std::ranges::find_if(
      r.prepare, [](const FilePrep& p) { return p.kind == FilePrep::Kind::copy_if_missing; });
  REQUIRE(copy != r.prepare.end());
  REQUIRE(copy->path.starts_with(state_dir + "/"));
  REQUIRE_FALSE(fs::exists(fs::path(copy->path).parent_path()));

  const std::string bytes = std::string("VARS\0\x01\xff", 7) + std::string(4096, 'v');
  auto written = write_incoming_nvram(r, bytes, std::nullopt);
  REQUIRE_MESSAGE(written.has_value(), (written ? "" : written.error()));
  CHECK(read_text(copy->path) == bytes);
  struct stat st {};
  REQUIRE(::stat(copy->path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == copy->mode);
  // Written again (a retried migration): replaced whole.
  REQUIRE(write_incoming_nvram(r, "new", std::nullopt).has_value());
  CHECK(read_text(copy->path) == "new");

  SUBCASE("a VM without EFI VARS: refused, nothing written") {
    const RenderResult plain = render_spec(kTcgGuestTpm, "kvm=no qemu=7.2.0", true,
                                           tmp.path() + "/run/vms/small",
                                           tmp.path() + "/state/vms/small");
    auto refused = write_incoming_nvram(plain, bytes, std::nullopt);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().find("has no EFI VARS file") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp.path() + "/state/vms/small"));
  }
}
