#include "daemon/network/legacy_tables.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "daemon/network/host_setup.hpp"
#include "daemon/network/nft_rules.hpp"
#include "daemon/network/nft_tables.hpp"

namespace qmd::daemon::network {

namespace json = boost::json;

namespace {

void collect_interfaces(const json::value& value, std::set<std::string>& out) {
  if (const auto* array = value.if_array()) {
    for (const auto& item : *array) {
      collect_interfaces(item, out);
    }
    return;
  }
  const auto* object = value.if_object();
  if (object == nullptr) {
    return;
  }
  // {"match": {"left": {"meta": {"key": "iifname"}}, "right": "qmd0", ...}}
  if (const auto* left = object->if_contains("left"); left && left->is_object()) {
    const auto* meta = left->as_object().if_contains("meta");
    const auto* key = meta && meta->is_object() ? meta->as_object().if_contains("key") : nullptr;
    const auto* right = object->if_contains("right");
    if (key && key->is_string() && (key->as_string() == "iifname" ||
                                    key->as_string() == "oifname") &&
        right && right->is_string() && !right->as_string().starts_with("@")) {
      out.emplace(right->as_string());
    }
  }
  for (const auto& [name, item] : *object) {
    collect_interfaces(item, out);
  }
}

}  // namespace

std::optional<std::set<std::string>> interfaces_named(std::string_view listing) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(listing, ec);
  if (ec) {
    return std::nullopt;
  }
  std::set<std::string> out;
  collect_interfaces(parsed, out);
  return out;
}

bool legacy_tables_nobodys(const std::optional<std::set<std::string>>& named,
                           const std::string& bridge,
                           const std::function<bool(const std::string&)>& interface_exists) {
  if (!named) {
    return false;
  }
  return std::ranges::all_of(*named, [&](const std::string& name) {
    return name == bridge || !interface_exists(name);
  });
}

std::string clear_legacy_tables(const std::string& bridge, const ToolPlaces& places) {
  if (auto dir = make_run_dir(places); !dir) {
    return fmt::format("tables qmd of an older qmd: not looked at: {}", dir.error());
  }
  const bool bridge_table = nft_table_exists("bridge", places, kTemplateTable);
  const bool inet_table = nft_table_exists("inet", places, kTemplateTable);
  if (!inet_table && !bridge_table) {
    return {};
  }
  std::optional<std::set<std::string>> named = std::set<std::string>{};
  if (inet_table) {
    const auto listing = nft_list_table("inet", kTemplateTable, places);
    named = listing ? interfaces_named(*listing) : std::nullopt;
  }
  if (!legacy_tables_nobodys(named, bridge, bridge_exists)) {
    return fmt::format(
        "nftables tables inet/bridge qmd of an older qmd's NAT network on bridge {} are left "
        "alone (that qmd may still run); once it is gone: nft delete table inet qmd; nft "
        "delete table bridge qmd",
        named ? fmt::format("{}", fmt::join(*named, ", ")) : std::string("(unreadable)"));
  }
  std::vector<std::string> failed;
  auto steps = tables_delete_steps();  // written for the template table: these very ones
  const bool there[] = {inet_table, bridge_table};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!there[i]) {
      continue;
    }
    if (auto done = nft_apply(one_command(std::move(steps[i])), places); !done) {
      failed.push_back(done.error());
    }
  }
  if (!failed.empty()) {
    return fmt::format("nftables tables qmd an older qmd left could not be removed: {}",
                       fmt::join(failed, "; "));
  }
  return fmt::format("removed the nftables tables qmd (inet and bridge) an older qmd left{}",
                     named && !named->empty()
                         ? fmt::format(" for bridge {}", fmt::join(*named, ", "))
                         : std::string());
}

}  // namespace qmd::daemon::network
