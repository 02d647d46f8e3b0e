#include "policy/all_errors.hpp"

#include <algorithm>

namespace qmd::policy {
namespace {

// `inner` is `outer` or a field below it ("a.b" under "a", "a[0]" under "a").
bool within(std::string_view inner, std::string_view outer) {
  if (!inner.starts_with(outer)) {
    return false;
  }
  return inner.size() == outer.size() || inner[outer.size()] == '.' || inner[outer.size()] == '[';
}

bool repeats(const SpecError& later, const SpecErrors& parse_errors) {
  return std::ranges::any_of(parse_errors, [&](const SpecError& p) {
    return !p.path.empty() && (within(later.path, p.path) || within(p.path, later.path));
  });
}

}  // namespace

SpecErrors all_errors(const PartialSpec& parsed, const PresetCatalog& catalog,
                      const RunPolicy& policy) {
  SpecErrors out = parsed.errors;
  if (!parsed.readable) {
    return out;
  }
  auto expanded = apply_presets(parsed.spec, catalog);
  const SpecErrors later =
      expanded ? validate_spec(apply_defaults(*expanded), policy) : expanded.error();
  for (const auto& e : later) {
    if (!repeats(e, parsed.errors)) {
      out.push_back(e);
    }
  }
  // Document order; errors without a position last.
  std::ranges::stable_sort(out, [](const SpecError& a, const SpecError& b) {
    const auto key = [](const SpecError& e) {
      return std::pair(e.mark.line == 0 ? INT32_MAX : e.mark.line, e.mark.column);
    };
    return key(a) < key(b);
  });
  return out;
}

}  // namespace qmd::policy
