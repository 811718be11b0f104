# By "<domain name or UUID>/<target>".
import {
  to = libvirt_disk_attachment.data
  id = "web/sdb"
}
