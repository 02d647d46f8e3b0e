// readinessProbe / livenessProbe: guestAgentPing and exec with Kubernetes' defaults; network
// handlers and bad bounds refused with the field, its position and what to use instead.
#include <doctest/doctest.h>

#include "policy/parse.hpp"

using namespace qmd::policy;

namespace {

std::string vm(const std::string& probes) {
  return "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n"
         "  template:\n    spec:\n      domain: {devices: {}}\n" +
         probes;
}

std::string errors(const std::string& probes) {
  auto parsed = parse_spec(vm(probes), "vm.yaml");
  return parsed ? std::string("(ok)") : to_string(parsed.error());
}

}  // namespace

TEST_CASE("probes: guestAgentPing and exec, with Kubernetes' defaults") {
  auto parsed = parse_spec(vm("      readinessProbe:\n"
                              "        guestAgentPing: {}\n"
                              "      livenessProbe:\n"
                              "        exec: {command: [cat, /tmp/healthy]}\n"
                              "        initialDelaySeconds: 120\n"
                              "        periodSeconds: 20\n"
                              "        timeoutSeconds: 10\n"
                              "        failureThreshold: 6\n"),
                           "vm.yaml");
  REQUIRE_MESSAGE(parsed, (parsed ? "" : to_string(parsed.error())));
  REQUIRE(parsed->readiness_probe);
  CHECK(parsed->readiness_probe->exec.empty());
  CHECK(parsed->readiness_probe->initial_delay_seconds == 0);
  CHECK(parsed->readiness_probe->timeout_seconds == 1);
  CHECK(parsed->readiness_probe->period_seconds == 10);
  CHECK(parsed->readiness_probe->success_threshold == 1);
  CHECK(parsed->readiness_probe->failure_threshold == 3);
  REQUIRE(parsed->liveness_probe);
  CHECK(parsed->liveness_probe->exec == std::vector<std::string>{"cat", "/tmp/healthy"});
  CHECK(parsed->liveness_probe->initial_delay_seconds == 120);
  CHECK(parsed->liveness_probe->period_seconds == 20);
  CHECK(parsed->liveness_probe->timeout_seconds == 10);
  CHECK(parsed->liveness_probe->failure_threshold == 6);
}

TEST_CASE("probes: what is refused, where, and what to do") {
  CHECK(errors("      readinessProbe:\n"
               "        httpGet: {port: 1500}\n") ==
        "spec.template.spec.readinessProbe.httpGet: needs the guest reachable over its network, "
        "which qmd's user-mode networking does not give; use exec (a command run through the "
        "guest agent) or guestAgentPing (vm.yaml:9:9)\n");
  CHECK(errors("      livenessProbe:\n"
               "        tcpSocket: {port: 22}\n") ==
        "spec.template.spec.livenessProbe.tcpSocket: needs the guest reachable over its network, "
        "which qmd's user-mode networking does not give; use exec (a command run through the "
        "guest agent) or guestAgentPing (vm.yaml:9:9)\n");
  CHECK(errors("      readinessProbe:\n"
               "        periodSeconds: 5\n") ==
        "spec.template.spec.readinessProbe: set exactly one of exec, guestAgentPing "
        "(vm.yaml:9:9)\n");
  CHECK(errors("      readinessProbe:\n"
               "        guestAgentPing: {}\n"
               "        exec: {command: [true]}\n") ==
        "spec.template.spec.readinessProbe.guestAgentPing: \"exec\" and \"guestAgentPing\" "
        "cannot both be set: set exactly one of exec, guestAgentPing (vm.yaml:9:9)\n");
  CHECK(errors("      readinessProbe:\n"
               "        exec: {command: []}\n") ==
        "spec.template.spec.readinessProbe.exec.command: must list the program and its "
        "arguments (1 to 64 strings), e.g. [cat, /tmp/healthy] (vm.yaml:9:25)\n");
  CHECK(errors("      readinessProbe:\n"
               "        exec: {command: [\"\", x]}\n") ==
        "spec.template.spec.readinessProbe.exec.command: the program (the first entry) must "
        "not be empty (vm.yaml:9:25)\n");
  CHECK(errors("      readinessProbe:\n"
               "        guestAgentPing: {}\n"
               "        periodSeconds: 0\n") ==
        "spec.template.spec.readinessProbe.periodSeconds: must be from 1 to 86400, got 0 "
        "(vm.yaml:10:24)\n");
  CHECK(errors("      livenessProbe:\n"
               "        guestAgentPing: {}\n"
               "        successThreshold: 2\n") ==
        "spec.template.spec.livenessProbe.successThreshold: must be 1 for a liveness probe (as "
        "in Kubernetes): one pass shows the guest alive (vm.yaml:10:27)\n");
  CHECK(errors("      livenessProbe:\n"
               "        guestAgentPing: {}\n"
               "        failureThreshold: -1\n") ==
        "spec.template.spec.livenessProbe.failureThreshold: must be from 1 to 10000, got -1 "
        "(vm.yaml:10:27)\n");
}
