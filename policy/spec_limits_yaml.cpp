// check_yaml_size: counts yaml-cpp's parser events (documents, values) without building
// nodes, and stops at the first bound the text breaks.
#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "policy/spec_limits.hpp"

namespace qmd::policy {

namespace {

Mark mark_of(const YAML::Mark& mark) { return Mark{mark.line + 1, mark.column + 1}; }

// Thrown out of the parser at the first bound broken.
struct Stop {
  SpecError error;
};

class Counter : public YAML::EventHandler {
 public:
  Counter(const std::string& text, const std::string& file, std::size_t max_documents,
          std::size_t max_values)
      : text_(text), file_(file), max_documents_(max_documents), max_values_(max_values) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_ > 0 && mark.pos == last_start_) {
      const char c = mark.pos >= 0 && static_cast<std::size_t>(mark.pos) < text_.size()
                         ? text_[static_cast<std::size_t>(mark.pos)]
                         : '?';
      stop(mark, fmt::format("YAML syntax error: unexpected '{}' where a value should start "
                             "(a ',' separates items only inside [...] or {{...}})",
                             c));
    }
    last_start_ = mark.pos;
    if (++documents_ > max_documents_) {
      stop(mark, fmt::format("the text holds more than {} YAML documents; a spec file holds "
                             "exactly one VM",
                             max_documents_));
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { value(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { value(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    value(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    value(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    value(mark);
  }
  void OnMapEnd() override {}

 private:
  void value(const YAML::Mark& mark) {
    if (++values_ > max_values_) {
      stop(mark, fmt::format("the document holds more than {} values (keys, items and "
                             "scalars); a VM spec needs far fewer",
                             max_values_));
    }
  }
  [[noreturn]] void stop(const YAML::Mark& mark, std::string message) {
    throw Stop{SpecError{"", std::move(message), file_, mark_of(mark)}};
  }

  const std::string& text_;
  const std::string& file_;
  std::size_t max_documents_;
  std::size_t max_values_;
  std::size_t documents_ = 0;
  std::size_t values_ = 0;
  int last_start_ = -1;
};

}  // namespace

std::optional<SpecError> check_yaml_size(const std::string& text, const std::string& file,
                                         std::size_t max_documents, std::size_t max_values) {
  std::istringstream in(text);
  Counter counter(text, file, max_documents, max_values);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(counter)) {
    }
  } catch (const Stop& stop) {
    return stop.error;
  } catch (const YAML::Exception&) {
    return std::nullopt;  // not YAML: the parse says where and why
  }
  return std::nullopt;
}

}  // namespace qmd::policy
