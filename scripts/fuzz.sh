#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/unit/*/fuzz_*.cpp) with clang++ and ASan + UBSan, then
# runs each one for a bounded time under a memory cap (-rss_limit_mb, -malloc_limit_mb: a
# parser that grows without bound is a failure too). A crash, a sanitizer report, a hang past
# 10 s on one input, memory over the cap or a target that does not build fails the script;
# the reproducer is left in FUZZ_DIR/TARGET/crash-* (or oom-*, timeout-*; rerun it with
# `FUZZ_DIR/TARGET/TARGET FILE`).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    # default: 60 s, every target
#
# FUZZ_DIR is $QMD_FUZZ_DIR, or build-fuzz/ at the top of the checkout. Each target keeps its
# corpus there (FUZZ_DIR/TARGET/corpus), so later runs start where earlier ones stopped; its
# seeds are in the tree (tests/unit/*/TARGET_seeds/, read, never written) and go in as well.
# docs/fuzzing.md says what each target covers.
# $CXX_FUZZ picks the compiler (default: clang++-16, else clang++), $FUZZ_JOBS how many
# compile at once (default 2). clang 16 implements what
# libstdc++ 12's <expected> needs but still reports __cpp_concepts 201907, so the macro is
# raised for it; clang 14 cannot build the targets that use std::expected.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
out="${QMD_FUZZ_DIR:-$root/build-fuzz}"
if command -v clang++-16 > /dev/null; then
  cxx="${CXX_FUZZ:-clang++-16}"
else
  cxx="${CXX_FUZZ:-clang++}"
fi

# Each target: its own file first, then the sources it links. Boost.JSON is compiled in from
# its sources (not linked as the system library) so its parser is instrumented too.
qga_sources="qmp/qga_client.cpp qmp/pinned_socket.cpp qmp/qga_commands.cpp qmp/qga_commands_info.cpp
  qmp/qga_commands_admin.cpp qmp/framing.cpp qmp/error.cpp qmp/guest_text.cpp qmp/ready_read.cpp"
qmp_sources="qmp/client.cpp qmp/session.cpp qmp/pinned_socket.cpp qmp/commands.cpp qmp/commands_block.cpp
  qmp/commands_migration.cpp qmp/replies.cpp qmp/framing.cpp qmp/error.cpp qmp/guest_text.cpp
  qmp/ready_read.cpp"
spec_sources="policy/parse.cpp policy/parse_domain.cpp policy/parse_features.cpp
  policy/parse_devices.cpp policy/parse_volumes.cpp policy/parse_data_volumes.cpp policy/claims.cpp policy/parse_cloud_init.cpp policy/parse_access.cpp policy/parse_probes.cpp policy/quantity.cpp
  policy/yaml_reader.cpp
  policy/yaml_reader_scalars.cpp policy/spec_error.cpp policy/source_map.cpp
  policy/spec_limits.cpp policy/spec_limits_yaml.cpp policy/vm_network_cidr.cpp"
http_sources="daemon/api/router.cpp daemon/api/url.cpp daemon/api/body_fields.cpp
  daemon/api/body_limits.cpp daemon/api/http_types.cpp"
