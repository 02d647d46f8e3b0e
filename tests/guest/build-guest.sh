#!/usr/bin/env bash
# Builds, once, the tiny Linux guest every qmd end-to-end test boots, from Debian 12 packages
# only: the cloud kernel, busybox-static, qemu-guest-agent and dhcpcd (dhcpcd-base: Debian's
# busybox has no udhcpc6, and the NAT network's IPv6 tests need a real DHCPv6 client).
#
#   tests/guest/build-guest.sh OUTDIR
#
# Produces OUTDIR/vmlinuz, OUTDIR/initramfs.img (gzip'd newc cpio, /init from rootfs/init) and
# OUTDIR/disk.img (16 MiB raw ext4, label qmdtest, /hello.txt = "hello from the qmd test disk").
# Cached: nothing is rebuilt while OUTDIR/stamp matches the sha256 of this script and of
# rootfs/. Safe to run concurrently (flock on OUTDIR/.lock); prints the OUTDIR on success.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)

stamp=$(cd "$here" && { sha256sum build-guest.sh
  find rootfs -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum)
stamp=${stamp%% *}
fresh() {
  [[ -f "$out/vmlinuz" && -f "$out/initramfs.img" && -f "$out/disk.img" && -f "$out/stamp" ]] &&
    [[ "$(cat "$out/stamp")" == "$stamp" ]]
}
if fresh; then
  echo "$out"
  exit 0
fi

exec 9>"$out/.lock"
flock 9
if fresh; then # another test built it while we waited
  echo "$out"
  exit 0
fi

# What this script runs on the host; busybox-static, qemu-guest-agent and dhcpcd-base are
# downloaded.
"$here/ensure-packages.sh" apt cpio kmod e2fsprogs gzip

work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { echo "build-guest: $*" >&2; }

policy=$(apt-cache policy linux-image-cloud-amd64)
if [[ ! "$policy" =~ Candidate:\ [0-9] ]]; then
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -q >&2
fi
# The meta package only depends on the versioned kernel package, which holds the files.
kpkg=$(apt-cache depends linux-image-cloud-amd64 |
  awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\..*-cloud-amd64$/ { print $2; exit }')
if [[ -z "$kpkg" ]]; then
  echo "build-guest: cannot resolve linux-image-cloud-amd64 to a linux-image-6.1.*" >&2
  exit 1
fi
log "downloading $kpkg busybox-static qemu-guest-agent dhcpcd-base"
mkdir -p "$work/debs" "$work/pkg"
(cd "$work/debs" && apt-get download -q "$kpkg" busybox-static qemu-guest-agent dhcpcd-base >&2)
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/pkg"
done
kver=${kpkg#linux-image-}
pkg=$work/pkg
[[ -f "$pkg/boot/vmlinuz-$kver" ]] || { echo "build-guest: no vmlinuz-$kver in $kpkg" >&2; exit 1; }

# The package ships no modules.dep (postinst runs depmod); make one to resolve the order.
depmod -b "$pkg" "$kver"
# In the Debian cloud kernel (CONFIG_*=y): ACPI CPU/memory hotplug, PCIe hotplug, TPM TIS/CRB,
# ext4, devtmpfs, unix/packet sockets. Everything below is =m and not compressed (sr_mod:
# SCSI CD-ROMs, for the media tests; pvpanic_mmio: the ISA pvpanic device qmd gives every
# guest, so a panic reaches QEMU as GUEST_PANICKED).
modules=(virtio_pci virtio_blk virtio_scsi sd_mod virtio_net virtio_console virtio_balloon
  virtio_mem virtio_rng sr_mod pvpanic_mmio)
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,etc/qmd,proc,sys,dev,run,tmp,mnt,root}
: >"$root/etc/qmd/modules.order"
for m in "${modules[@]}"; do
  while read -r verb path _; do
    [[ "$verb" == insmod ]] || continue
    rel=${path##*/lib/modules/"$kver"/}
    name=$(basename "$rel")
    if ! grep -qx "$name" "$root/etc/qmd/modules.order"; then
      cp "$pkg/lib/modules/$kver/$rel" "$root/lib/modules/$name"
      echo "$name" >>"$root/etc/qmd/modules.order"
    fi
  done < <(modprobe --show-depends -d "$pkg" -S "$kver" "$m")
done
log "modules: $(tr '\n' ' ' <"$root/etc/qmd/modules.order")"

cp "$pkg/bin/busybox" "$root/bin/busybox"
while read -r applet; do
  [[ "$applet" == */busybox || -e "$root/$applet" ]] && continue
  ln -s /bin/busybox "$root/$applet"
done < <("$pkg/bin/busybox" --list-full)

# qemu-ga's shared libraries: copied from the host, which is allowed only because the host is
# Debian 12 too, so these are the very files the bookworm packages ship. Revisit if the host
# ever differs (then download libglib2.0-0, libudev1, libnuma1, liburing2, libpcre2-8-0, libc6).
cp "$pkg/usr/sbin/qemu-ga" "$root/usr/sbin/qemu-ga"
mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
while read -r lib; do
  cp -L "$lib" "$root/lib/x86_64-linux-gnu/"
done < <(ldd "$pkg/usr/sbin/qemu-ga" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
  $1 ~ /^\/lib64\// { print $1 }' | sort -u)
ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
# dhcpcd needs only libc (copied above for qemu-ga); it keeps its DUID and leases in
# /var/lib/dhcpcd and its sockets in /run/dhcpcd.
cp "$pkg/usr/sbin/dhcpcd" "$root/usr/sbin/dhcpcd"
mkdir -p "$root/etc/qemu" "$root/var/lib/dhcpcd" "$root/var/log"
ln -s /run "$root/var/run"
cp "$pkg/etc/qemu/fsfreeze-hook" "$root/etc/qemu/" 2>/dev/null || true

cp -a "$here/rootfs/." "$root/"
chmod 0600 "$root/etc/shadow"

log "packing initramfs"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
  cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n >"$work/initramfs.img"
cp "$pkg/boot/vmlinuz-$kver" "$work/vmlinuz"

log "making disk.img"
mkdir -p "$work/disk"
echo "hello from the qmd test disk" >"$work/disk/hello.txt"
truncate -s 16M "$work/disk.img"
E2FSPROGS_FAKE_TIME=0 mkfs.ext4 -q -F -L qmdtest -U 8f1c0b7e-2d4a-4f3e-9b1a-5c6d7e8f9a0b \
  -E root_owner=0:0 -d "$work/disk" "$work/disk.img"

# Rename into place last, then the stamp, so a half-built OUTDIR never looks fresh.
rm -f "$out/stamp"
mv -f "$work/vmlinuz" "$work/initramfs.img" "$work/disk.img" "$out/"
echo "$kver" >"$out/kernel-version"
echo "$stamp" >"$out/stamp"
log "built $kver guest in $out"
echo "$out"
