#!/bin/bash
# mmdebstrap --customize-hook for the lab guest (part of the image recipe, covered by the cache stamp).
#
#   customize.sh ROOTFS HOSTNAME ROOT_LABEL PUBKEY_FILE TLS_DIR HOSTKEY_FILE
#
# Runs on the host after all packages are installed into ROOTFS; configures a throw-away, test-only
# hypervisor: passwordless root on the serial console, key-only root ssh, DHCP networking, libvirtd
# reachable over unauthenticated TCP (the host forwards that port from 127.0.0.1 only) and over TLS
# with the lab's test-only certificates (TLS_DIR: cacert.pem, servercert.pem, serverkey.pem), and a boot
# with as few slow units as possible.
set -euo pipefail

root=${1:?rootfs}
hostname=${2:?hostname}
label=${3:?root label}
pubkey=${4:?pubkey file}
tls=${5:?tls dir}
hostkey=${6:?ssh host key}

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
# The host key the lab host made (HOSTKEY_FILE): clients verify it instead of trusting on first use.
# The keys openssh-server generated at install are dropped, so this is the only one offered.
rm -f "$root"/etc/ssh/ssh_host_*_key "$root"/etc/ssh/ssh_host_*_key.pub
install -m 0600 "$hostkey" "$root/etc/ssh/ssh_host_ed25519_key"
install -m 0644 "$hostkey.pub" "$root/etc/ssh/ssh_host_ed25519_key.pub"
mkdir -p "$root/etc/ssh/sshd_config.d"
cat >"$root/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
# No PAM: pam_systemd would start and stop root's systemd --user instance around every session,
# which costs ~1-2 s per `lab ssh` command under TCG.
UsePAM no
PrintMotd no
PrintLastLog no
HostKey /etc/ssh/ssh_host_ed25519_key
# `lab ssh` multiplexes sessions over one connection; let parallel test commands share it.
MaxSessions 100
MaxStartups 100:30:200
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

# --- no nested KVM -------------------------------------------------------------------------------
# QEMU's TCG `-cpu max` advertises SVM, so udev would load kvm_amd at some point during the boot and
# /dev/kvm would appear or not by the time libvirtd starts. libvirtd's QEMU capability cache records
# whether KVM was usable and is re-probed (seconds under TCG) when that differs, so keep it
# deterministic: no KVM in the guest (domains use type='qemu'; nested KVM under TCG is useless anyway).
cat >"$root/etc/modprobe.d/lab-no-kvm.conf" <<'EOF'
# lab: see scripts/lab.d/customize.sh
blacklist kvm_amd
blacklist kvm_intel
install kvm_amd /bin/false
install kvm_intel /bin/false
EOF

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
# TLS, as on a real host: libvirt's default paths, client certificates checked against the CA
# (auth_tls "none" means the certificate is the credential), the server's name checked by clients.
install -D -m 0644 "$tls/cacert.pem" "$root/etc/pki/CA/cacert.pem"
install -D -m 0644 "$tls/servercert.pem" "$root/etc/pki/libvirt/servercert.pem"
install -D -m 0600 "$tls/serverkey.pem" "$root/etc/pki/libvirt/private/serverkey.pem"
in_root systemctl enable libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \
    libvirtd-tcp.socket libvirtd-tls.socket libvirtd.service virtlogd.socket >&2
# No default NAT network: it needs dnsmasq and is not used by the tests.
rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"

# --- readiness marker ----------------------------------------------------------------------------
# Once libvirtd (fully initialised) and sshd are up and DHCP gave an address, print a marker on the serial console; the
# host waits for it in the serial log and then checks libvirt and ssh once (probing blindly during
# the boot only adds load and delay: QEMU's user network accepts connections before the guest does).
cat >"$root/usr/local/sbin/lab-ready" <<'EOF2'
#!/bin/sh
# Wait (up to 60 s) for an IPv4 address and (up to 120 s) for libvirtd's QEMU driver to finish its
# start-up (capability probing: a connection blocks until then), then tell the host on the serial
# console.
i=0
while [ $i -lt 600 ] && ! ip -4 -o addr show scope global | grep -q inet; do
    sleep 0.1
    i=$((i + 1))
done
timeout 120 virsh -q -c qemu:///system version >/dev/null 2>&1 || true
echo "LAB-READY uptime=$(cut -d' ' -f1 /proc/uptime)" >/dev/ttyS0
# Image build (build-image.sh boots the fresh image once with lab.bake=1): libvirtd has now written
# its QEMU capability cache (/var/cache/libvirt/qemu/capabilities), which saves every later boot the
# probe (4-10 s under TCG). Reset the machine identity and power off.
if grep -qw lab.bake=1 /proc/cmdline; then
    umount /etc/machine-id 2>/dev/null || true
    : >/etc/machine-id
    echo "LAB-BAKED" >/dev/ttyS0
    systemctl --no-block poweroff
fi
EOF2
chmod 0755 "$root/usr/local/sbin/lab-ready"
cat >"$root/etc/systemd/system/lab-ready.service" <<'EOF2'
[Unit]
Description=Report to the lab host (serial console) that libvirtd and sshd are up
After=libvirtd.service ssh.service systemd-networkd.service
Wants=libvirtd.service ssh.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lab-ready

[Install]
WantedBy=multi-user.target
EOF2
in_root systemctl enable lab-ready.service >&2

# --- boot speed: mask what a throw-away TCG guest does not need -------------------------------------
in_root systemctl mask \
    systemd-networkd-wait-online.service \
    e2scrub_all.timer e2scrub_reap.service \
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer \
    systemd-timesyncd.service \
    libvirt-guests.service \
    getty@tty1.service >&2

echo "customize: $hostname configured" >&2
