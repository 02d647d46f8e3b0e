#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/unit/qmp/fuzz_*.cpp) with clang++ and ASan + UBSan, then
# runs each one for a bounded time. A crash, a sanitizer report, a hang past 10 s on one input
# or a target that does not build fails the script; the reproducer is left in
# FUZZ_DIR/TARGET/crash-* (rerun it with `FUZZ_DIR/TARGET/TARGET FILE`).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    # default: 60 s, every target
#
# FUZZ_DIR is $QMD_FUZZ_DIR, or build-fuzz/ at the top of the checkout. Each target keeps its
# corpus there (FUZZ_DIR/TARGET/corpus), so later runs start where earlier ones stopped.
# $CXX_FUZZ picks the compiler (default clang++; clang 14 and libclang_rt.fuzzer here).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
out="${QMD_FUZZ_DIR:-$root/build-fuzz}"
cxx="${CXX_FUZZ:-clang++}"

# The sources each target links besides itself. Boost.JSON is compiled in from its sources (not
# linked as the system library) so its parser is instrumented too.
declare -A sources=(
  [fuzz_framing]="qmp/framing.cpp qmp/error.cpp"
)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=("${!sources[@]}")
fi

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a positive whole number, not '$seconds'" >&2
  exit 2
fi
if ! command -v "$cxx" > /dev/null; then
  echo "fuzz.sh: $cxx not found (install clang)" >&2
  exit 2
fi

flags=(-std=c++2b -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined -I"$root")
mkdir -p "$out"

# obj SOURCE -> prints the instrumented object, rebuilt when SOURCE, a qmp/ header or this
# script is newer.
obj() {
  local src="$1" o="$out/obj/${1//\//_}.o"
  mkdir -p "$out/obj"
  if [[ ! -f "$o" || "$src" -nt "$o" || "$0" -nt "$o" ||
        -n "$(find "$root/qmp" -name '*.hpp' -newer "$o" -print -quit)" ]]; then
    "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$o" >&2
  fi
  echo "$o"
}

echo '#include <boost/json/src.hpp>' > "$out/boost_json_src.cpp.new"
cmp -s "$out/boost_json_src.cpp.new" "$out/boost_json_src.cpp" 2>/dev/null ||
  mv "$out/boost_json_src.cpp.new" "$out/boost_json_src.cpp"
rm -f "$out/boost_json_src.cpp.new"

# Seeds: a byte that picks the decoder's size limit, then what QEMU really sends.
seed() {
  local dir="$1"
  mkdir -p "$dir"
  [[ -n "$(ls -A "$dir")" ]] && return 0
  printf '\x40{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n' > "$dir/greeting"
  printf '\x10{"return": {}, "id": 1}\r\n{"return": {"status": "paused", "running": false}, "id": 2}\r\n' > "$dir/replies"
  printf '\x03{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}\r\n{"error": {"class": "GenericError", "desc": "x"}, "id": 3}\r\n' > "$dir/event_error"
  printf '\x00{"return": [1, 2.5e3, "\\u00e9", null, true, {"a": []}], "id": 4}\r\n' > "$dir/values"
  # Boost.JSON reads the first as NaN and rounds the second differently when cut (false
  # alarms, each found once).
  printf '\x11{"return": 0e010105, "id": 5}\r\n' > "$dir/nan"
  printf '\x11{"return": 88.8888888888888888948888, "id": 6}\r\n' > "$dir/long_double"
}

status=0
for target in "${targets[@]}"; do
  if [[ -z "${sources[$target]+x}" ]]; then
    echo "fuzz.sh: unknown target '$target' (known: ${!sources[*]})" >&2
    exit 2
  fi
  dir="$out/$target"
  mkdir -p "$dir"
  objects=("$(obj "$root/tests/unit/qmp/$target.cpp")" "$(obj "$out/boost_json_src.cpp")")
  for s in ${sources[$target]}; do
    objects+=("$(obj "$root/$s")")
  done
  echo "== $target: building"
  "$cxx" "${flags[@]}" -fsanitize=fuzzer,address,undefined "${objects[@]}" -lfmt \
    -o "$dir/$target"
  seed "$dir/corpus"
  echo "== $target: fuzzing for $seconds s"
  if (cd "$dir" && "./$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 corpus > "$dir/fuzz.log" 2>&1); then
    echo "== $target: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$dir/fuzz.log" |
      grep -Eo '[0-9]+$') inputs, corpus $(ls "$dir/corpus" | wc -l))"
  else
    status=1
    echo "== $target: FAILED; last lines of $dir/fuzz.log:" >&2
    tail -n 40 "$dir/fuzz.log" >&2
    ls "$dir"/crash-* "$dir"/timeout-* "$dir"/leak-* "$dir"/oom-* 2> /dev/null >&2 || true
  fi
done
exit "$status"
