#include "daemon/storage/data_volumes.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "daemon/launch/child_process.hpp"
#include "daemon/storage/image_files.hpp"
#include "daemon/storage/image_size.hpp"
#include "daemon/store/storage_roots.hpp"

namespace qmd::daemon::storage {

namespace {

using Source = policy::DataVolumeTemplate::Source;
using Made = std::expected<ClaimFile, DataVolumeFailure>;

DataVolumeFailure failure(const policy::DataVolumeTemplate& t, std::string field,
                          std::string message) {
  return {t.index, std::move(field), fmt::format("claim {}: {}", t.name, std::move(message))};
}

MadeFile made_file(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return {path, 0, 0};
  }
  return {path, st.st_dev, st.st_ino};
}

// Fetches `t.from` into a file beside the claims (NAME.download, which is no claim name),
// at most t.size + slack bytes, then makes the claim from it and removes it.
Made from_http(const Places& places, const policy::DataVolumeTemplate& t, const Tools& tools,
               const Download& download) {
  const std::string field = "spec.source.http.url";
  const std::string path = fmt::format("{}/{}.download", places.claims, t.name);
  auto fd = open_beneath(places.roots, path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (!fd) {
    return std::unexpected(failure(t, field, fd.error().message));
  }
  const MadeFile made = made_file(fd->get(), path);
  const std::uint64_t cap = t.size + download.slack;
  const std::vector<std::string> argv{
      download.prlimit, fmt::format("--fsize={}", cap), "--", download.curl, "--fail",
      "--silent", "--show-error", "--location", "--proto", "=http,https", "--proto-redir",
      "=http,https", "--max-redirs", "5", "--connect-timeout",
      std::to_string(download.connect_timeout.count()), "--max-time",
      std::to_string(download.timeout.count()), "--max-filesize", std::to_string(cap),
      "--output", fd_path(fd->get()), "--", t.from};
  auto fetched = run_to_completion(argv, tools.log, download.timeout + download.timeout / 10);
  if (!fetched) {
    remove_made_file(places.roots, made);
    const bool too_big = fetched.error().find("File size limit") != std::string::npos ||
                         fetched.error().find("signal 25") != std::string::npos ||
                         fetched.error().find("Maximum file size") != std::string::npos;
    return std::unexpected(failure(
        t, field,
        too_big ? fmt::format("{} is larger than the {} bytes its claim may take (its size "
                              "plus {} MiB)",
                              t.from, cap, download.slack >> 20)
                : fmt::format("could not download {}: {}; check that this host reaches it",
                              t.from, fetched.error())));
  }
  auto claim = create_claim(places, NewClaim{t.name, t.size, "qcow2", path, ""}, tools);
  remove_made_file(places.roots, made);
  if (!claim) {
    return std::unexpected(failure(t, field, fmt::format("{}: {}", t.from, claim.error())));
  }
  return *claim;
}

Made make_one(const Places& places, const policy::DataVolumeTemplate& t, const Tools& tools,
              const Download& download) {
  NewClaim request{t.name, t.size, "qcow2", "", ""};
  std::string field = "spec.source";
  switch (t.source) {
    case Source::blank:
      field = "spec.source.blank";
      break;
    case Source::pvc:
      request.clone = t.from;
      field = "spec.source.pvc.name";
      break;
    case Source::registry: {
      field = "spec.source.registry.url";
      auto image = find_image(places, t.from);
      if (!image) {
        return std::unexpected(failure(t, field, image.error()));
      }
      request.from = image->path;
      break;
    }
    case Source::http:
      return from_http(places, t, tools, download);
  }
  auto claim = create_claim(places, request, tools);
  if (!claim) {
    return std::unexpected(failure(t, field, claim.error()));
  }
  return *claim;
}

}  // namespace

std::expected<std::vector<std::string>, DataVolumeFailure> make_data_volumes(
    const Places& places, const std::vector<policy::DataVolumeTemplate>& templates,
    const Tools& tools, const Download& download) {
  std::vector<ClaimFile> made;
  for (const auto& t : templates) {
    if (find_claim(places, t.name)) {
      continue;
    }
    auto claim = make_one(places, t, tools, download);
    if (!claim) {
      for (const auto& undo : made) {
        (void)delete_claim(places, undo.name);
      }
      return std::unexpected(claim.error());
    }
    made.push_back(std::move(*claim));
  }
  std::vector<std::string> names;
  for (const auto& claim : made) {
    names.push_back(claim.name);
  }
  return names;
}

}  // namespace qmd::daemon::storage
