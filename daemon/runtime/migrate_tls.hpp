#pragma once
// TLS on TCP migrations (migration.tls in the config), as libvirt's --tls does it: QEMU's own
// x509 credentials (a tls-creds-x509 object with verify-peer) added over QMP for the one
// migration and removed afterwards, for the RAM stream and the copyStorage NBD traffic alike.
// QEMU runs as another user and reads the files itself, so it gets a copy in the VM's run
// dir, the private key encrypted with a password made for this one migration, which only
// this QEMU gets (a `secret` object over its QMP socket, the creds' passwordid): the copy is
// of no use to another VM (the QEMU user is the same for all) or to anyone who reads it.
#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/config.hpp"
#include "qmp/client.hpp"

namespace qmd::daemon::migrate_tls {

namespace asio = boost::asio;

inline constexpr const char* kCredsId = "qmd-migrate-tls";  // the QOM id of the creds object
inline constexpr const char* kKeySecretId = "qmd-migrate-tls-key";  // the key's password

enum class Endpoint { server, client };  // destination, source

struct Setup {
  Endpoint endpoint = Endpoint::client;
  std::string config_dir;   // migration.tls.dir: QEMU's file layout (ca-cert.pem, ...)
  std::string private_dir;  // QEMU's copy for this migration, in the VM's run dir
  std::optional<std::pair<uid_t, gid_t>> owner;  // the QEMU user, when qmd is root
  std::string hostname;  // client: the destination's host, its certificate must name it
};

// The files QEMU reads for `endpoint`, in migration.tls.dir.
std::vector<std::string> needed_files(Endpoint endpoint);
// <run dir>/migration-tls
std::string private_dir(const std::string& run_dir);
// The host of a tcp:HOST:PORT URI ("[::1]" without brackets); empty for other URIs.
std::string tcp_host(const std::string& uri);

// TLS for a migration over `uri`: nullopt when this qmd has no migration.tls or the stream
// does not leave the host (unix:).
std::optional<Setup> for_uri(const Config& config, const std::string& run_dir,
                             const std::string& uri, Endpoint endpoint,
                             std::optional<std::pair<uid_t, gid_t>> owner);

// The destination's refusal, in words, before anything starts: TLS asked for and not
// configured here, or configured here and not asked for. nullopt: go ahead.
std::optional<std::string> incoming_refusal(const Config& config, bool source_tls,
                                            bool over_tcp);

// Why migration.tls.dir cannot serve `endpoint` (a file missing, unreadable or empty), in
// words; nullopt when it can or TLS is not configured. For a refusal before anything starts.
std::optional<std::string> unusable(const Config& config, Endpoint endpoint);

// Copies the endpoint's files into private_dir, replacing what is there: the files 0600 and
// the QEMU user's, the directory qmd's (0711 when QEMU runs as another user, else 0700),
// the private key encrypted (PKCS#8) with a new random password, which it returns. The
// error names the missing or unreadable file. store/remove_tree removes it again.
std::expected<std::string, std::string> stage(const Setup& setup);
// stage(), object-add secret (the password) and tls-creds-x509 (passwordid), then
// migrate-set-parameters tls-creds (and, for the client, tls-hostname). Call before migrate / migrate-incoming (and the NBD server/client).
// The staging (a key encryption: PBKDF2, tenths of a second) runs on `pool`.
asio::awaitable<std::expected<void, std::string>> enable(qmp::QmpClient& qmp, const Setup& setup,
                                                         asio::thread_pool& pool);
// Undoes enable() so that a later migration without TLS works: tls-creds "", object-del of
// the creds and the secret (best effort; QEMU may be gone), and the private copy removed.
// Nothing when `private_dir` does not exist (no TLS in this migration).
asio::awaitable<void> disable(qmp::QmpClient& qmp, std::string private_dir);

// The creds id for nbd-server-start/blockdev-add: kCredsId with TLS, "" without.
std::string creds_id(const std::optional<Setup>& setup);
// A QEMU error about the TLS session with what to check added.
std::string explain(const std::string& error, const Setup& setup);

}  // namespace qmd::daemon::migrate_tls
