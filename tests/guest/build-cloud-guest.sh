#!/usr/bin/env bash
# Builds, once, a small Debian 12 system with Debian's real cloud-init, for the cloud-init
# end-to-end test: debootstrap (minbase) plus systemd, udev, cloud-init, qemu-guest-agent and
# the cloud kernel, all from Debian's archive.
#
#   tests/guest/build-cloud-guest.sh OUTDIR
#
# Produces OUTDIR/vmlinuz, OUTDIR/initrd.img (Debian's own initramfs-tools image) and
# OUTDIR/disk.img (1 GiB sparse raw ext4, label cloudroot, about 450 MiB used; boot it with
# "root=/dev/vda rw console=ttyS0"). Cached: nothing is rebuilt while OUTDIR/stamp matches the
# sha256 of this script. flock-protected; prints OUTDIR on success. QMD_DEBIAN_MIRROR picks
# the mirror (default http://deb.debian.org/debian). Takes about 5 minutes on a loaded 2-core
# machine, almost all of it debootstrap.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
stamp=$(sha256sum "$here/build-cloud-guest.sh")
stamp=${stamp%% *}
fresh() {
  [[ -f "$out/vmlinuz" && -f "$out/initrd.img" && -f "$out/disk.img" && -f "$out/stamp" ]] &&
    [[ "$(cat "$out/stamp")" == "$stamp" ]]
}
if fresh; then
  echo "$out"
  exit 0
fi
exec 9>"$out/.lock"
flock 9
if fresh; then
  echo "$out"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { echo "build-cloud-guest: debootstrap needs root" >&2; exit 1; }
"$here/ensure-packages.sh" debootstrap e2fsprogs
log() { echo "build-cloud-guest: $*" >&2; }
work=$(mktemp -d "$out/build.XXXXXX")
root=$work/root
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# python3-cffi-backend: debootstrap does not resolve the virtual package
# python3-cffi-backend-api-max that python3-cryptography (cloud-init's oauthlib) needs.
packages=systemd-sysv,udev,cloud-init,python3-cffi-backend,qemu-guest-agent
packages+=,linux-image-cloud-amd64,initramfs-tools,ifupdown,isc-dhcp-client
mirror=${QMD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
log "debootstrap bookworm ($packages) from $mirror"
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$work/log" 2>&1 ||
  { tail -20 "$work/log" >&2; exit 1; }
mount -t proc proc "$root/proc"
broken=$(chroot "$root" dpkg --audit || true)
[[ -z "$broken" ]] || { echo "build-cloud-guest: packages left unconfigured:" >&2
  echo "$broken" >&2; exit 1; }
umount "$root/proc"

echo '/dev/vda / ext4 defaults,noatime 0 1' >"$root/etc/fstab"
echo debian >"$root/etc/hostname"
# Only the datasources qmd provides (ds-identify would also rule the others out, slower), and
# the locale Debian has without the locales package.
cat >"$root/etc/cloud/cloud.cfg.d/90-qmd-test.cfg" <<'CFG'
datasource_list: [NoCloud, ConfigDrive, None]
locale: C.UTF-8
CFG
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root/debootstrap"

kernel=$(cd "$root/boot" && ls vmlinuz-* | head -1)
install -m 0644 "$root/boot/$kernel" "$work/vmlinuz"
install -m 0644 "$root/boot/initrd.img-${kernel#vmlinuz-}" "$work/initrd.img"
log "ext4 image from $(du -sh "$root" | cut -f1) of files"
mkfs.ext4 -q -F -L cloudroot -d "$root" "$work/disk.img" 1G >&2
mv "$work/vmlinuz" "$work/initrd.img" "$work/disk.img" "$out/"
echo "$stamp" >"$out/stamp"
echo "$out"
