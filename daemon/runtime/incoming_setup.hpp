#pragma once
// What an incoming migration changes in the start sequence (vm_start.cpp): the argv, the VARS
// file, and QEMU's listening side. Implemented in vm_incoming.cpp.
#include <expected>
#include <optional>
#include <string>

#include "cmdline/render.hpp"
#include "daemon/runtime/vm.hpp"
#include "daemon/storage/vm_files.hpp"

namespace qmd::daemon {

// The source's machine type, `-incoming defer`, and no swtpm_setup: the TPM state comes in
// the migration stream (QEMU's tpm-emulator carries swtpm's state blobs).
std::expected<void, OpError> adjust_for_incoming(cmdline::RenderResult& rendered,
                                                 const Vm::IncomingStart& incoming);
// The source's VARS where the renderer would copy the template.
std::expected<void, std::string> write_incoming_nvram(
    const cmdline::RenderResult& rendered, const std::string& bytes,
    const std::optional<storage::FileOwner>& owner);
// Capabilities and parameters both ends need, then migrate-incoming on the URI; the TLS copy
// is staged on `pool`.
asio::awaitable<std::expected<void, std::string>> listen_incoming(
    qmp::QmpClient& qmp, const Vm::IncomingStart& incoming, asio::thread_pool& pool);

}  // namespace qmd::daemon
