// readinessProbe and livenessProbe: KubeVirt's Probe, with the two handlers that need no
// network path to the guest (guestAgentPing, exec through the agent).
#include <fmt/format.h>

#include "policy/parse_parts.hpp"

namespace qmd::policy::parse_parts {

using yaml::MapReader;

namespace {

// Bounds on what a spec may ask the agent to run: the command is sent on every period.
constexpr std::size_t kMaxArgs = 64;
constexpr std::size_t kMaxArgBytes = 4096;
constexpr std::uint32_t kMaxSeconds = 86400;
constexpr std::uint32_t kMaxThreshold = 10000;

void read_exec(MapReader& exec, std::vector<std::string>& out) {
  exec.require("command");
  auto command = exec.take("command");
  if (!command) {
    return;
  }
  if (!command->IsSequence() || command->size() == 0 || command->size() > kMaxArgs) {
    exec.error_at("command", fmt::format("must list the program and its arguments (1 to {} "
                                         "strings), e.g. [cat, /tmp/healthy]",
                                         kMaxArgs));
    return;
  }
  for (const auto& arg : *command) {
    if (!arg.IsScalar() || arg.Scalar().size() > kMaxArgBytes ||
        arg.Scalar().find('\0') != std::string::npos) {
      exec.error_at("command", fmt::format("each argument must be a string of at most {} bytes",
                                           kMaxArgBytes));
      out.clear();
      return;
    }
    out.push_back(arg.Scalar());
  }
  if (out.front().empty()) {
    exec.error_at("command", "the program (the first entry) must not be empty");
    out.clear();
  }
}

// A count of seconds or a threshold in [min, max]; absent leaves `out` at its default.
void read_bounded(MapReader& probe, std::string_view key, std::uint32_t min, std::uint32_t max,
                  std::uint32_t& out) {
  std::optional<std::int64_t> value;
  probe.read(key, value);
  if (!value) {
    return;
  }
  if (*value < min || *value > max) {
    probe.error_at(key, fmt::format("must be from {} to {}, got {}", min, max, *value));
    return;
  }
  out = static_cast<std::uint32_t>(*value);
}

void read_probe(MapReader& probe, bool liveness, Probe& out) {
  constexpr std::string_view kNeedsNetwork =
      "needs the guest reachable over its network, which qmd's user-mode networking does not "
      "give; use exec (a command run through the guest agent) or guestAgentPing";
  probe.reject("httpGet", std::string(kNeedsNetwork));
  probe.reject("tcpSocket", std::string(kNeedsNetwork));
  const bool refused = probe.has("httpGet") || probe.has("tcpSocket");
  const auto handler = probe.one_of({"exec", "guestAgentPing"}, !refused);
  if (handler == 0) {
    probe.read_map("exec", [&](MapReader& exec) { read_exec(exec, out.exec); });
  } else if (handler == 1) {
    probe.read_marker("guestAgentPing");
  }
  read_bounded(probe, "initialDelaySeconds", 0, kMaxSeconds, out.initial_delay_seconds);
  read_bounded(probe, "timeoutSeconds", 1, kMaxSeconds, out.timeout_seconds);
  read_bounded(probe, "periodSeconds", 1, kMaxSeconds, out.period_seconds);
  read_bounded(probe, "successThreshold", 1, kMaxThreshold, out.success_threshold);
  read_bounded(probe, "failureThreshold", 1, kMaxThreshold, out.failure_threshold);
  if (liveness && out.success_threshold != 1) {
    probe.error_at("successThreshold", "must be 1 for a liveness probe (as in Kubernetes): "
                                       "one pass shows the guest alive");
  }
}

}  // namespace

void read_probes(MapReader& spec, VmSpec& out) {
  spec.read_map("readinessProbe", [&](MapReader& probe) {
    read_probe(probe, false, out.readiness_probe.emplace());
  });
  spec.read_map("livenessProbe", [&](MapReader& probe) {
    read_probe(probe, true, out.liveness_probe.emplace());
  });
}

}  // namespace qmd::policy::parse_parts
