#pragma once
// qmctl subcommands: each takes the arguments after its name (argv[0] is the subcommand)
// and returns the process exit code.

// qmctl trial FILE [common flags] [--timeout S] [--scratch-disks]: start the rendered VM
// paused in QEMU, check QMP answers "prelaunch", quit, leave nothing behind.
int cmd_trial(int argc, char** argv);

// qmctl render FILE [--emulation] [--hyperv strict|best-effort] [-o args|json|shell] ...
int cmd_render(int argc, char** argv);
// qmctl validate FILE [...]: exit 0, or every error and exit 1
int cmd_validate(int argc, char** argv);
// qmctl host [-o text|json]
int cmd_host(int argc, char** argv);
