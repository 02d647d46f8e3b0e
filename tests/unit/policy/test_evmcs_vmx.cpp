// hyperv.evmcs needs the CPU's vmx flag: KubeVirt requires it (adding the cpu.features entry or
// raising its policy), a vmx the spec turns off is an error naming both fields, and the host
// check treats the added flag like any cpu.features entry, dropping it with evmcs.
#include <doctest/doctest.h>

#include <string>

#include "policy/host_caps.hpp"
#include "policy/parse.hpp"
#include "policy/validate.hpp"

using namespace qmd::policy;

namespace {

// Lines 1-6; what is appended starts at line 7, inside spec.domain (indent 4).
constexpr const char* kHead = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: t}
spec:
  domain:
    memory: {guest: 1Gi}
)";

VmSpec expanded(const std::string& domain) {
  auto spec = parse_spec(kHead + domain, "vm.yaml");
  REQUIRE_MESSAGE(spec.has_value(), (spec ? "" : to_string(spec.error())));
  return apply_defaults(std::move(*spec));
}

std::string warnings_of(const VmSpec& spec) { return to_string(spec.warnings); }

HostCheck host_check(const std::string& domain, const std::string& host_words,
                     RunPolicy::Hyperv hyperv = RunPolicy::Hyperv::strict,
                     bool emulation = false) {
  const auto host = parse_host_caps(host_words);
  REQUIRE_MESSAGE(host.has_value(), (host ? "" : host.error()));
  RunPolicy policy;
  policy.hyperv = hyperv;
  policy.use_emulation = emulation;
  return check_host(expanded(domain), *host, policy);
}

}  // namespace

TEST_CASE("no evmcs adds no vmx") {
  CHECK(expanded("    features: {hyperv: {relaxed: {}}}\n").domain.cpu.features.empty());
  CHECK(expanded("    features: {hyperv: {evmcs: {enabled: false}}}\n")
            .domain.cpu.features.empty());
}

TEST_CASE("evmcs adds vmx with policy require, with a warning at evmcs") {
  const auto spec = expanded("    features: {hyperv: {vapic: {}, evmcs: {}}}\n");
  REQUIRE(spec.domain.cpu.features.size() == 1);
  const auto& vmx = spec.domain.cpu.features[0];
  CHECK(vmx.name == "vmx");
  CHECK(vmx.policy == "require");
  CHECK(vmx.for_evmcs);
  CHECK(warnings_of(spec) ==
        "spec.domain.features.hyperv.evmcs: needs the CPU flag vmx, which the spec does not "
        "list; added spec.domain.cpu.features[0]: {name: vmx, policy: require} as KubeVirt "
        "does (vm.yaml:7:36)\n");
  CHECK(to_string(validate_spec(spec, RunPolicy{})) == "");
  // After the spec's own entries; applying defaults again adds nothing.
  const auto listed = expanded("    cpu: {features: [{name: pcid}]}\n"
                               "    features: {hyperv: {evmcs: {}}}\n");
  REQUIRE(listed.domain.cpu.features.size() == 2);
  CHECK(listed.domain.cpu.features[1].name == "vmx");
  CHECK(apply_defaults(listed).domain.cpu.features.size() == 2);
}

TEST_CASE("a vmx the spec requires or forces is left as it is") {
  for (const std::string policy : {"require", "force"}) {
    const auto spec = expanded("    cpu: {features: [{name: vmx, policy: " + policy + "}]}\n" +
                               "    features: {hyperv: {vapic: {}, evmcs: {}}}\n");
    REQUIRE(spec.domain.cpu.features.size() == 1);
    CHECK(spec.domain.cpu.features[0].policy == policy);
    CHECK_FALSE(spec.domain.cpu.features[0].for_evmcs);
    CHECK(warnings_of(spec) == "");
  }
}

TEST_CASE("an optional vmx is raised to require, with a warning") {
  const auto spec = expanded("    cpu: {features: [{name: vmx, policy: optional}]}\n"
                             "    features: {hyperv: {vapic: {}, evmcs: {}}}\n");
  REQUIRE(spec.domain.cpu.features.size() == 1);
  CHECK(spec.domain.cpu.features[0].policy == "require");
  CHECK(spec.domain.cpu.features[0].for_evmcs);
  CHECK(warnings_of(spec) ==
        "spec.domain.features.hyperv.evmcs: needs the CPU flag vmx; "
        "spec.domain.cpu.features[0] had policy optional, raised to require as KubeVirt does "
        "(vm.yaml:8:36)\n");
}