declare -A sources=(
  [fuzz_framing]="tests/unit/qmp/fuzz_framing.cpp qmp/framing.cpp qmp/error.cpp qmp/guest_text.cpp"
  [fuzz_qga_reply]="tests/unit/qmp/fuzz_qga_reply.cpp $qga_sources"
  [fuzz_qmp_reply]="tests/unit/qmp/fuzz_qmp_reply.cpp $qmp_sources"
  [fuzz_spec]="tests/unit/policy/fuzz_spec.cpp $spec_sources"
  [fuzz_http_request]="tests/unit/daemon/fuzz_http_request.cpp $http_sources"
)
# Seed folders besides the target's own tests/unit/*/TARGET_seeds/.
declare -A more_seeds=(
  [fuzz_spec]="examples"
)
# Libraries a target links besides fmt (system ones, not instrumented).
declare -A libs=(
  [fuzz_spec]="-lyaml-cpp"
  [fuzz_qmp_reply]="-lspdlog"
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

# spdlog as Debian builds it: a compiled library over the system fmt.
flags=(-std=c++2b -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined -I"$root"
  -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL)
if [[ "$("$cxx" -dumpversion | cut -d. -f1)" -ge 16 ]]; then
  flags+=(-Wno-macro-redefined -Wno-builtin-macro-redefined -D__cpp_concepts=202002L)
fi
mkdir -p "$out"
# Reports name functions and lines when a symbolizer is there.
if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" ]]; then
  for symbolizer in llvm-symbolizer-16 llvm-symbolizer; do
    if command -v "$symbolizer" > /dev/null; then
      export ASAN_SYMBOLIZER_PATH="$(command -v "$symbolizer")"
      break
    fi
  done
fi

# obj SOURCE -> prints the instrumented object, rebuilt when SOURCE, a header of the folders
# the targets use or this script is newer.
obj() {
  local src="$1" o="$out/obj/${1//\//_}.o"
  mkdir -p "$out/obj"
  if [[ ! -f "$o" || "$src" -nt "$o" || "$0" -nt "$o" ||
        -n "$(find "$root/qmp" "$root/policy" "$root/daemon/api" "$root/daemon/runtime" \
              "$root/tests/unit" -name '*.hpp' -newer "$o" -print -quit)" ]]; then
    "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$o" >&2
  fi
  echo "$o"
}

echo '#include <boost/json/src.hpp>' > "$out/boost_json_src.cpp.new"
cmp -s "$out/boost_json_src.cpp.new" "$out/boost_json_src.cpp" 2>/dev/null ||
  mv "$out/boost_json_src.cpp.new" "$out/boost_json_src.cpp"
rm -f "$out/boost_json_src.cpp.new"

# The seed folders of a target: its own in the tree, and any more_seeds.
seed_dirs() {
  local target="$1" dir
  for dir in "$root"/tests/unit/*/"${target}_seeds" ${more_seeds[$target]:-}; do
    [[ "$dir" == /* ]] || dir="$root/$dir"
    if [[ -d "$dir" ]]; then
      echo "$dir"
    fi
  done
}

# Every object the chosen targets need, $FUZZ_JOBS (default 2) compiles at a time.
declare -A wanted=(["$out/boost_json_src.cpp"]=1)
for target in "${targets[@]}"; do
  if [[ -z "${sources[$target]+x}" ]]; then
    echo "fuzz.sh: unknown target '$target' (known: ${!sources[*]})" >&2
    exit 2
  fi
  for s in ${sources[$target]}; do
    wanted["$root/$s"]=1
  done
done
echo "== compiling ${#wanted[@]} sources"
running=()
for src in "${!wanted[@]}"; do
  obj "$src" > /dev/null &
  running+=("$!")
  if [[ ${#running[@]} -ge "${FUZZ_JOBS:-2}" ]]; then
    wait "${running[0]}"
    running=("${running[@]:1}")
  fi
done
for pid in "${running[@]}"; do
  wait "$pid"
done

status=0
for target in "${targets[@]}"; do
  dir="$out/$target"
  mkdir -p "$dir"
  objects=("$(obj "$out/boost_json_src.cpp")")
  for s in ${sources[$target]}; do
    objects+=("$(obj "$root/$s")")
  done
  echo "== $target: building"
  # shellcheck disable=SC2086  # the library list splits on purpose
  "$cxx" "${flags[@]}" -fsanitize=fuzzer,address,undefined "${objects[@]}" -lfmt \
    ${libs[$target]:-} -o "$dir/$target"
  mkdir -p "$dir/corpus"
  mapfile -t seeds < <(seed_dirs "$target")
  echo "== $target: fuzzing for $seconds s"
  # Inputs are at most 4 KiB: a target that needs more than 1 GiB (ASan included), or 256 MiB in one
  # allocation, for one of them grows without bound. `timeout` bounds libFuzzer's own report
  # of such a failure, which can stall.
  if (cd "$dir" && timeout -k 10 $((seconds + 120)) "./$target" -max_total_time="$seconds" \
        -max_len=4096 -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256 -print_final_stats=1 \
        corpus "${seeds[@]}" > "$dir/fuzz.log" 2>&1); then
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
