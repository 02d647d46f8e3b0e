#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "devices/memory.hpp"
#include "tests/unit/devices/agree.hpp"

using namespace qmd::devices;

TEST_CASE("virtio-mem on plain RAM starts empty") {
  const auto parts = virtio_mem_parts({4ULL << 30, std::nullopt, {"pci.6", "0x0"}, false});
  CHECK(virtio_mem_options(parts) ==
        std::vector<Option>{{"-object", "memory-backend-ram,id=memvmem0,size=4294967296"},
                            {"-device",
                             "virtio-mem-pci,id=vmem0,bus=pci.6,addr=0x0,memdev=memvmem0,node=0,"
                             "block-size=2097152,requested-size=0"}});
  qmd::devices::testing::check_agree(virtio_mem_options(parts)[1], device_add(parts.device),
                                     "driver");
}

TEST_CASE("virtio-mem on 1Gi hugepages uses a hugetlb memfd and 1Gi blocks") {
  const auto parts = virtio_mem_parts({4ULL << 30, 1ULL << 30, {"pci.6", "0x0"}, false});
  CHECK(object_option(parts.backend) ==
        Option{"-object",
               "memory-backend-memfd,id=memvmem0,size=4294967296,hugetlb=on,"
               "hugetlbsize=1073741824"});
  CHECK(parts.device.prop("block-size") == "1073741824");
}

TEST_CASE("resize is a qom-set of requested-size") {
  CHECK(virtio_mem_resize(1ULL << 30) ==
        QmpCall{"qom-set", boost::json::parse(R"({"path":"vmem0","property":"requested-size",
                                                  "value":1073741824})")
                               .as_object()});
}
