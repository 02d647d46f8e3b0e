// accessCredentials: KubeVirt's sshPublicKey with propagationMethod qemuGuestAgent. The
// secret is a local one here (a directory of key files under qmd.yaml's secrets.dir); the
// daemon reads it and the agent writes the keys (vm_access.cpp).
#include <fmt/format.h>

#include <algorithm>

#include "policy/parse_parts.hpp"

namespace qmd::policy::parse_parts {

using yaml::MapReader;

bool is_secret_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      name.front() == '-' || name.back() == '-') {
    return false;
  }
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

namespace {

// A POSIX user name as useradd takes it (what guest-ssh-add-authorized-keys looks up).
bool is_user_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || name.front() == '-') {
    return false;
  }
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

void read_users(MapReader& agent, std::vector<std::string>& out) {
  agent.require("users");
  auto users = agent.take("users");
  if (!users) {
    return;
  }
  if (!users->IsSequence() || users->size() == 0 || users->size() > 32) {
    agent.error_at("users", "must list 1 to 32 guest user names");
    return;
  }
  for (const auto& user : *users) {
    const std::string name = user.IsScalar() ? user.Scalar() : std::string();
    if (!is_user_name(name)) {
      agent.error_at("users", fmt::format("\"{}\" is not a user name: use letters, digits, "
                                          "'_', '-' and '.', at most 32",
                                          name));
      return;
    }
    out.push_back(name);
  }
}

void read_ssh_key(MapReader& ssh, VmSpec::SshKeyCredential& cred) {
  ssh.require("source");
  ssh.read_map("source", [&](MapReader& source) {
    source.require("secret");
    source.read_map("secret", [&](MapReader& secret) {
      secret.require("secretName");
      secret.read("secretName", cred.secret);
      if (!cred.secret.empty() && !is_secret_name(cred.secret)) {
        secret.error_at("secretName",
                        fmt::format("\"{}\" is not a secret name: use lowercase letters, "
                                    "digits, '-' and '.' (a Kubernetes object name)",
                                    cred.secret));
      }
    });
  });
  ssh.require("propagationMethod");
  ssh.read_map("propagationMethod", [&](MapReader& method) {
    bool cloud_init = false;
    for (auto key : {"configDrive", "noCloud"}) {
      cloud_init = cloud_init || method.has(key);
      method.reject(key, "is not supported by qmd: put the keys in the cloud-init volume's "
                         "userData (ssh_authorized_keys), or use qemuGuestAgent: {users: "
                         "[...]}");
    }
    if (!cloud_init) {
      method.require("qemuGuestAgent");
    }
    method.read_map("qemuGuestAgent", [&](MapReader& agent) { read_users(agent, cred.users); });
  });
}

}  // namespace

void read_access_credentials(MapReader& spec, VmSpec& out) {
  spec.read_list("accessCredentials", [&](MapReader& entry, std::size_t) {
    entry.reject("userPassword", "is not supported by qmd yet: set a password with `qmctl "
                                 "guest set-password`");
    if (entry.has("userPassword")) {
      return;
    }
    entry.require("sshPublicKey");
    entry.read_map("sshPublicKey", [&](MapReader& ssh) {
      read_ssh_key(ssh, out.access_credentials.emplace_back());
    });
  });
}

}  // namespace qmd::policy::parse_parts
