// qmd: the daemon. For now it only knows its version (issue 4 brings the API and supervisor).
#include <cstdio>
#include <cstring>

#include "qmd_version.hpp"

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
    std::printf("qmd %s\n", QMD_VERSION);
    return 0;
  }
  std::printf("qmd %s\nThe daemon is not built yet; use `qmctl render` / `qmctl validate`.\n",
              QMD_VERSION);
  return 0;
}