TEST_CASE("a vmx turned off with evmcs on is an error naming both fields") {
  CHECK(to_string(validate_spec(expanded("    cpu:\n"
                                         "      features:\n"
                                         "      - {name: pcid}\n"
                                         "      - {name: vmx, policy: disable}\n"
                                         "    features: {hyperv: {vapic: {}, evmcs: {}}}\n"),
                                RunPolicy{})) ==
        "spec.domain.features.hyperv.evmcs: needs the CPU flag vmx, which "
        "spec.domain.cpu.features[1] turns off (policy disable, vm.yaml:10:21): remove that "
        "entry or disable evmcs (the enlightened VMCS serves nested virtualization) "
        "(vm.yaml:11:36)\n");
  CHECK(to_string(validate_spec(expanded("    cpu: {features: [{name: vmx, policy: forbid}]}\n"
                                         "    features: {hyperv: {evmcs: {}}}\n"),
                                RunPolicy{})) ==
        "spec.domain.features.hyperv.evmcs: needs the CPU flag vmx, which "
        "spec.domain.cpu.features[0] turns off (policy forbid, vm.yaml:7:34): remove that "
        "entry or disable evmcs (the enlightened VMCS serves nested virtualization) "
        "(vm.yaml:8:25)\n");
  // evmcs off: vmx may be off too.
  CHECK(to_string(validate_spec(expanded("    cpu: {features: [{name: vmx, policy: disable}]}\n"
                                         "    features: {hyperv: {evmcs: {enabled: false}}}\n"),
                                RunPolicy{})) == "");
}

TEST_CASE("the host check: the added vmx needs the host's flag, named at evmcs") {
  const std::string domain = "    features: {hyperv: {vapic: {}, evmcs: {}}}\n";
  CHECK(to_string(host_check(domain, "kvm=yes cpu-flags=skylake").errors) == "");
  CHECK(to_string(host_check(domain, "kvm=yes hostname=amd cpu-flags=svm,lm").errors) ==
        "spec.domain.features.hyperv.evmcs: host \"amd\" has no CPU flag \"vmx\", which evmcs "
        "needs (as spec.domain.cpu.features[0] with policy require): run on an Intel host with "
        "VMX, or remove evmcs (vm.yaml:7:36)\n");
}

TEST_CASE("the host check: evmcs dropped under bestEffort makes its vmx optional") {
  const std::string domain = "    features: {hyperv: {vapic: {}, evmcs: {}}}\n";
  const auto check = host_check(domain, "kvm=yes hostname=amd cpu-flags=svm,lm hyperv=vapic",
                                RunPolicy::Hyperv::best_effort);
  CHECK(to_string(check.errors) == "");
  CHECK(check.dropped_hyperv == std::vector<std::string>{"hv-evmcs"});
  CHECK(check.dropped_cpu_flags == std::vector<std::string>{"vmx"});
  CHECK(check.warnings.back() ==
        "spec.domain.cpu.features[0].name: host \"amd\" has no CPU flag \"vmx\"; evmcs was "
        "dropped, and without it the flag is optional; this leaves it out");
  // A host with vmx keeps it, as KubeVirt's spec would.
  CHECK(host_check(domain, "kvm=yes cpu-flags=skylake hyperv=vapic",
                   RunPolicy::Hyperv::best_effort)
            .dropped_cpu_flags.empty());
}

TEST_CASE("under TCG the vmx evmcs required goes with evmcs") {
  const std::string domain = "    features: {hyperv: {vapic: {}, evmcs: {}}}\n";
  const auto check = host_check(domain, "kvm=no hyperv-tcg=vapic",
                                RunPolicy::Hyperv::best_effort, true);
  CHECK(to_string(check.errors) == "");
  CHECK(check.dropped_cpu_flags == std::vector<std::string>{"vmx"});
  CHECK(check.warnings.back() ==
        "spec.domain.features.hyperv.evmcs: the CPU flags evmcs required (vmx) are left out "
        "with evmcs under TCG");
  // A vmx the spec lists itself stays.
  CHECK(host_check("    cpu: {features: [{name: vmx}]}\n" + domain, "kvm=no hyperv-tcg=vapic",
                   RunPolicy::Hyperv::best_effort, true)
            .dropped_cpu_flags.empty());
}
