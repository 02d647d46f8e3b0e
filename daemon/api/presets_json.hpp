#pragma once
// The preset catalog as GET /v1/host shows it: each preset with its origin, and each file of
// the preset directory that failed to load, with its errors.
#include <boost/json/object.hpp>

#include "policy/presets.hpp"

namespace qmd::daemon::api {

boost::json::object presets_json(const policy::PresetCatalog& catalog);

}  // namespace qmd::daemon::api
