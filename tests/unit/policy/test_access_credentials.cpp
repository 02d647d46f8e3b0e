// accessCredentials: sshPublicKey from a secret through the guest agent; the other forms are
// refused with what to use instead. Exact messages and positions.
#include <doctest/doctest.h>

#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

std::string vm(const std::string& credentials) {
  return "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n"
         "  template:\n    spec:\n      domain: {devices: {}}\n      accessCredentials:\n" +
         credentials;
}

std::string errors(const std::string& credentials) {
  auto parsed = parse_spec(vm(credentials), "vm.yaml");
  return parsed ? std::string("(ok)") : to_string(parsed.error());
}

}  // namespace

TEST_CASE("accessCredentials: sshPublicKey from a secret to the agent's users") {
  auto parsed = parse_spec(vm("      - sshPublicKey:\n"
                              "          source: {secret: {secretName: my-pub-key}}\n"
                              "          propagationMethod:\n"
                              "            qemuGuestAgent: {users: [fedora, root]}\n"
                              "      - sshPublicKey:\n"
                              "          source: {secret: {secretName: ops.keys}}\n"
                              "          propagationMethod: {qemuGuestAgent: {users: [root]}}\n"),
                           "vm.yaml");
  REQUIRE_MESSAGE(parsed, (parsed ? "" : to_string(parsed.error())));
  REQUIRE(parsed->access_credentials.size() == 2);
  CHECK(parsed->access_credentials[0].secret == "my-pub-key");
  CHECK(parsed->access_credentials[0].users == std::vector<std::string>{"fedora", "root"});
  CHECK(parsed->access_credentials[1].secret == "ops.keys");
  CHECK(parsed->access_credentials[1].users == std::vector<std::string>{"root"});
}

TEST_CASE("accessCredentials: what is refused, where, and what to do") {
  CHECK(errors("      - sshPublicKey:\n"
               "          source: {secret: {secretName: ../etc}}\n"
               "          propagationMethod: {qemuGuestAgent: {users: [root]}}\n") ==
        "spec.template.spec.accessCredentials[0].sshPublicKey.source.secret.secretName: "
        "\"../etc\" is not a secret name: use lowercase letters, digits, '-' and '.' (a "
        "Kubernetes object name) (vm.yaml:10:41)\n");
  CHECK(errors("      - sshPublicKey:\n"
               "          source: {secret: {secretName: k}}\n"
               "          propagationMethod: {noCloud: {}}\n") ==
        "spec.template.spec.accessCredentials[0].sshPublicKey.propagationMethod.noCloud: is not "
        "supported by qmd: put the keys in the cloud-init volume's userData "
        "(ssh_authorized_keys), or use qemuGuestAgent: {users: [...]} (vm.yaml:11:31)\n");
  CHECK(errors("      - sshPublicKey:\n"
               "          source: {secret: {secretName: k}}\n"
               "          propagationMethod: {qemuGuestAgent: {users: [\"a b\"]}}\n") ==
        "spec.template.spec.accessCredentials[0].sshPublicKey.propagationMethod.qemuGuestAgent."
        "users: \"a b\" is not a user name: use letters, digits, '_', '-' and '.', at most 32 "
        "(vm.yaml:11:55)\n");
  CHECK(errors("      - sshPublicKey:\n"
               "          source: {secret: {secretName: k}}\n"
               "          propagationMethod: {qemuGuestAgent: {users: []}}\n") ==
        "spec.template.spec.accessCredentials[0].sshPublicKey.propagationMethod.qemuGuestAgent."
        "users: must list 1 to 32 guest user names (vm.yaml:11:55)\n");
  CHECK(errors("      - userPassword:\n"
               "          source: {secret: {secretName: pw}}\n"
               "          propagationMethod: {qemuGuestAgent: {}}\n") ==
        "spec.template.spec.accessCredentials[0].userPassword: is not supported by qmd yet: set "
        "a password with `qmctl guest set-password` (vm.yaml:9:9)\n");
  CHECK(errors("      - sshPublicKey:\n"
               "          propagationMethod: {qemuGuestAgent: {users: [root]}}\n") ==
        "spec.template.spec.accessCredentials[0].sshPublicKey.source: missing required field "
        "\"source\" (vm.yaml:10:11)\n");
}
