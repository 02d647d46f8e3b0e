#!/bin/bash
# `meson install --destdir` puts the systemd units, sysusers.d, tmpfiles.d and the default
# config where systemd and qmd look for them, and the units keep the promises VMs rely on
# (Type=notify, KillMode=process, a preserved /run/qmd; guests shut down at host shutdown
# only). Where systemd's tools are present,
# they check the files too: systemd-analyze verify, and sysusers/tmpfiles applied to the
# destdir as a root. Usage: packaging_files.sh BUILD_DIR
set -u
build=${1:?usage: $0 BUILD_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

if ! command -v meson >/dev/null; then
  echo "SKIP: meson is not on PATH"
  exit 77
fi
if ! meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log" >&2
  fail "meson install --destdir failed"
  exit 1
fi

# The prefix is wherever the unit landed: $prefix/lib/systemd/system/qmd.service.
unit=$(find "$dest" -path '*/lib/systemd/system/qmd.service')
if [[ -z "$unit" ]]; then
  fail "no lib/systemd/system/qmd.service under the destdir"
  find "$dest" -type f | sed "s|^$dest||" >&2
  exit 1
fi
prefix=${unit#"$dest"}
prefix=${prefix%/lib/systemd/system/qmd.service}
echo "check: prefix $prefix"

for file in "$prefix/lib/sysusers.d/qmd.conf" "$prefix/lib/tmpfiles.d/qmd.conf"; do
  [[ -f "$dest$file" ]] || fail "$file is not installed"
  echo "check: installed $file"
done

# The unit names the installed daemon and config.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r exe _ config <<<"$exec_start"
[[ -x "$dest$exe" ]] || fail "ExecStart=$exec_start: $exe is not installed"
[[ -f "$dest$config" ]] || fail "ExecStart=$exec_start: $config is not installed"
echo "check: ExecStart=$exec_start"

# unit_has LINE: the unit has exactly this line.
unit_has() {
  if grep -qx -- "$1" "$unit"; then
    echo "check: unit has $1"
  else
    fail "the unit lacks the line $1"
  fi
}
unit_has 'Type=notify'
unit_has 'KillMode=process'
unit_has 'RuntimeDirectory=qmd'
unit_has 'RuntimeDirectoryPreserve=yes'
unit_has 'StateDirectory=qmd'
# A device allow-list, private /dev or /tmp would break QEMU or strand running VMs.
for bad in PrivateDevices=yes PrivateTmp=yes DeviceAllow= ProtectClock=yes NoNewPrivileges=yes \
  MemoryDenyWriteExecute=yes; do
  if grep -q "^$bad" "$unit"; then
    fail "the unit sets $bad"
  fi
done

# qmd-guests.service: guests shut down at host shutdown only. Wants= (not Requires=, BindsTo=,
# PartOf=, which would carry `systemctl restart qmd` over to it and shut every guest down),
# stopped before qmd (After=), its ExecStop the installed qmctl, and a stop timeout above
# hostShutdown.timeout's default (300 s) plus qmd's 30 s for the last stops.
guests=$dest$prefix/lib/systemd/system/qmd-guests.service
if [[ ! -f "$guests" ]]; then
  fail "$prefix/lib/systemd/system/qmd-guests.service is not installed"
else
  guests_has() {
    if grep -qx -- "$1" "$guests"; then
      echo "check: qmd-guests.service has $1"
    else
      fail "qmd-guests.service lacks the line $1"
    fi
  }
  guests_has 'Wants=qmd.service'
  guests_has 'Type=oneshot'
  guests_has 'RemainAfterExit=yes'
  grep -Eq '^After=(.* )?qmd\.service( |$)' "$guests" || fail "qmd-guests.service is not After=qmd.service"
  for bad in Requires BindsTo PartOf Requisite; do
    if grep -Eq "^$bad=.*qmd\.service" "$guests"; then
      fail "qmd-guests.service sets $bad=qmd.service (a restart of qmd would shut the guests down)"
    fi
  done
  exec_stop=$(sed -n 's/^ExecStop=//p' "$guests")
  read -r qmctl_exe stop_args <<<"$exec_stop"
  [[ -x "$dest$qmctl_exe" ]] || fail "ExecStop=$exec_stop: $qmctl_exe is not installed"
  [[ "$stop_args" == shutdown-guests ]] || fail "ExecStop=$exec_stop does not run shutdown-guests"
  echo "check: ExecStop=$exec_stop"
  stop_timeout=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$guests")
  [[ -n "$stop_timeout" && "$stop_timeout" -ge 330 ]] ||
    fail "qmd-guests.service: TimeoutStopSec must be at least 330s (hostShutdown.timeout 300s + 30s)"
  echo "check: TimeoutStopSec=${stop_timeout}s"
fi

sysusers=$dest$prefix/lib/sysusers.d/qmd.conf
grep -Eq '^g[[:space:]]+qmd[[:space:]]' "$sysusers" || fail "sysusers.d: no group qmd"
grep -Eq '^u[[:space:]]+qmd-qemu[[:space:]]' "$sysusers" || fail "sysusers.d: no user qmd-qemu"
grep -Eq '^m[[:space:]]+qmd-qemu[[:space:]]+kvm' "$sysusers" ||
  fail "sysusers.d: qmd-qemu is not put in the group kvm"
tmpfiles=$dest$prefix/lib/tmpfiles.d/qmd.conf
for want in '/run/qmd 0755' '/var/lib/qmd 0711' '/var/log/qmd 0750'; do
  grep -Eq "^d[[:space:]]+${want% *}[[:space:]]+${want#* }[[:space:]]" "$tmpfiles" ||
    fail "tmpfiles.d: no directory $want"
done

# systemd's own checks, where systemd is installed (not in every container).
if command -v systemd-analyze >/dev/null && [[ -e /usr/lib/systemd/system/sysinit.target ]]; then
  # A copy whose ExecStart is the destdir's qmd, which verify requires to exist.
  sed "s|^ExecStart=$exe|ExecStart=$dest$exe|" "$unit" >"$tmp/qmd.service"
  sed "s|^ExecStop=$qmctl_exe|ExecStop=$dest$qmctl_exe|" "$guests" >"$tmp/qmd-guests.service"
  if SYSTEMD_UNIT_PATH="$tmp:" systemd-analyze verify --man=no "$tmp/qmd.service" \
    "$tmp/qmd-guests.service" >"$tmp/verify.log" 2>&1; then
    echo "check: systemd-analyze verify"
  else
    cat "$tmp/verify.log" >&2
    fail "systemd-analyze verify"
  fi
fi
if command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null &&
  [[ "$prefix" == /usr || "$prefix" == /usr/local ]]; then
  # The destdir as a root: found in the prefix's search path, and applied as written.
  mkdir -p "$dest/etc"
  if systemd-sysusers --root="$dest" qmd.conf >"$tmp/sysusers.log" 2>&1 &&
    grep -q '^qmd-qemu:' "$dest/etc/passwd" && grep -q '^qmd:' "$dest/etc/group" &&
    grep -Eq '^kvm:.*qmd-qemu' "$dest/etc/group"; then
    echo "check: systemd-sysusers creates qmd, qmd-qemu (in kvm)"
  else
    cat "$tmp/sysusers.log" >&2
    fail "systemd-sysusers --root"
  fi
  if systemd-tmpfiles --root="$dest" --create qmd.conf >"$tmp/tmpfiles.log" 2>&1; then
    modes=$(stat -c '%a' "$dest/run/qmd" "$dest/var/lib/qmd" "$dest/var/log/qmd" | xargs)
    [[ "$modes" == "755 711 750" ]] || fail "systemd-tmpfiles made modes $modes"
    echo "check: systemd-tmpfiles creates /run/qmd, /var/lib/qmd, /var/log/qmd ($modes)"
  else
    cat "$tmp/tmpfiles.log" >&2
    fail "systemd-tmpfiles --root"
  fi
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "packaging files: ok"
