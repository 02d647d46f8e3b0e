#pragma once
// Live migration of local disks (copyStorage), as libvirt does it: the destination exports its
// (new, empty) images over NBD while its QEMU waits for the RAM; the source mirrors each disk
// into that export in write-blocking mode (every guest write lands on both sides before it
// completes), migrates the RAM, and at the switchover — guest paused — completes the mirrors
// without pivoting, so the destination's copy holds every write.
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daemon/migration/peer_protocol.hpp"
#include "daemon/runtime/op_error.hpp"
#include "daemon/store/storage_roots.hpp"
#include "policy/spec.hpp"
#include "qmp/client.hpp"

namespace qmd::daemon::storage {

namespace asio = boost::asio;

using CopyDisk = migration::CopyDisk;

// The spec's local file disks (hostDisk, file volumes) with size and format as QEMU has them;
// `paths` maps a source path to the destination's (unmapped: the same path).
asio::awaitable<std::expected<std::vector<CopyDisk>, std::string>> local_disks(
    qmp::QmpClient& qmp, const policy::VmSpec& spec,
    const std::map<std::string, std::string>& paths);
// The definition with those volume paths renamed (yaml-cpp: comments go).
std::expected<std::string, OpError> rename_paths(const std::string& text,
                                                 const std::map<std::string, std::string>& paths);

// --- destination
// Makes each image that does not exist yet, beneath a storage root with O_CREAT|O_EXCL (raw:
// its size; qcow2: qemu-img on the descriptor), handed to uid:gid through that descriptor;
// returns the ones it made, for the clean-up when the migration does not come. An existing
// image beneath a root is kept for the mirror to overwrite; of another size it is an error.
std::expected<std::vector<MadeFile>, std::string> create_images(
    const std::vector<CopyDisk>& disks, std::span<const std::string> roots,
    std::optional<std::pair<uid_t, gid_t>> owner);
// Why one of `disks` may not be made or used here (a path beneath no root, through a link,
// out of its root with ..), naming the disk, path and roots; nullopt when all may.
std::optional<std::string> refuse_paths(const std::vector<CopyDisk>& disks,
                                        std::span<const std::string> roots);
// Removes the images create_images made, where each still stands.
void remove_made_files(std::span<const std::string> roots, const std::vector<MadeFile>& made);
// nbd-server-start on `address` and a
// writable export per disk, named like the disk. `tls_creds`: the migration's TLS creds object
// (migrate_tls), for the NBD traffic too; empty: plaintext.
asio::awaitable<std::expected<void, std::string>> export_disks(qmp::QmpClient& qmp,
                                                               const std::vector<CopyDisk>& disks,
                                                               migration::NbdAddress address,
                                                               std::string tls_creds = {});
asio::awaitable<void> stop_exports(qmp::QmpClient& qmp);

// --- source
// An NBD client node per disk on the destination's server, then blockdev-mirror into it;
// with `tls_creds`, over TLS checked against the server's host.
asio::awaitable<std::expected<void, std::string>> start_mirrors(
    qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks, migration::NbdAddress server,
    std::string tls_creds = {});
struct MirrorState {
  bool ready = false;  // every mirror has caught up (writes now go to both sides)
  std::int64_t done = 0, total = 0;
  std::string error;   // a mirror that failed or vanished
};
asio::awaitable<MirrorState> mirror_state(qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks);
// Guest paused: complete every mirror without pivoting (block-job-cancel on a ready job),
// wait for them to end, drop the NBD nodes.
asio::awaitable<std::expected<void, std::string>> finish_mirrors(
    qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks);
// Failure: cancel what runs, drop the nodes; best effort.
asio::awaitable<void> abandon_mirrors(qmp::QmpClient& qmp, const std::vector<CopyDisk>& disks);

}  // namespace qmd::daemon::storage
