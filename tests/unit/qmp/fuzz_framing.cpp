// libFuzzer target for the QMP stream decoder: any bytes, cut anywhere, must give the same
// objects and the same verdict as when fed whole, and never crash, hang or grow unbounded.
// Built and run by scripts/fuzz.sh (`scripts/fuzz.sh 300 fuzz_framing` for five minutes;
// `meson test fuzz-smoke` runs it for 20 s).
#include <algorithm>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "qmp/framing.hpp"

namespace {

// Equal, except that a double may differ in its last bits: Boost.JSON rounds a number with
// more digits than a double holds differently when the number arrives in pieces
// ("88.8888888888888888948888"), and reads "0e010105" as NaN, which never equals itself.
// QEMU never sends either; the framing and the verdicts must still match exactly.
bool same(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() || b.is_double()) {
    if (!a.is_number() || !b.is_number()) {
      return false;
    }
    const double x = a.to_number<double>();
    const double y = b.to_number<double>();
    if (std::isnan(x) || std::isnan(y)) {
      return std::isnan(x) && std::isnan(y);
    }
    if (std::isinf(x) || std::isinf(y)) {  // rounded past the largest double, or just not
      return std::signbit(x) == std::signbit(y) && std::min(std::fabs(x), std::fabs(y)) > 1e307;
    }
    return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) {
      return false;
    }
    auto it = y.begin();
    for (const auto& [key, value] : x) {
      if (key != it->key() || !same(value, it->value())) {
        return false;
      }
      ++it;
    }
    return true;
  }
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) {
      return false;
    }
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same(x[i], y[i])) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  // A small limit so the over-limit path is reached too.
  const std::size_t limit = 64 + data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  qmd::qmp::JsonStreamDecoder whole(limit);
  std::vector<boost::json::object> whole_out;
  const bool whole_failed = whole.feed(bytes, whole_out).has_value();

  qmd::qmp::JsonStreamDecoder pieces(limit);
  std::vector<boost::json::object> pieces_out;
  bool pieces_failed = false;
  const std::size_t step = 1 + data[0] % 7;
  for (std::size_t at = 0; at < bytes.size() && !pieces_failed; at += step) {
    pieces_failed = pieces.feed(bytes.substr(at, step), pieces_out).has_value();
  }
  if (whole_failed != pieces_failed || whole_out.size() != pieces_out.size()) {
    std::abort();
  }
  for (std::size_t i = 0; i < whole_out.size(); ++i) {
    if (!same(whole_out[i], pieces_out[i])) {
      std::abort();
    }
  }
  if (whole.buffered() > limit + 1) {  // one byte past the limit is how it notices
    std::abort();
  }
  return 0;
}
