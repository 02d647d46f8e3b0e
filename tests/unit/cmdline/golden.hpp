#pragma once
// Golden argv files (Proxmox's cfg2cmd idea): a spec renders to a text with one QEMU option
// per line, then env, sidecars, files to prepare and warnings; errors render as `error:` lines.
#include <string>

namespace qmd::testing {

// Renders `yaml_path` for the fake host and run flags in its `# host:` / `# run:` header
// comments (or `default_host` when it has none) and returns the golden text.
std::string render_golden(const std::string& yaml_path, const std::string& default_host);

// Compares `actual` with the file at `golden_path`. QMD_UPDATE_GOLDEN=1 rewrites it instead.
// Returns "" when equal, else a message with a unified diff (or that the file is missing).
std::string compare_golden(const std::string& golden_path, const std::string& actual);

}  // namespace qmd::testing
