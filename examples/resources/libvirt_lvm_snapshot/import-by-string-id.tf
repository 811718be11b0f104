# By "<pool>/<snapshot name>".
import {
  to = libvirt_lvm_snapshot.before_upgrade
  id = "vmdata/web-before-upgrade"
}
