#pragma once
// Every error of a spec in one pass: a parse error (an unknown field, a wrong type) does not
// hide the preset and validation errors of the fields that did parse.
#include "policy/parse.hpp"
#include "policy/presets.hpp"
#include "policy/validate.hpp"

namespace qmd::policy {

// The parse errors of `parsed`, then the preset or validation errors of what did parse, in
// document order. A later error at a field the parser refused, inside it, or around it is left
// out: it would only repeat the parse error (a mistyped `guest` is not also "required").
SpecErrors all_errors(const PartialSpec& parsed, const PresetCatalog& catalog,
                      const RunPolicy& policy);

}  // namespace qmd::policy
