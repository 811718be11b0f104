# By "<pool>/<volume name>", by device path, or by libvirt key (the LV UUID).
import {
  to = libvirt_lvm_volume.db
  id = "vmdata/db"
}
