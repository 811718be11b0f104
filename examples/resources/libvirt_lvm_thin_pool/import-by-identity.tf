import {
  to = libvirt_lvm_thin_pool.thin
  identity = {
    pool = "vmdata"
    name = "thin"
  }
}
