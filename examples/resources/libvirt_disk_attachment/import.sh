# By "<domain name or UUID>/<target>"
terraform import libvirt_disk_attachment.data web/sdb
