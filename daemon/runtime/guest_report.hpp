#pragma once
// What `qmctl guest info` reports, as the runtime gathers it from the guest agent: one field
// per agent command, each holding the agent's answer or why there is none (the command is
// disabled or too new for this agent, or the agent refused it). daemon/api turns it into JSON.
#include <optional>
#include <string>
#include <vector>

#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

template <typename T>
struct AgentField {
  std::optional<T> value;
  std::string error;  // set when value is not
};

struct GuestReport {
  qmp::GuestInfo agent;  // version and supported commands
  AgentField<qmp::GuestOsInfo> os;
  AgentField<std::string> hostname;
  AgentField<qmp::GuestTimezone> timezone;
  AgentField<std::vector<qmp::GuestUser>> users;
  AgentField<std::vector<qmp::GuestFilesystem>> filesystems;
  AgentField<std::vector<qmp::GuestNetworkInterface>> interfaces;
  AgentField<qmp::FsFreezeStatus> fsfreeze;
};

}  // namespace qmd::daemon
