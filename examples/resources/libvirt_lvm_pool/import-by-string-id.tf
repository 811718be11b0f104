# By pool name, or by the pool's libvirt UUID.
import {
  to = libvirt_lvm_pool.data
  id = "vmdata"
}
