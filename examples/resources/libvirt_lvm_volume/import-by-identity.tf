import {
  to = libvirt_lvm_volume.db
  identity = {
    pool = "vmdata"
    name = "db"
  }
}
