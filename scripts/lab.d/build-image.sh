#!/bin/bash
# Build the lab guest image (part of the image recipe: scripts/lab hashes every file in scripts/lab.d/
# into the cache stamp, so editing this file makes the next `scripts/lab up` rebuild the image).
#
#   build-image.sh SUITE OUTDIR PUBKEY_FILE TLS_DIR HOSTKEY_FILE
#
# Produces OUTDIR/root.img (2 GiB sparse ext4, label $LAB_ROOT_LABEL), OUTDIR/vmlinuz and
# OUTDIR/initrd.img (Debian cloud kernel, direct kernel boot). OUTDIR must not exist yet.
# Needs root (mmdebstrap --mode=root), mmdebstrap and mke2fs with -d (e2fsprogs >= 1.43).
# Everything goes to stderr.
set -euo pipefail

suite=${1:?suite}
out=${2:?outdir}
pubkey=${3:?pubkey file}
tls=${4:?tls dir (cacert.pem, servercert.pem, serverkey.pem)}
hostkey=${5:?ssh host key (private; its .pub beside it)}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
label=labroot
hostname="lab-$suite"

# (qemu-system-i386 is left out: libvirtd probes the capabilities of every qemu-system-* binary it
# finds when it starts, which costs seconds per binary under TCG; the tests only need x86_64.)
#
# Guest packages. minbase + no recommends keeps the image small; everything the lab needs is explicit.
pkgs=(
    systemd-sysv systemd udev dbus kmod e2fsprogs procps iproute2 netcat-openbsd openssh-server
    linux-image-cloud-amd64 initramfs-tools lvm2
    libvirt-daemon-system libvirt-daemon libvirt-clients qemu-system-x86
    # qemu-img: libvirt converts a non-raw clone source with it (clone_from a dir pool's qcow2).
    qemu-utils
    # thin_check/thin_repair: lvm2 only recommends them, and without them LVM activates thin pools
    # with a warning and cannot check their metadata (thin pools and thin volumes are tested).
    thin-provisioning-tools
    # cryptsetup: the encrypted-volume tests read the LUKS header in the guest (luksDump).
    cryptsetup-bin
)
case $suite in
    bookworm) ;;  # the logical/disk/fs/... storage backends are inside libvirt-daemon on bookworm
    *)
        # trixie and later split the storage backends into separate packages, and without recommends
        # only the fs backend comes along.
        pkgs+=(libvirt-daemon-driver-storage libvirt-daemon-driver-storage-logical)
        ;;
esac

# Mirrors: the host's own (deb822 /etc/apt/sources.list.d/debian.sources), overridable.
read_mirrors() {
    local f=/etc/apt/sources.list.d/debian.sources
    [[ -r $f ]] || return 0
    awk '
        /^URIs:/ { for (i = 2; i <= NF; i++) { if ($i ~ /security/) sec = sec ? sec : $i; else main = main ? main : $i } }
        END { print (main ? main : "-") " " (sec ? sec : "-") }
    ' "$f"
}
read -r host_main host_sec < <(read_mirrors || echo "- -") || true
[[ ${host_main:--} != - ]] || host_main=http://deb.debian.org/debian
[[ ${host_sec:--} != - ]] || host_sec=http://deb.debian.org/debian-security
mirror=${LAB_MIRROR:-$host_main}
secmirror=${LAB_SECURITY_MIRROR:-$host_sec}

[[ ! -e $out ]] || { echo "build-image: $out already exists" >&2; exit 1; }
mkdir -p "$out"
rootfs="$out/rootfs"

echo "build-image: suite=$suite mirror=$mirror security=$secmirror" >&2
t0=$SECONDS
mmdebstrap --variant=minbase --mode=root --format=directory \
    --include="$(IFS=,; echo "${pkgs[*]}")" \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/bin/qemu-system-i386' \
    --essential-hook="\"$here/essential-hook.sh\" \"\$1\"" \
    --customize-hook="\"$here/customize.sh\" \"\$1\" \"$hostname\" \"$label\" \"$pubkey\" \"$tls\" \"$hostkey\"" \
    "$suite" "$rootfs" \
    "deb $mirror $suite main" \
    "deb $mirror $suite-updates main" \
    "deb $secmirror $suite-security main" >&2
echo "build-image: mmdebstrap done in $((SECONDS - t0)) s" >&2

# Kernel and initramfs for direct kernel boot.
kernel=$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)
initrd=$(find "$rootfs/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n1)
[[ -n $kernel && -n $initrd ]] || { echo "build-image: no kernel/initrd in $rootfs/boot" >&2; exit 1; }
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
basename "$kernel" | sed 's/^vmlinuz-//' >"$out/kernel-version"

# The root filesystem, built without mounting anything (the host may lack loop/dm support).
t1=$SECONDS
truncate -s 2G "$out/root.img"
mkfs.ext4 -q -F -L "$label" -d "$rootfs" "$out/root.img"
rm -rf --one-file-system "$rootfs"
echo "build-image: root.img built in $((SECONDS - t1)) s ($(du -h "$out/root.img" | cut -f1) used)" >&2

# Bake: boot the image once (same QEMU CPU model as scripts/lab, so the result stays valid) to let
# libvirtd write its QEMU capability cache; the guest powers itself off (lab-ready, lab.bake=1).
# No forwarded ports; `restrict=on` keeps the guest off the outside network (DHCP still answers).
t2=$SECONDS
if ! timeout 300 qemu-system-x86_64 \
    -accel tcg,thread=multi,tb-size=256 -cpu max -m 1024 -smp 2 \
    -nodefaults -no-user-config -no-reboot \
    -kernel "$out/vmlinuz" -initrd "$out/initrd.img" \
    -append "root=LABEL=$label rw console=ttyS0 quiet mitigations=off lab.bake=1" \
    -drive "file=$out/root.img,if=none,id=root,format=raw" -device virtio-blk-pci,drive=root \
    -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 \
    -object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0 \
    -serial "file:$out/bake-serial.log" -display none -monitor none 9>&-; then
    tail -n 30 "$out/bake-serial.log" >&2 || true
    echo "build-image: bake boot failed or timed out" >&2
    exit 1
fi
grep -qa LAB-BAKED "$out/bake-serial.log" || {
    tail -n 30 "$out/bake-serial.log" >&2 || true
    echo "build-image: bake boot ended without LAB-BAKED" >&2
    exit 1
}
echo "build-image: bake boot done in $((SECONDS - t2)) s" >&2
