# By "<pool>/<snapshot name>"
terraform import libvirt_lvm_snapshot.before_upgrade vmdata/web-before-upgrade
