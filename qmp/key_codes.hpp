#pragma once
// Key combinations for QMP send-key: "ctrl-alt-delete", "ctrl-alt-f2", "ret". Each name is one
// of QEMU 7.2's QKeyCode values (query-qmp-schema), or a common alias of one, so a typo is
// refused here, naming the key, instead of by QEMU. Pure.
#include <cstddef>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qmd::qmp {

// Bounds on what one send-keys request may ask for.
inline constexpr std::size_t kMaxKeysPerCombo = 8;
inline constexpr std::size_t kMaxCombos = 64;
inline constexpr std::size_t kMaxComboText = 64;

// One combination: its keys in the order they go down, as QKeyCode names.
struct KeyCombo {
  std::vector<std::string> keys;
};

// "ctrl-alt-delete" -> {ctrl, alt, delete}. Case-insensitive; aliases: control->ctrl,
// del->delete, enter/return->ret, escape->esc, space->spc, win/super->meta_l,
// pageup/pagedown->pgup/pgdn. An unknown name, an empty part, a key twice or more than
// kMaxKeysPerCombo keys is an error naming it.
std::expected<KeyCombo, std::string> parse_key_combo(std::string_view text);

// Every combo of `texts`, or the first error ("keys[2]: ..."); at most kMaxCombos.
std::expected<std::vector<KeyCombo>, std::string> parse_key_combos(
    std::span<const std::string> texts);

// True when `name` is a QKeyCode of QEMU 7.2.
bool is_qkeycode(std::string_view name);

}  // namespace qmd::qmp
