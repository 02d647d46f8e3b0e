#include <doctest/doctest.h>

#include <algorithm>

#include "policy/host_caps.hpp"
#include "policy/host_probe_firmware.hpp"

using namespace qmd::policy;

namespace {

HostCaps parsed(const std::string& text) {
  auto caps = parse_host_caps(text);
  INFO(text);
  REQUIRE(caps.has_value());
  return *caps;
}

std::string error_of(const std::string& text) {
  auto caps = parse_host_caps(text);
  return caps ? std::string("no error") : caps.error();
}

// HostCaps has no ==; its JSON is complete, so two hosts are equal when their JSON is.
void check_same(const HostCaps& got, const HostCaps& want) {
  CHECK(host_caps_json(got) == host_caps_json(want));
}

}  // namespace

TEST_CASE("an empty description is the typical KVM host") {
  const HostCaps caps = parsed("");
  CHECK(caps.hostname == "testhost");
  CHECK(caps.kvm_present);
  CHECK(caps.kvm_usable);
  CHECK(caps.kvm_detail.empty());
  CHECK(caps.qemu_version == QemuVersion{7, 2, 0});
  CHECK(caps.cpu_host_usable);
  CHECK(caps.hyperv_probed);
  CHECK(caps.hyperv_probe_cpu == "host");
  CHECK(caps.hyperv.size() == known_hyperv_features().size());
  CHECK(std::ranges::all_of(caps.hyperv, [](const auto& kv) { return kv.second; }));
  CHECK(caps.hyperv_detail.empty());
  CHECK_FALSE(caps.vhost_net);
  CHECK(caps.hugepages.empty());
  CHECK(caps.memory_total == 64ULL << 30);
  CHECK(caps.cpus_online == 16);
  CHECK(caps.machine_types.size() == 61);
  CHECK(caps.machine_types[1] == "pc");
  CHECK(caps.machine_types[33] == "q35");
  CHECK(caps.machine_types[34] == "pc-q35-7.2");
  CHECK(caps.cpu_models.size() == 132);
  CHECK(caps.cpu_models.back() == "max");
  CHECK(caps.ovmf.size() == 3);
  CHECK(caps.swtpm.present);
  CHECK(caps.swtpm.tpm2);
  CHECK(caps.swtpm.path == "/usr/bin/swtpm");
  CHECK(caps.swtpm.setup_path == "/usr/bin/swtpm_setup");
  CHECK_FALSE(caps.sev);
  CHECK_FALSE(caps.sev_snp);
  CHECK_FALSE(caps.tdx);
  CHECK(caps.tsc_khz == 0);
  CHECK_FALSE(caps.tsc_scaling);
}

TEST_CASE("each key changes its field and nothing else") {
  const HostCaps base = parsed("");
  struct Case {
    std::string text;
    void (*edit)(HostCaps&);
  };
  const std::vector<Case> cases{
      {"hostname=h1", [](HostCaps& c) { c.hostname = "h1"; }},
      {"qemu=8.1", [](HostCaps& c) { c.qemu_version = {8, 1, 0}; }},
      {"vhost-net=yes", [](HostCaps& c) { c.vhost_net = true; }},
      {"hugepages-2Mi=1024/1000",
       [](HostCaps& c) { c.hugepages[2ULL << 20] = HugepagePool{1024, 1000}; }},
      {"hugepages-1Gi=8/8", [](HostCaps& c) { c.hugepages[1ULL << 30] = HugepagePool{8, 8}; }},
      {"memory=256Gi", [](HostCaps& c) { c.memory_total = 256ULL << 30; }},
      {"cpus=4", [](HostCaps& c) { c.cpus_online = 4; }},
      {"tsc-khz=2400000", [](HostCaps& c) { c.tsc_khz = 2400000; }},
      {"tsc-scaling=yes", [](HostCaps& c) { c.tsc_scaling = true; }},
      {"ovmf=none", [](HostCaps& c) { c.ovmf.clear(); }},
      {"ovmf=debian", [](HostCaps& c) { c.ovmf = debian_ovmf_images(); }},
      {"swtpm=no", [](HostCaps& c) { c.swtpm = SwtpmCaps{}; }},
      {"sev=yes", [](HostCaps& c) { c.sev = true; }},
      {"snp=yes", [](HostCaps& c) { c.sev_snp = true; }},
      {"tdx=yes", [](HostCaps& c) { c.tdx = true; }},
      {"machines=q35,pc-q35-7.2", [](HostCaps& c) { c.machine_types = {"q35", "pc-q35-7.2"}; }},
      {"cpu-models=EPYC,max", [](HostCaps& c) { c.cpu_models = {"EPYC", "max"}; }},
      {"cpu-host=no",
       [](HostCaps& c) {
         c.cpu_host_usable = false;
         c.cpu_host_detail = "killed by signal 6 (abort): error: failed to set MSR 0x10a to 0x69";
         c.hyperv_probe_cpu = "qemu64";
       }},
      {"kvm=no",
       [](HostCaps& c) {
         c.kvm_present = false;
         c.kvm_usable = false;
         c.kvm_detail = "/dev/kvm does not exist";
         c.cpu_host_usable = false;
         c.hyperv_probed = false;
         c.hyperv_probe_cpu.clear();
         c.hyperv.clear();
       }},
      {"hyperv=none",
       [](HostCaps& c) {
         for (auto& [f, ok] : c.hyperv) {
           ok = false;
           c.hyperv_detail[f] = "refused by the described host";
         }
       }},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    HostCaps want = base;
    c.edit(want);
    check_same(parsed(c.text), want);
  }
}

