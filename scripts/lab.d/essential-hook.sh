#!/bin/bash
# mmdebstrap --essential-hook for the lab guest (part of the image recipe, covered by the cache stamp).
#
#   essential-hook.sh ROOTFS
#
# Runs after the essential packages and before the rest (kernel, initramfs-tools) are installed, so
# the kernel's initramfs is generated once, already with this configuration.
#
# The default MODULES=most initramfs carries ~200 modules (18 MB); unpacking and probing them under
# TCG costs seconds on every boot. The cloud kernel has ext4 built in; virtio-pci/virtio-blk are
# modules, added by a hook (a hook file, not /etc/initramfs-tools/modules, which is a conffile of
# initramfs-tools) and loaded by the initramfs udev by modalias.
set -euo pipefail
root=${1:?rootfs}

mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
printf '# lab: see scripts/lab.d/essential-hook.sh\nMODULES=list\n' >"$root/etc/initramfs-tools/conf.d/lab.conf"
cat >"$root/etc/initramfs-tools/hooks/lab-virtio" <<'EOF'
#!/bin/sh
# lab: see scripts/lab.d/essential-hook.sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_blk
EOF
chmod 0755 "$root/etc/initramfs-tools/hooks/lab-virtio"
