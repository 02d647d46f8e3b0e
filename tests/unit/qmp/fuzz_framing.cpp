// libFuzzer target for the QMP stream decoder: any bytes, cut anywhere, must give the same
// objects and the same verdict as when fed whole, and never crash, hang or grow unbounded.
// Built and run by scripts/fuzz.sh (`scripts/fuzz.sh 300 fuzz_framing` for five minutes;
// `meson test fuzz-smoke` runs it for 20 s).
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "qmp/framing.hpp"

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
  // Compared as text: Boost.JSON reads "0e999" as NaN (zero times an infinite power), and
  // NaN never equals itself.
  auto text = [](const std::vector<boost::json::object>& objects) {
    std::string all;
    for (const auto& object : objects) {
      all += boost::json::serialize(object) + "\n";
    }
    return all;
  };
  if (whole_failed != pieces_failed || text(whole_out) != text(pieces_out)) {
    std::abort();
  }
  if (whole.buffered() > limit + 1) {  // one byte past the limit is how it notices
    std::abort();
  }
  return 0;
}
