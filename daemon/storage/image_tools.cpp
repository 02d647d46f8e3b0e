#include "daemon/storage/image_tools.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/launch/child_process.hpp"
#include "daemon/storage/vm_files.hpp"

namespace qmd::daemon::storage {

namespace {

namespace json = boost::json;

constexpr std::size_t kMaxInfoBytes = 1 << 20;

// A source for qemu-img with its format fixed and no backing file followed.
std::string source_spec(int fd, const std::string& format) {
  json::object file{{"driver", "file"}, {"filename", fd_path(fd)}};
  json::object node{{"driver", format}, {"file", std::move(file)}};
  if (format == "qcow2") {
    node["backing"] = nullptr;
  }
  return "json:" + json::serialize(node);
}

std::string read_small(const std::string& path) {
  std::ifstream in(path);
  std::string text(kMaxInfoBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

}  // namespace

std::string qemu_img_beside(const std::string& qemu_binary) {
  const auto sibling = std::filesystem::path(qemu_binary).parent_path() / "qemu-img";
  std::error_code ec;
  return std::filesystem::exists(sibling, ec) ? sibling.string() : std::string("qemu-img");
}

std::string fd_path(int fd) { return fmt::format("/proc/{}/fd/{}", ::getpid(), fd); }

std::expected<void, std::string> refuse_external_data_file(int fd) {
  // qcow2 v3: magic "QFI\xfb", version (be32 at 4), incompatible_features (be64 at 72) whose
  // bit 2 is "external data file".
  unsigned char header[80] = {};
  const ssize_t got = ::pread(fd, header, sizeof header, 0);
  if (got < static_cast<ssize_t>(sizeof header) || header[0] != 'Q' || header[1] != 'F' ||
      header[2] != 'I' || header[3] != 0xfb) {
    return {};
  }
  const std::uint32_t version = (std::uint32_t{header[4]} << 24) |
                                (std::uint32_t{header[5]} << 16) |
                                (std::uint32_t{header[6]} << 8) | std::uint32_t{header[7]};
  if (version >= 3 && (header[79] & 0x04) != 0) {
    return std::unexpected(std::string(
        "it is a qcow2 image with an external data file, which qmd does not open (the file "
        "its header names would be read past the storage roots); convert it to a plain image "
        "first: qemu-img convert -O qcow2 IMAGE NEW"));
  }
  return {};
}

std::expected<ImageInfo, std::string> image_info(int fd, const Tools& tools) {
  if (auto plain = refuse_external_data_file(fd); !plain) {
    return std::unexpected(plain.error());
  }
  const std::string out = tools.log + ".info";
  (void)::unlink(out.c_str());
  auto done = run_to_completion({tools.qemu_img, "info", "-U", "--output=json", fd_path(fd)}, out,
                                tools.quick_timeout);
  const std::string text = read_small(out);
  (void)::unlink(out.c_str());
  if (!done) {
    return std::unexpected(done.error());
  }
  std::error_code ec;
  const json::value parsed = json::parse(text, ec);
  const auto* object = parsed.if_object();
  if (ec || object == nullptr || !object->contains("format") ||
      !object->at("format").is_string() || !object->contains("virtual-size")) {
    return std::unexpected(std::string("qemu-img info gave no format and size"));
  }
  ImageInfo info;
  info.format = std::string(object->at("format").as_string());
  info.virtual_size = object->at("virtual-size").to_number<std::uint64_t>();
  info.has_backing = object->contains("backing-filename");
  return info;
}

std::expected<void, std::string> copy_image(int from, const std::string& from_format, int to,
                                            const std::string& to_format, std::uint64_t size,
                                            const Tools& tools) {
  if (auto plain = refuse_external_data_file(from); !plain) {
    return plain;
  }
  auto made = format_image(to, to_format, size, tools.qemu_img, tools.log, tools.quick_timeout);
  if (!made) {
    return made;
  }
  return run_to_completion({tools.qemu_img, "convert", "-n", "-f", from_format, "-O", to_format,
                            source_spec(from, from_format), fd_path(to)},
                           tools.log, tools.copy_timeout);
}

std::expected<void, std::string> grow_image(int fd, const std::string& format,
                                            std::uint64_t size, const Tools& tools) {
  if (format == "raw") {
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      return std::unexpected(fmt::format("set the size to {} bytes: {}", size,
                                         std::strerror(errno)));
    }
    return {};
  }
  if (auto plain = refuse_external_data_file(fd); !plain) {
    return plain;
  }
  return run_to_completion(
      {tools.qemu_img, "resize", source_spec(fd, "qcow2"), std::to_string(size)}, tools.log,
      tools.quick_timeout);
}

std::expected<void, std::string> hand_over(int fd, const Tools& tools) {
  if (tools.owner && ::fchown(fd, tools.owner->first, tools.owner->second) != 0) {
    return std::unexpected(fmt::format("hand it to {}:{}: {}", tools.owner->first,
                                       tools.owner->second, std::strerror(errno)));
  }
  return {};
}

}  // namespace qmd::daemon::storage
