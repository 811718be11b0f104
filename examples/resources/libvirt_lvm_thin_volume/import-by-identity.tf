import {
  to = libvirt_lvm_thin_volume.web
  identity = {
    pool = "vmdata"
    name = "web"
  }
}
