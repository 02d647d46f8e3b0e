#include "daemon/storage/image_size.hpp"

#include <fmt/format.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace qmd::daemon::storage {

namespace {

constexpr std::size_t kQcow2SizeOffset = 24;  // QEMU's QCowHeader.size, big-endian u64
constexpr std::array<unsigned char, 4> kQcow2Magic{'Q', 'F', 'I', 0xfb};

std::uint64_t big_endian(const unsigned char* bytes) {
  std::uint64_t out = 0;
  for (int i = 0; i < 8; ++i) {
    out = (out << 8) | bytes[i];
  }
  return out;
}

}  // namespace

bool has_qcow2_magic(int fd) {
  std::array<unsigned char, 4> head{};
  return ::pread(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()) &&
         head == kQcow2Magic;
}

std::expected<std::uint64_t, std::string> image_virtual_size(int fd, std::string_view format) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::unexpected(fmt::format("fstat: {}", std::strerror(errno)));
  }
  if (format == "raw") {
    if (S_ISBLK(st.st_mode)) {
      std::uint64_t bytes = 0;
      if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
        return std::unexpected(fmt::format("its size (BLKGETSIZE64): {}", std::strerror(errno)));
      }
      return bytes;
    }
    return static_cast<std::uint64_t>(st.st_size);
  }
  std::array<unsigned char, kQcow2SizeOffset + 8> header{};
  if (::pread(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
      !std::equal(kQcow2Magic.begin(), kQcow2Magic.end(), header.begin())) {
    return std::unexpected(std::string("it is not a qcow2 image (no qcow2 header)"));
  }
  return big_endian(header.data() + kQcow2SizeOffset);
}

}  // namespace qmd::daemon::storage
