// KubeVirt domain fields with a meaning on one host: features.pvspinlock, cpu.features (with
// the host's CPU flags) and devices.video. Each refusal with its exact message and position.
#include <doctest/doctest.h>

#include <string>

#include "policy/host_caps.hpp"
#include "policy/host_cpu_flags.hpp"
#include "policy/parse.hpp"
#include "policy/validate.hpp"

using namespace qmd::policy;

namespace {

// Lines 1-5; what is appended starts at line 6, inside spec.domain (indent 4).
constexpr const char* kHead = R"(apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: t}
spec:
  domain:
    memory: {guest: 1Gi}
)";

VmSpec parsed(const std::string& domain) {
  auto spec = parse_spec(kHead + domain, "vm.yaml");
  REQUIRE_MESSAGE(spec.has_value(), to_string(spec.error()));
  return apply_defaults(std::move(*spec));
}

std::string errors_of(const std::string& domain) {
  return to_string(validate_spec(parsed(domain), RunPolicy{}));
}

HostCheck host_check(const std::string& domain, const std::string& host_words = "kvm=yes",
                     bool emulation = false) {
  const auto host = parse_host_caps(host_words);
  REQUIRE(host.has_value());
  RunPolicy policy;
  policy.use_emulation = emulation;
  return check_host(parsed(domain), *host, policy);
}

}  // namespace

TEST_CASE("features.pvspinlock and cpu.features parse into the model") {
  const auto spec = parsed(
      "    features:\n"
      "      pvspinlock: {enabled: false}\n"
      "    cpu:\n"
      "      features:\n"
      "      - name: vmx\n"
      "      - {name: pcid, policy: disable}\n");
  REQUIRE(spec.domain.features.pvspinlock.has_value());
  CHECK(spec.domain.features.pvspinlock->enabled == false);
  REQUIRE(spec.domain.cpu.features.size() == 2);
  CHECK(spec.domain.cpu.features[0].name == "vmx");
  CHECK_FALSE(spec.domain.cpu.features[0].policy.has_value());
  CHECK(spec.domain.cpu.features[1].policy == "disable");
  CHECK(errors_of("    features: {pvspinlock: {}}\n") == "");
}

TEST_CASE("absent fields add nothing to the model") {
  const auto spec = parsed("");
  CHECK_FALSE(spec.domain.features.pvspinlock.has_value());
  CHECK(spec.domain.cpu.features.empty());
  CHECK_FALSE(spec.domain.devices.video_type.has_value());
}

TEST_CASE("cpu.features: an unknown policy, a bad name, a repeat and a missing name") {
  CHECK(errors_of("    cpu:\n"
                  "      features:\n"
                  "      - {name: vmx, policy: prefer}\n"
                  "      - {name: 'avx,kvm=on'}\n"
                  "      - {name: VMX, policy: disable}\n") ==
        "spec.domain.cpu.features[0].policy: \"prefer\" is not one of force, require, "
        "optional, disable, forbid (vm.yaml:9:21)\n"
        "spec.domain.cpu.features[1].name: \"avx,kvm=on\" is not a CPU flag name: use the "
        "flag's lowercase name as QEMU and libvirt spell it, such as vmx, pcid or sse4.1 "
        "(vm.yaml:10:10)\n"
        "spec.domain.cpu.features[2].name: \"VMX\" is not a CPU flag name: use the flag's "
        "lowercase name as QEMU and libvirt spell it, such as vmx, pcid or sse4.1 "
        "(vm.yaml:11:10)\n");
  CHECK(errors_of("    cpu:\n"
                  "      features:\n"
                  "      - name: lahf_lm\n"
                  "      - name: lahf-lm\n") ==
        "spec.domain.cpu.features[1].name: \"lahf-lm\" is already listed as features[0]: keep "
        "one entry per flag (vm.yaml:10:9)\n");
  auto missing = parse_spec(std::string(kHead) + "    cpu: {features: [{policy: require}]}\n",
                            "vm.yaml");
  REQUIRE_FALSE(missing.has_value());
  CHECK(to_string(missing.error()) ==
        "spec.domain.cpu.features[0].name: missing required field \"name\" (vm.yaml:7:22)\n");
}

TEST_CASE("devices.video: an unknown type, and a type without a graphics device") {
  CHECK(errors_of("    devices:\n      video: {type: cirrus}\n") ==
        "spec.domain.devices.video.type: \"cirrus\" is not one of vga, virtio, bochs, ramfb "
        "(vm.yaml:8:15)\n");
  CHECK(errors_of("    devices:\n"
                  "      autoattachGraphicsDevice: false\n"
                  "      video: {type: virtio}\n") ==
        "spec.domain.devices.video: sets the graphics device's type, but "
        "autoattachGraphicsDevice is false: remove devices.video or set "
        "autoattachGraphicsDevice to true (vm.yaml:9:7)\n");
  CHECK(parsed("    devices: {video: {type: bochs}}\n").domain.devices.video_type == "bochs");
}

TEST_CASE("cpu.features against the host: require needs the flag, forbid refuses it") {
  const auto check = host_check("    cpu:\n"
                                "      features:\n"
                                "      - name: svm\n"
                                "      - {name: vmx, policy: forbid}\n"
                                "      - {name: pcid, policy: require}\n"
                                "      - {name: hypervisor}\n");
  CHECK(to_string(check.errors) ==
        "spec.domain.cpu.features[0].name: host \"testhost\" has no CPU flag \"svm\", which "
        "policy require needs: run on a host that has it, or use policy optional (on where the "
        "host has it) or force (vm.yaml:9:9)\n"
        "spec.domain.cpu.features[1].name: host \"testhost\" has the CPU flag \"vmx\", which "
        "policy forbid refuses: use policy disable to hide it from the guest on this host "
        "(vm.yaml:10:10)\n");
  CHECK(check.dropped_cpu_flags.empty());
}

