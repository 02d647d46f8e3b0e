// accessCredentials through the guest agent: each named user's authorized_keys becomes the keys
// of the secrets that name it, when the agent connects and every secrets.syncInterval after
// (only when the keys changed). KubeVirt's qemuGuestAgent propagation, with a local secret.
#include <fmt/format.h>

#include <map>

#include "daemon/runtime/access_keys.hpp"
#include "daemon/async/blocking.hpp"
#include "daemon/runtime/vm.hpp"
#include "qmp/qga_commands.hpp"

namespace qmd::daemon {

namespace {

using UserKeys = std::map<std::string, std::vector<std::string>>;

// user -> the keys of every secret that names that user (one reset write per user, so two
// credentials for one user do not wipe each other).
std::expected<UserKeys, std::string> keys_by_user(
    const std::vector<policy::VmSpec::SshKeyCredential>& credentials, const std::string& dir) {
  UserKeys out;
  for (const auto& credential : credentials) {
    auto keys = read_secret_keys(dir, credential.secret);
    if (!keys) {
      return std::unexpected(keys.error());
    }
    for (const auto& user : credential.users) {
      auto& list = out[user];
      list.insert(list.end(), keys->begin(), keys->end());
    }
  }
  return out;
}

std::string fingerprint(const UserKeys& keys) {
  std::string out;
  for (const auto& [user, list] : keys) {
    out += user + ":" + fmt::format("{}", fmt::join(list, "\n")) + "\n";
  }
  return out;
}

}  // namespace

asio::awaitable<void> Vm::sync_access_keys(std::shared_ptr<Run> run, bool connected_now) {
  AccessKeySync& sync = run->access_keys;
  if (!sync.due(std::chrono::steady_clock::now(), connected_now,
                ctx_.config.secrets_sync_interval)) {
    co_return;
  }
  auto parsed = spec();
  if (!parsed || parsed->access_credentials.empty()) {
    co_return;
  }
  auto read = [credentials = parsed->access_credentials, dir = secrets_dir(ctx_.config)] {
    return keys_by_user(credentials, dir);
  };
  auto keys = co_await run_blocking(ctx_.blocking, std::move(read));
  std::string failure;
  if (!keys) {
    failure = keys.error();
  } else if (const auto print = fingerprint(*keys); sync.needs_push(print, connected_now)) {
    for (const auto& [user, list] : *keys) {
      auto done = co_await qmp::guest_ssh_add_authorized_keys(run->agent, user, list, true);
      if (!done) {
        failure = fmt::format("user {}: {}", user, done.error().to_string());
        break;
      }
    }
    if (failure.empty()) {
      sync.pushed(print);
      std::vector<std::string> users;
      for (const auto& [user, list] : *keys) {
        users.push_back(fmt::format("{} ({} keys)", user, list.size()));
      }
      publish("AccessCredentialsSynced",
              fmt::format("authorized_keys set for {}", fmt::join(users, ", ")));
    }
  }
  if (sync.report(failure)) {
    publish("AccessCredentialsFailed", fmt::format("SSH keys not propagated: {}", failure));
  }
}

}  // namespace qmd::daemon
