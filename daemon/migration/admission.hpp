#pragma once
// The destination's admission of an arriving VM, the parts decided from facts alone (pure);
// Registry::admit_incoming (daemon/runtime/registry_incoming.cpp) gathers the facts and adds
// the checks that need this host's config and storage.
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace qmd::daemon::migration {

// The stream comes over a unix socket (the source runs on this host: its boot id is ours),
// not TCP: transport "unix", or "auto" on the same host.
bool stream_over_unix(std::string_view transport, std::string_view source_boot_id,
                      std::string_view this_boot_id);

// A VM of that name here refuses the arrival, unless it is the record of an earlier move away
// from here (state "migrated"): the VM is coming back. `existing_state`: nullopt when none.
std::optional<std::string> name_refusal(std::string_view name,
                                        std::optional<std::string_view> existing_state);

// The source's machine type must be one this host's QEMU has (the same or a newer QEMU).
std::optional<std::string> machine_type_refusal(std::string_view vm, std::string_view machine_type,
                                                std::span<const std::string> host_types);

}  // namespace qmd::daemon::migration