TEST_CASE("cpu.features against the host: optional flags it lacks are left out, with a warning") {
  const auto check = host_check("    cpu:\n"
                                "      features:\n"
                                "      - {name: svm, policy: optional}\n"
                                "      - {name: sse4.1, policy: optional}\n"
                                "      - {name: avx512-vnni, policy: force}\n"
                                "      - {name: rdrand, policy: disable}\n");
  CHECK(to_string(check.errors) == "");
  CHECK(check.dropped_cpu_flags == std::vector<std::string>{"svm"});
  CHECK(check.warnings == std::vector<std::string>{
                              "spec.domain.cpu.features[0].name: host \"testhost\" has no CPU "
                              "flag \"svm\"; policy optional leaves it out"});
}

TEST_CASE("cpu.features are not checked under emulation or where the flags are unknown") {
  const std::string domain = "    cpu: {features: [{name: svm}]}\n";
  CHECK(host_check(domain, "kvm=no", true).errors.empty());
  CHECK(host_check(domain, "kvm=yes cpu-flags=none").errors.empty());
  CHECK(to_string(host_check(domain, "kvm=yes hostname=amd cpu-flags=svm,lm").errors) == "");
}

TEST_CASE("host CPU flags: /proc/cpuinfo text and the names that differ from QEMU's") {
  CHECK(parse_cpuinfo_flags("processor\t: 0\nflags\t\t: fpu vme pni lahf_lm\nbugs\t: x\n"
                            "flags\t\t: other\n") ==
        std::vector<std::string>{"fpu", "vme", "pni", "lahf_lm"});
  CHECK(parse_cpuinfo_flags("processor\t: 0\n").empty());
  CHECK(canonical_cpu_flag("LAHF_LM") == "lahf-lm");
  CHECK(canonical_cpu_flag("pni") == "sse3");
  CHECK(canonical_cpu_flag("sse4_1") == "sse4.1");
  CHECK(canonical_cpu_flag("tsc_deadline_timer") == "tsc-deadline");
  const std::vector<std::string> host{"pni", "sse4_2", "constant_tsc", "nonstop_tsc"};
  CHECK(host_has_cpu_flag(host, "sse3"));
  CHECK(host_has_cpu_flag(host, "sse4.2"));
  CHECK(host_has_cpu_flag(host, "invtsc"));
  CHECK(host_has_cpu_flag(host, "x2apic"));  // KVM emulates it
  CHECK(host_has_cpu_flag(host, "kvm-pv-unhalt"));
  CHECK_FALSE(host_has_cpu_flag(host, "vmx"));
  CHECK_FALSE(host_has_cpu_flag({"constant_tsc"}, "invtsc"));
}

TEST_CASE("startStrategy: Paused is the one value; anything else names the field") {
  const std::string head = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\n"
                           "metadata: {name: t}\nspec:\n  domain: {memory: {guest: 1Gi}}\n";
  auto paused = parse_spec(head + "  startStrategy: Paused\n", "vm.yaml");
  REQUIRE(paused.has_value());
  CHECK(paused->start_paused);
  auto unset = parse_spec(head, "vm.yaml");
  REQUIRE(unset.has_value());
  CHECK_FALSE(unset->start_paused);
  auto bad = parse_spec(head + "  startStrategy: Running\n", "vm.yaml");
  REQUIRE_FALSE(bad.has_value());
  CHECK(to_string(bad.error()) ==
        "spec.startStrategy: \"Running\" is not a start strategy: KubeVirt's one is Paused (the "
        "VM starts with its vCPUs stopped until resumed); remove the field to start it running "
        "(vm.yaml:6:18)\n");
}

TEST_CASE("hostname and subdomain: DNS labels; the hostname defaults to the VM's name") {
  const std::string head = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\n"
                           "metadata: {name: web1}\nspec:\n  template:\n    spec:\n"
                           "      domain: {memory: {guest: 1Gi}}\n";
  auto named = parse_spec(head + "      hostname: db-0\n      subdomain: backend\n", "vm.yaml");
  REQUIRE(named.has_value());
  CHECK(named->hostname == "db-0");
  CHECK(named->subdomain == "backend");
  CHECK(guest_hostname(*named) == "db-0");
  auto unset = parse_spec(head, "vm.yaml");
  REQUIRE(unset.has_value());
  CHECK_FALSE(unset->subdomain.has_value());
  CHECK(guest_hostname(*unset) == "web1");

  auto bad = parse_spec(head + "      hostname: Web_1\n      subdomain: " +
                            std::string(64, 'a') + "\n",
                        "vm.yaml");
  REQUIRE_FALSE(bad.has_value());
  CHECK(to_string(bad.error()) ==
        "spec.template.spec.hostname: \"Web_1\" is not a valid hostname: use at most 63 "
        "lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS "
        "label, as KubeVirt requires) (vm.yaml:8:17)\n"
        "spec.template.spec.subdomain: \"" +
            std::string(64, 'a') +
            "\" is not a valid subdomain: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (a DNS label, as KubeVirt requires) "
            "(vm.yaml:9:18)\n");
  auto dash = parse_spec(head + "      hostname: -web\n      subdomain: a.b\n", "vm.yaml");
  REQUIRE_FALSE(dash.has_value());
  CHECK(dash.error().size() == 2);
  CHECK(parse_spec(head + "      hostname: " + std::string(63, 'h') + "\n", "vm.yaml"));
}
