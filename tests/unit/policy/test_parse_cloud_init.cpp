// cloudInitNoCloud / cloudInitConfigDrive: payloads decoded, size-capped at KubeVirt's 2048
// bytes, one source each, secrets named; every error with its field and line:column.
#include <doctest/doctest.h>

#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

std::string vmi(const std::string& volume) {
  return "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: t}\n"
         "spec:\n  domain: {devices: {disks: [{name: ci, cdrom: {}}]}}\n  volumes:\n"
         "  - name: ci\n" +
         volume;
}

std::string errors(const std::string& volume) {
  auto parsed = parse_spec(vmi(volume), "vm.yaml");
  return parsed ? std::string("(ok)") : to_string(parsed.error());
}

Volume parsed_volume(const std::string& volume) {
  auto parsed = parse_spec(vmi(volume), "vm.yaml");
  REQUIRE_MESSAGE(parsed, (parsed ? "" : to_string(parsed.error())));
  REQUIRE(parsed->volumes.size() == 1);
  return parsed->volumes[0];
}

}  // namespace

TEST_CASE("cloud-init: a volume without cloud-init has no payload") {
  auto parsed = parse_spec(
      "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: t}\n"
      "spec:\n  domain: {devices: {disks: [{name: d}]}}\n  volumes:\n"
      "  - {name: d, file: {path: /srv/d.img}}\n",
      "vm.yaml");
  REQUIRE(parsed);
  const auto& ci = parsed->volumes[0].cloud_init;
  CHECK(!ci.user_data);
  CHECK(!ci.network_data);
  CHECK(ci.user_data_secret.empty());
  CHECK(ci.network_data_secret.empty());
}

TEST_CASE("cloud-init: inline, base64 and secret payloads") {
  auto v = parsed_volume("    cloudInitNoCloud:\n      userData: |\n        #cloud-config\n"
                         "        hostname: a\n      networkData: \"version: 2\"\n");
  CHECK(v.kind == VolumeKind::cloud_init_no_cloud);
  CHECK(v.cloud_init.user_data == "#cloud-config\nhostname: a\n");
  CHECK(v.cloud_init.network_data == "version: 2");

  // "#cloud-config\n" and "version: 1\n", base64 (with a line break, as Go's decoder takes).
  v = parsed_volume("    cloudInitConfigDrive:\n      userDataBase64: \"I2Nsb3VkLWNv\\nbmZpZwo=\"\n"
                    "      networkDataBase64: dmVyc2lvbjogMQo=\n");
  CHECK(v.kind == VolumeKind::cloud_init_config_drive);
  CHECK(v.cloud_init.user_data == "#cloud-config\n");
  CHECK(v.cloud_init.network_data == "version: 1\n");

  v = parsed_volume("    cloudInitNoCloud:\n      secretRef: {name: web-userdata}\n"
                    "      networkDataSecretRef: {name: web.net}\n");
  CHECK(!v.cloud_init.user_data);
  CHECK(v.cloud_init.user_data_secret == "web-userdata");
  CHECK(v.cloud_init.network_data_secret == "web.net");

  // Exactly KubeVirt's cap passes; network data alone is enough.
  v = parsed_volume("    cloudInitNoCloud: {userData: \"" + std::string(kCloudInitInlineMax, 'x') +
                    "\"}\n");
  CHECK(v.cloud_init.user_data->size() == kCloudInitInlineMax);
  v = parsed_volume("    cloudInitNoCloud: {networkData: \"version: 2\"}\n");
  CHECK(!v.cloud_init.user_data);
}

TEST_CASE("cloud-init: malformed base64 names the field") {
  CHECK(errors("    cloudInitNoCloud: {userDataBase64: \"I2Nsb3Vk!\"}\n") ==
        "spec.volumes[0].cloudInitNoCloud.userDataBase64: is not base64: the byte 0x21 at "
        "offset 8 is not in its alphabet (A-Z a-z 0-9 + / and = padding) (vm.yaml:8:40)\n");
  CHECK(errors("    cloudInitConfigDrive: {networkDataBase64: \"dmV=c2lv\"}\n") ==
        "spec.volumes[0].cloudInitConfigDrive.networkDataBase64: is not base64: '=' padding in "
        "the middle (offset 3) (vm.yaml:8:47)\n");
  CHECK(errors("    cloudInitNoCloud: {userDataBase64: \"I2Nsb3VkLWNvbmZpZwo\"}\n") ==
        "spec.volumes[0].cloudInitNoCloud.userDataBase64: is not base64: 19 characters is not a "
        "multiple of 4 (is its = padding missing?) (vm.yaml:8:40)\n");
}

TEST_CASE("cloud-init: over KubeVirt's inline cap, two sources, none, a bad secret name") {
  CHECK(errors("    cloudInitNoCloud: {userData: \"" +
               std::string(kCloudInitInlineMax + 1, 'x') + "\"}\n") ==
        "spec.volumes[0].cloudInitNoCloud.userData: user data is 2049 bytes, over the 2048 bytes "
        "KubeVirt allows inline; put it in a local secret (<secrets.dir>/NAME/userdata) and "
        "name it with secretRef: {name: NAME} (vm.yaml:8:34)\n");
  CHECK(errors("    cloudInitNoCloud: {userData: a, secretRef: {name: s}}\n") ==
        "spec.volumes[0].cloudInitNoCloud.secretRef: \"userData\" and \"secretRef\" cannot both "
        "be set: set exactly one of userData, userDataBase64, secretRef (vm.yaml:8:37)\n");
  CHECK(errors("    cloudInitNoCloud: {}\n") ==
        "spec.volumes[0].cloudInitNoCloud: needs user data or network data: userData, "
        "userDataBase64 or secretRef, and/or networkData, networkDataBase64 or "
        "networkDataSecretRef (vm.yaml:8:23)\n");
  CHECK(errors("    cloudInitNoCloud: {networkDataSecretRef: {name: ../etc}}\n") ==
        "spec.volumes[0].cloudInitNoCloud.networkDataSecretRef.name: \"../etc\" is not a secret "
        "name: use lowercase letters, digits, '-' and '.' (a Kubernetes object name) "
        "(vm.yaml:8:53)\n");
  CHECK(errors("    cloudInitNoCloud: {userData: a, userdata: b}\n") ==
        "spec.volumes[0].cloudInitNoCloud.userdata: unknown field \"userdata\" (did you mean "
        "\"userData\"?) (vm.yaml:8:37)\n");
}

TEST_CASE("sysprep: a configMap or a secret, both a local secret's name") {
  auto v = parsed_volume("    sysprep: {configMap: {name: win-answers}}\n");
  CHECK(v.kind == VolumeKind::sysprep);
  CHECK(v.sysprep_secret == "win-answers");
  v = parsed_volume("    sysprep: {secret: {name: win.secret}}\n");
  CHECK(v.sysprep_secret == "win.secret");
  CHECK(errors("    sysprep: {}\n") ==
        "spec.volumes[0].sysprep: set exactly one of configMap, secret (vm.yaml:8:14)\n");
  CHECK(errors("    sysprep: {configMap: {name: a}, secret: {name: b}}\n") ==
        "spec.volumes[0].sysprep.secret: \"configMap\" and \"secret\" cannot both be set: set "
        "exactly one of configMap, secret (vm.yaml:8:37)\n");
  CHECK(errors("    sysprep: {secret: {name: ../x}}\n") ==
        "spec.volumes[0].sysprep.secret.name: \"../x\" is not a secret name: use lowercase "
        "letters, digits, '-' and '.' (a Kubernetes object name) (vm.yaml:8:30)\n");
}
