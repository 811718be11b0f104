import {
  to = libvirt_disk_attachment.data
  identity = {
    domain = "web"
    target = "sdb"
  }
}
