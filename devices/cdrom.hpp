#pragma once
// A CD-ROM's medium changed at run time: the new image's nodes (its own names, so the old
// medium's nodes can go after it), and the tray steps QEMU takes to swap or eject it.
#include <string>
#include <vector>

#include "devices/qmp_call.hpp"

namespace qmd::devices {

struct MediumNodes {
  std::string file;    // cdf-NAME-K
  std::string format;  // cdm-NAME-K
};

// The nodes for the medium after `current` (the format node in the drive now, or "" for
// none): K alternates 1, 2 so the new never collides with the old. Within QEMU's 31.
MediumNodes next_medium_nodes(const std::string& disk, const std::string& current);
// The file node under a format node qmd made ("fmt-X" -> "file-X", "cdm-X-1" ->
// "cdf-X-1"), or "" for one it did not.
std::string medium_file_node(const std::string& format_node);

// blockdev-add of the read-only file node (over `filename`, a /dev/fdset/N) and its format node.
std::vector<QmpCall> medium_add(const MediumNodes& nodes, const std::string& filename,
                                const std::string& format);
// Open the tray (forced: a guest's lock does not hold it), remove the medium, insert
// `format_node` when it is not "", close the tray.
std::vector<QmpCall> medium_swap(const std::string& disk, const std::string& format_node);
// blockdev-del of a medium's nodes, format first.
std::vector<QmpCall> medium_del(const std::string& format_node);

}  // namespace qmd::devices
