#include "qmp/key_codes.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace qmd::qmp {

namespace {

// QEMU 7.2's QKeyCode enum (qapi/ui.json) less "unmapped", in its own order.
constexpr std::array<std::string_view, 149> kQKeyCodes{
    "shift", "shift_r", "alt", "alt_r", "ctrl", "ctrl_r", "menu", "esc", "1", "2", "3", "4",
    "5", "6", "7", "8", "9", "0", "minus", "equal", "backspace", "tab", "q", "w", "e", "r", "t",
    "y", "u", "i", "o", "p", "bracket_left", "bracket_right", "ret", "a", "s", "d", "f", "g",
    "h", "j", "k", "l", "semicolon", "apostrophe", "grave_accent", "backslash", "z", "x", "c",
    "v", "b", "n", "m", "comma", "dot", "slash", "asterisk", "spc", "caps_lock", "f1", "f2",
    "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "num_lock", "scroll_lock", "kp_divide",
    "kp_multiply", "kp_subtract", "kp_add", "kp_enter", "kp_decimal", "sysrq", "kp_0", "kp_1",
    "kp_2", "kp_3", "kp_4", "kp_5", "kp_6", "kp_7", "kp_8", "kp_9", "less", "f11", "f12",
    "print", "home", "pgup", "pgdn", "end", "left", "up", "down", "right", "insert", "delete",
    "stop", "again", "props", "undo", "front", "copy", "open", "paste", "find", "cut", "lf",
    "help", "meta_l", "meta_r", "compose", "pause", "ro", "hiragana", "henkan", "yen",
    "muhenkan", "katakanahiragana", "kp_comma", "kp_equals", "power", "sleep", "wake",
    "audionext", "audioprev", "audiostop", "audioplay", "audiomute", "volumeup", "volumedown",
    "mediaselect", "mail", "calculator", "computer", "ac_home", "ac_back", "ac_forward",
    "ac_refresh", "ac_bookmarks", "lang1", "lang2"};

constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kAliases{{
    {"control", "ctrl"},
    {"del", "delete"},
    {"enter", "ret"},
    {"return", "ret"},
    {"escape", "esc"},
    {"space", "spc"},
    {"win", "meta_l"},
    {"super", "meta_l"},
    {"pageup", "pgup"},
    {"pagedown", "pgdn"},
}};

// Printable and short, for quoting in an error.
std::string shown(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, kMaxComboText)) {
    out += std::isprint(static_cast<unsigned char>(c)) != 0 ? c : '?';
  }
  return text.size() > kMaxComboText ? out + "..." : out;
}

std::expected<std::string, std::string> key_name(std::string_view part) {
  std::string lower;
  for (const char c : part) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (const auto& [alias, name] : kAliases) {
    if (lower == alias) {
      return std::string(name);
    }
  }
  if (is_qkeycode(lower)) {
    return lower;
  }
  return std::unexpected("\"" + shown(part) +
                         "\" is not a key (QEMU's QKeyCode names: ctrl, alt, shift, delete, "
                         "ret, esc, tab, f1..f12, a..z, 0..9, ...)");
}

}  // namespace

bool is_qkeycode(std::string_view name) {
  return std::find(kQKeyCodes.begin(), kQKeyCodes.end(), name) != kQKeyCodes.end();
}

std::expected<KeyCombo, std::string> parse_key_combo(std::string_view text) {
  if (text.empty() || text.size() > kMaxComboText) {
    return std::unexpected("a key combination is 1 to " + std::to_string(kMaxComboText) +
                           " characters, like \"ctrl-alt-delete\"; got \"" + shown(text) + "\"");
  }
  KeyCombo combo;
  for (std::size_t start = 0;;) {
    const std::size_t dash = text.find('-', start);
    const std::string_view part = text.substr(start, dash - start);
    if (part.empty()) {
      return std::unexpected("\"" + shown(text) +
                             "\" has an empty key name (keys are joined by single dashes, "
                             "like ctrl-alt-f2; the minus key is \"minus\")");
    }
    auto name = key_name(part);
    if (!name) {
      return std::unexpected(name.error());
    }
    if (std::find(combo.keys.begin(), combo.keys.end(), *name) != combo.keys.end()) {
      return std::unexpected("\"" + shown(text) + "\" names " + *name + " twice");
    }
    combo.keys.push_back(std::move(*name));
    if (combo.keys.size() > kMaxKeysPerCombo) {
      return std::unexpected("\"" + shown(text) + "\" presses more than " +
                             std::to_string(kMaxKeysPerCombo) + " keys at once");
    }
    if (dash == std::string_view::npos) {
      return combo;
    }
    start = dash + 1;
  }
}

std::expected<std::vector<KeyCombo>, std::string> parse_key_combos(
    std::span<const std::string> texts) {
  if (texts.empty() || texts.size() > kMaxCombos) {
    return std::unexpected("give 1 to " + std::to_string(kMaxCombos) +
                           " key combinations; got " + std::to_string(texts.size()));
  }
  std::vector<KeyCombo> combos;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto combo = parse_key_combo(texts[i]);
    if (!combo) {
      return std::unexpected("keys[" + std::to_string(i) + "]: " + combo.error());
    }
    combos.push_back(std::move(*combo));
  }
  return combos;
}

}  // namespace qmd::qmp
