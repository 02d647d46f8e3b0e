#include "daemon/runtime/access_keys.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon {

namespace {

constexpr std::array<std::string_view, 8> kKeyTypes = {
    "ssh-ed25519",         "ssh-rsa",
    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss"};

std::expected<std::string, std::string> read_bounded(int fd, const std::string& shown) {
  std::string text;
  std::array<char, 8192> buffer{};
  for (;;) {
    const auto n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      return std::unexpected(fmt::format("reading {}: {}", shown, std::strerror(errno)));
    }
    if (n == 0) {
      return text;
    }
    text.append(buffer.data(), static_cast<std::size_t>(n));
    if (text.size() > kMaxKeyFileBytes) {
      return std::unexpected(fmt::format("{} is over {} KiB: a key file holds public keys only",
                                         shown, kMaxKeyFileBytes / 1024));
    }
  }
}

// The keys in one file's text, appended to `out`.
std::expected<void, std::string> take_keys(const std::string& text, const std::string& shown,
                                           std::vector<std::string>& out) {
  std::size_t number = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = std::min(text.find('\n', at), text.size());
    std::string line = text.substr(at, end - at);
    at = end + 1;
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.pop_back();
    }
    if (line.empty() || line.starts_with('#')) {
      continue;
    }
    if (!is_public_key_line(line)) {
      return std::unexpected(fmt::format("{}:{} is not an OpenSSH public key line (TYPE BASE64 "
                                         "[COMMENT], such as the .pub file ssh-keygen writes)",
                                         shown, number));
    }
    if (out.size() == kMaxKeys) {
      return std::unexpected(fmt::format("{} holds over {} keys", shown, kMaxKeys));
    }
    out.push_back(std::move(line));
  }
  return {};
}

std::expected<void, std::string> read_one(int dir, const std::string& name,
                                          const std::string& shown,
                                          std::vector<std::string>& out) {
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return std::unexpected(fmt::format("cannot open {}: {}", shown, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected(fmt::format("{} is not a regular file", shown));
  }
  auto text = read_bounded(fd.get(), shown);
  if (!text) {
    return std::unexpected(text.error());
  }
  return take_keys(*text, shown, out);
}

}  // namespace

bool is_public_key_line(const std::string& line) {
  if (line.size() > 16 * 1024 ||
      !std::ranges::all_of(line, [](char c) { return c >= 0x20 && c < 0x7f; })) {
    return false;
  }
  const auto space = line.find(' ');
  if (space == std::string::npos ||
      std::ranges::find(kKeyTypes, std::string_view(line).substr(0, space)) == kKeyTypes.end()) {
    return false;
  }
  const auto blob_end = std::min(line.find(' ', space + 1), line.size());
  const std::string_view blob(line.data() + space + 1, blob_end - space - 1);
  return blob.size() >= 16 && std::ranges::all_of(blob, [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
         });
}

std::expected<std::vector<std::string>, std::string> read_secret_keys(const std::string& dir,
                                                                      const std::string& name) {
  UniqueFd top = open_dir_nofollow(AT_FDCWD, dir.c_str());
  if (!top) {
    return std::unexpected(fmt::format("the secrets directory {} cannot be opened ({}): make it "
                                       "(root's, 0700) and put the secret {} in it",
                                       dir, std::strerror(errno), name));
  }
  const std::string shown = dir + "/" + name;
  std::vector<std::string> keys;
  if (UniqueFd secret = open_dir_nofollow(top.get(), name.c_str())) {
    auto names = names_in_dir(secret.get());
    std::erase_if(names, [](const std::string& n) { return n.starts_with('.'); });
    std::ranges::sort(names);
    if (names.size() > kMaxKeyFiles) {
      return std::unexpected(fmt::format("{} holds over {} files", shown, kMaxKeyFiles));
    }
    for (const auto& file : names) {
      if (auto read = read_one(secret.get(), file, shown + "/" + file, keys); !read) {
        return std::unexpected(read.error());
      }
    }
  } else if (errno == ENOENT) {
    return std::unexpected(fmt::format("secret {} does not exist: put its public keys in {} "
                                       "(a file, or a directory of files)",
                                       name, shown));
  } else if (auto read = read_one(top.get(), name, shown, keys); !read) {
    return std::unexpected(read.error());
  }
  if (keys.empty()) {
    return std::unexpected(fmt::format("secret {} ({}) holds no public key", name, shown));
  }
  return keys;
}

bool AccessKeySync::due(Clock::time_point now, bool connected_now, Clock::duration interval) {
  if (!connected_now && now < next_sync_) {
    return false;
  }
  next_sync_ = now + interval;
  return true;
}

bool AccessKeySync::needs_push(const std::string& fingerprint, bool connected_now) const {
  return connected_now || fingerprint != pushed_;
}

void AccessKeySync::pushed(std::string fingerprint) {
  pushed_ = std::move(fingerprint);
  error_.clear();
}

bool AccessKeySync::report(const std::string& failure) {
  if (failure.empty() || failure == error_) {
    return false;
  }
  error_ = failure;
  return true;
}

}  // namespace qmd::daemon
