import {
  to = libvirt_lvm_pool.data
  identity = {
    name = "vmdata"
  }
}
