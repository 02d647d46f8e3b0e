#pragma once
// Older qmds named the NAT network's tables `inet qmd` / `bridge qmd` (the template table);
// now every network's are qmd-BRIDGE. Such tables left on the host would go on filtering
// beside the new ones: stale port forwards, guards of taps that are gone. At the NAT
// network's adoption (qmd's start, holding its bridge's lock) they are removed when they are
// nobody's: their rules name this network's own bridge (what an older qmd left of this same
// network), or only bridges no longer there, or `inet qmd` is gone (an older qmd keeps both).
// Tables of an older qmd's network on another bridge that is there are left alone: that qmd
// may still run. The notice says which, and how to remove them by hand.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "daemon/network/host_commands.hpp"

namespace qmd::daemon::network {

// The interfaces the rules of `listing` (`nft -j list table ...`) match by iifname or oifname;
// none when the listing is not JSON (then nothing can be said about whose they are).
std::optional<std::set<std::string>> interfaces_named(std::string_view listing);

// Whether tables `qmd` are nobody's (see above). `named`: interfaces_named() of `inet qmd`,
// an empty set when that table is gone, none when it could not be read: fail closed, an
// older qmd may still run on what an unreadable table names.
bool legacy_tables_nobodys(const std::optional<std::set<std::string>>& named,
                           const std::string& bridge,
                           const std::function<bool(const std::string&)>& interface_exists);

// Blocking (nft, on the pool): removes tables `qmd` when they are nobody's. What it did or
// left, for qmd's log; empty when there were none.
std::string clear_legacy_tables(const std::string& bridge, const ToolPlaces& places);

}  // namespace qmd::daemon::network
