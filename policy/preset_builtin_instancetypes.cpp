// The built-in instancetype series, as KubeVirt's common-instancetypes ships them (the facts
// and where they were read are in tests/unit/policy/test_preset_upstream_facts.cpp).
#include "policy/preset_builtin_table.hpp"

namespace qmd::policy::presets::builtin {
namespace {

// The parts a series' spec is merged from (YAML, flow style).
constexpr std::string_view kPinned =
    "{cpu: {dedicatedCPUPlacement: true, "
    "isolateEmulatorThread: true}}";
constexpr std::string_view kNuma = "{cpu: {numa: {guestMappingPassthrough: {}}}}";
constexpr std::string_view kRealtime = "{cpu: {realtime: {}}}";
constexpr std::string_view kAutoIoThreads = "{ioThreadsPolicy: auto}";
constexpr std::string_view kHuge2Mi = "{memory: {hugepages: {pageSize: 2Mi}}}";
constexpr std::string_view kHuge1Gi = "{memory: {hugepages: {pageSize: 1Gi}}}";
constexpr std::string_view kOvercommit = "{memory: {overcommitPercent: 50}}";
constexpr std::string_view kCrioAnnotations =
    "{annotations: {cpu-load-balancing.crio.io: disable, cpu-quota.crio.io: disable, "
    "irq-load-balancing.crio.io: disable}}";

// u1, o1 and d1 share their sizes.
const std::vector<Size> kUniversalSizes = {
    {"nano", 1, "512Mi"},   {"micro", 1, "1Gi"},     {"small", 1, "2Gi"},
    {"medium", 1, "4Gi"},   {"large", 2, "8Gi"},     {"xlarge", 4, "16Gi"},
    {"2xlarge", 8, "32Gi"}, {"4xlarge", 16, "64Gi"}, {"8xlarge", 32, "128Gi"}};

std::vector<Size> with(std::vector<Size> sizes, std::initializer_list<Size> more) {
  sizes.insert(sizes.end(), more);
  return sizes;
}

const std::vector<Series> kSeries = {
    // u1, universal: shared vCPUs, 1:4 vCPU to memory.
    {"u1", {}, with(kUniversalSizes, {{"2xmedium", 2, "4Gi"}})},
    // o1, overcommitted: u1 with memory overcommitted by half.
    {"o1", {kOvercommit}, kUniversalSizes},
    // cx1, compute exclusive: pinned vCPUs, isolated emulator thread, vNUMA, hugepages.
    {"cx1",
     {kPinned, kNuma, kAutoIoThreads},
     {{"medium", 1, "2Gi", kHuge2Mi},
      {"large", 2, "4Gi", kHuge2Mi},
      {"xlarge", 4, "8Gi", kHuge2Mi},
      {"2xlarge", 8, "16Gi", kHuge2Mi},
      {"4xlarge", 16, "32Gi", kHuge2Mi},
      {"8xlarge", 32, "64Gi", kHuge2Mi},
      {"medium1gi", 1, "2Gi", kHuge1Gi},
      {"large1gi", 2, "4Gi", kHuge1Gi},
      {"xlarge1gi", 4, "8Gi", kHuge1Gi},
      {"2xlarge1gi", 8, "16Gi", kHuge1Gi},
      {"4xlarge1gi", 16, "32Gi", kHuge1Gi},
      {"8xlarge1gi", 32, "64Gi", kHuge1Gi}}},
    // d1, dedicated vCPU: u1's sizes on pinned vCPUs.
    {"d1", {kPinned, kAutoIoThreads}, with(kUniversalSizes, {{"2xmedium", 2, "4Gi"}})},
    // m1, memory intensive: 1:8, hugepages.
    {"m1",
     {kHuge2Mi},
     {{"large", 2, "16Gi"},
      {"xlarge", 4, "32Gi"},
      {"2xlarge", 8, "64Gi"},
      {"4xlarge", 16, "128Gi"},
      {"8xlarge", 32, "256Gi"}}},
    // n1, network (DPDK): pinned vCPUs, 1Gi hugepages, CRI-O tuning annotations.
    {"n1",
     {kPinned, kHuge1Gi, kCrioAnnotations},
     {{"medium", 4, "4Gi"},
      {"large", 4, "8Gi"},
      {"xlarge", 8, "16Gi"},
      {"2xlarge", 16, "32Gi"},
      {"4xlarge", 32, "64Gi"},
      {"8xlarge", 64, "128Gi"}}},
    // rt1, realtime: n1 plus vNUMA and realtime vCPUs.
    {"rt1",
     {kPinned, kNuma, kRealtime, kHuge1Gi, kCrioAnnotations},
     {{"micro", 1, "1Gi"},
      {"small", 1, "2Gi"},
      {"medium", 1, "4Gi"},
      {"large", 2, "8Gi"},
      {"xlarge", 4, "16Gi"},
      {"2xlarge", 8, "32Gi"},
      {"4xlarge", 16, "64Gi"},
      {"8xlarge", 32, "128Gi"}}},
};

}  // namespace

std::span<const Series> series() { return kSeries; }

}  // namespace qmd::policy::presets::builtin
