#!/bin/bash
# mmdebstrap --customize-hook for the lab guest (part of the image recipe, covered by the cache stamp).
#
#   customize.sh ROOTFS HOSTNAME ROOT_LABEL PUBKEY_FILE
#
# Runs on the host after all packages are installed into ROOTFS; configures a throw-away, test-only
# hypervisor: passwordless root on the serial console, key-only root ssh, DHCP networking, libvirtd
# reachable over unauthenticated TCP (the host forwards that port from 127.0.0.1 only), and a boot
# with as few slow units as possible.
set -euo pipefail

root=${1:?rootfs}
hostname=${2:?hostname}
label=${3:?root label}
pubkey=${4:?pubkey file}

in_root() { chroot "$root" "$@"; }

# --- identity, filesystems -------------------------------------------------------------------------
echo "$hostname" >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    "$hostname" >"$root/etc/hosts"
printf 'LABEL=%s\t/\text4\trw,noatime\t0\t1\n' "$label" >"$root/etc/fstab"
# Empty machine-id: systemd generates a fresh one on every boot of a fresh overlay.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# --- access: root without password on the console, ssh with the lab's test-only key ---------------
in_root passwd --delete root >/dev/null
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$pubkey" "$root/root/.ssh/authorized_keys"
mkdir -p "$root/etc/ssh/sshd_config.d"
cat >"$root/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
EOF

# --- network: DHCP from QEMU's user-mode network ---------------------------------------------------
mkdir -p "$root/etc/systemd/network"
cat >"$root/etc/systemd/network/20-lab-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=yes
EOF
in_root systemctl enable systemd-networkd.service >&2

# --- journald: volatile, small ---------------------------------------------------------------------
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' >"$root/etc/systemd/journald.conf.d/lab.conf"

# --- device-mapper / LVM ---------------------------------------------------------------------------
# dm-mod is a module in the cloud kernel; load it (and the snapshot target used by sparse libvirt
# volumes) at boot instead of relying on on-demand autoloading.
printf 'dm_mod\ndm_snapshot\n' >"$root/etc/modules-load.d/lab-dm.conf"
# No LVM devices file: every PV disk is fresh and must be visible to lvm without `lvmdevices --adddev`.
# udev runs in the guest, so udev synchronisation stays at lvm's defaults.
cat >>"$root/etc/lvm/lvmlocal.conf" <<'EOF'

# lab: see scripts/lab.d/customize.sh
devices {
	use_devicesfile = 0
}
EOF

# --- libvirt ----------------------------------------------------------------------------------------
# TEST-ONLY: unauthenticated TCP. Acceptable only because QEMU forwards this port from the host's
# 127.0.0.1 to a throw-away guest; never do this on a real host.
printf '\n# lab (test-only, loopback-forwarded): see scripts/lab.d/customize.sh\nauth_tcp = "none"\n' \
    >>"$root/etc/libvirt/libvirtd.conf"
# Drop the default "--timeout 120" (idle exit); socket activation would restart it, but an exiting
# libvirtd drops in-flight connections and forgets transient state.
if grep -q '^LIBVIRTD_ARGS=' "$root/etc/default/libvirtd" 2>/dev/null; then
    sed -i 's/^LIBVIRTD_ARGS=.*/LIBVIRTD_ARGS=""/' "$root/etc/default/libvirtd"
else
    echo 'LIBVIRTD_ARGS=""' >>"$root/etc/default/libvirtd"
fi
in_root systemctl enable libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \
    libvirtd-tcp.socket libvirtd.service virtlogd.socket >&2
# No default NAT network: it needs dnsmasq and is not used by the tests.
rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"

# --- boot speed: mask what a throw-away TCG guest does not need -------------------------------------
in_root systemctl mask \
    systemd-networkd-wait-online.service \
    e2scrub_all.timer e2scrub_reap.service \
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer \
    systemd-timesyncd.service \
    libvirt-guests.service \
    getty@tty1.service >&2

echo "customize: $hostname configured" >&2
