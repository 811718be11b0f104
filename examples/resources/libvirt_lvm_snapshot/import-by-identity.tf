import {
  to = libvirt_lvm_snapshot.before_upgrade
  identity = {
    pool = "vmdata"
    name = "web-before-upgrade"
  }
}
