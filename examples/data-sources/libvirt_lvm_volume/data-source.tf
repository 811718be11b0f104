# By pool and volume name
data "libvirt_lvm_volume" "db" {
  pool = "vmdata"
  name = "db"
}

# By device path
data "libvirt_lvm_volume" "root" {
  path = "/dev/vg0/root"
}

# Attach a volume that this configuration does not manage.
resource "libvirt_disk_attachment" "db" {
  domain    = "db-server"
  volume_id = data.libvirt_lvm_volume.db.key
  target    = "sdb"
}

output "root_size_bytes" {
  value = data.libvirt_lvm_volume.root.capacity
}
