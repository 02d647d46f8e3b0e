// A seed payload from a local secret: <secrets.dir>/NAME/KEY (a directory of key files, as a
// Kubernetes secret is mounted) or the file <secrets.dir>/NAME. Read as qmd, never through a
// link below the configured directory, bounded in size.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "daemon/runtime/seed_iso.hpp"

namespace qmd::daemon {

namespace {

// The regular file `name` in `dir`, at most kSeedSecretMaxBytes; nullopt when it is absent.
std::expected<std::optional<std::string>, std::string> read_key(int dir, const std::string& name,
                                                                const std::string& shown) {
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd && errno == ENOENT) {
    return std::nullopt;
  }
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return std::unexpected(fmt::format("cannot open {} ({}; qmd follows no links there)", shown,
                                       std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected(fmt::format("{} is not a regular file", shown));
  }
  std::string text;
  std::array<char, 8192> buffer{};
  for (;;) {
    const auto n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(fmt::format("reading {}: {}", shown, std::strerror(errno)));
    }
    if (n == 0) {
      return text;
    }
    text.append(buffer.data(), static_cast<std::size_t>(n));
    if (text.size() > kSeedSecretMaxBytes) {
      return std::unexpected(fmt::format("{} is over {} KiB, the most qmd puts in a seed", shown,
                                         kSeedSecretMaxBytes / 1024));
    }
  }
}

}  // namespace

std::expected<std::optional<std::string>, std::string> seed_payload(
    const cmdline::SeedFile& file, const std::string& secrets_dir) {
  if (file.secret.empty()) {
    return file.content;
  }
  const std::string shown = secrets_dir + "/" + file.secret;
  UniqueFd top = open_dir_nofollow(AT_FDCWD, secrets_dir.c_str());
  if (!top) {
    return std::unexpected(fmt::format("the secrets directory {} cannot be opened ({}): make it "
                                       "(root's, 0700) and put the secret {} in it",
                                       secrets_dir, std::strerror(errno), file.secret));
  }
  UniqueFd secret = open_dir_nofollow(top.get(), file.secret.c_str());
  if (!secret) {
    auto whole = read_key(top.get(), file.secret, shown);
    if (whole && !*whole) {
      return std::unexpected(fmt::format("secret {} does not exist: put the data in {}/{} (or "
                                         "in the file {})",
                                         file.secret, shown, file.keys.front(), shown));
    }
    if (!whole) {
      return std::unexpected(whole.error());
    }
    if (!file.whole_file) {
      return std::nullopt;  // a one-file secret is another file of the image
    }
    return std::move(*whole);
  }
  for (const auto& key : file.keys) {
    auto read = read_key(secret.get(), key, shown + "/" + key);
    if (!read) {
      return std::unexpected(read.error());
    }
    if (*read) {
      return std::move(*read);
    }
  }
  if (file.optional) {
    return std::nullopt;
  }
  return std::unexpected(fmt::format("secret {} ({}) has no key {}: put the data in {}/{}",
                                     file.secret, shown, fmt::join(file.keys, " or "), shown,
                                     file.keys.front()));
}

}  // namespace qmd::daemon