TEST_CASE("kvm=noperm: /dev/kvm there but closed to us") {
  const HostCaps caps = parsed("kvm=noperm");
  CHECK(caps.kvm_present);
  CHECK_FALSE(caps.kvm_usable);
  CHECK(caps.kvm_detail ==
        "cannot open /dev/kvm: Permission denied; /dev/kvm is 0600 root:root: a QEMU dropped to "
        "an unprivileged uid cannot open it; make it 0660 root:kvm (udev rule: a root qmd gives "
        "each VM's QEMU that group)");
  CHECK_FALSE(caps.hyperv_probed);
}

TEST_CASE("a Hyper-V list accepts a feature only with its dependencies") {
  const HostCaps caps = parsed("hyperv=relaxed,synic,stimer,time,vapic,evmcs");
  std::vector<std::string> accepted;
  for (const auto& f : known_hyperv_features()) {
    if (caps.hyperv.at(f)) {
      accepted.push_back(f);
    }
  }
  CHECK(accepted == std::vector<std::string>{"relaxed", "vapic", "time", "evmcs"});
  CHECK(caps.hyperv_detail.at("synic") == "needs vpindex, which is refused");
  CHECK(caps.hyperv_detail.at("stimer") == "needs synic, which is refused");
  CHECK(caps.hyperv_detail.at("ipi") == "refused by the described host");
}

TEST_CASE("golden-file header lines are accepted as they stand") {
  check_same(parsed("# host: hostname=h1 cpus=4\n# host: memory=8Gi\n"),
             parsed("hostname=h1 cpus=4 memory=8Gi"));
}

TEST_CASE("unknown keys and bad values are errors naming the word") {
  CHECK(error_of("colour=blue") == "unknown host key \"colour\" in \"colour=blue\"");
  CHECK(error_of("kvm") == "\"kvm\" is not key=value");
  CHECK(error_of("kvm=maybe") == "bad value in \"kvm=maybe\": expected yes, no or noperm");
  CHECK(error_of("vhost-net=1") == "bad value in \"vhost-net=1\": expected yes or no");
  CHECK(error_of("tsc-scaling=on") == "bad value in \"tsc-scaling=on\": expected yes or no");
  CHECK(error_of("qemu=seven") == "bad value in \"qemu=seven\": expected a version such as 7.2.0");
  CHECK(error_of("memory=64GB") == "bad value in \"memory=64GB\": expected a size such as 64Gi");
  CHECK(error_of("cpus=0") == "bad value in \"cpus=0\": expected a CPU count such as 16");
  CHECK(error_of("hugepages-2Mi=10") ==
        "bad value in \"hugepages-2Mi=10\": expected TOTAL/FREE pages such as 1024/1024");
  CHECK(error_of("hugepages-2Mi=10/20") ==
        "bad value in \"hugepages-2Mi=10/20\": expected TOTAL/FREE pages such as 1024/1024");
  CHECK(error_of("hugepages-4Mi=1/1") ==
        "unknown host key \"hugepages-4Mi\" in \"hugepages-4Mi=1/1\": hugepage sizes are 2Mi and "
        "1Gi");
  CHECK(error_of("ovmf=fedora") == "bad value in \"ovmf=fedora\": expected debian or none");
  CHECK(error_of("hyperv=relaxed,turbo") ==
        "unknown Hyper-V feature \"turbo\" in \"hyperv=relaxed,turbo\"; known: relaxed,vapic,"
        "spinlocks,vpindex,runtime,synic,time,stimer,stimer-direct,reset,vendor-id,frequencies,"
        "reenlightenment,tlbflush,tlbflush-ext,ipi,evmcs,tlbflush-direct,passthrough,crash");
  CHECK(error_of("kvm=no hyperv=all") ==
        "\"hyperv=all\" needs kvm=yes: without KVM nothing is probed");
}
