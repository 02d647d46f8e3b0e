// qmctl: the command-line client. Subcommands that need no daemon: render, validate, host.
#include <cstdio>

#include "qmd_version.hpp"

int main() {
  std::printf("qmctl %s\n", QMD_VERSION);
  return 0;
}
