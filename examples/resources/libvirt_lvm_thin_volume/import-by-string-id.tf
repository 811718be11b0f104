# By "<pool>/<thin volume name>".
import {
  to = libvirt_lvm_thin_volume.web
  id = "vmdata/web"
}
