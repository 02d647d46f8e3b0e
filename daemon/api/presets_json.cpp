// presets_json: the catalog's listing as JSON (see presets_json.hpp).
#include "daemon/api/presets_json.hpp"

#include <boost/json/array.hpp>

namespace qmd::daemon::api {
namespace {

namespace json = boost::json;

json::array errors_json(const policy::SpecErrors& errors) {
  json::array out;
  for (const auto& e : errors) {
    out.push_back(json::value(e.to_string()));
  }
  return out;
}

}  // namespace

json::object presets_json(const policy::PresetCatalog& catalog) {
  json::array presets;
  for (const auto& p : catalog.listing()) {
    json::object entry{{"family", p.family}, {"name", p.name}, {"origin", p.origin}};
    if (!p.kind.empty()) {
      entry["kind"] = p.kind;
    }
    if (p.replaces_builtin) {
      entry["replacesBuiltIn"] = true;
    }
    if (!p.errors.empty()) {
      entry["errors"] = errors_json(p.errors);
    }
    presets.push_back(std::move(entry));
  }
  json::array failed;
  for (const auto& f : catalog.failures()) {
    failed.push_back(json::object{{"file", f.file}, {"errors", errors_json(f.errors)}});
  }
  return json::object{{"presets", std::move(presets)}, {"failedFiles", std::move(failed)}};
}

}  // namespace qmd::daemon::api
