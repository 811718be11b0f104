# By "<pool>/<thin pool name>".
import {
  to = libvirt_lvm_thin_pool.thin
  id = "vmdata/thin"
}
