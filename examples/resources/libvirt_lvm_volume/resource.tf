resource "libvirt_lvm_pool" "data" {
  name           = "vmdata"
  source_devices = ["/dev/sdb"]
}

# A plain, fully allocated logical volume: /dev/vmdata/db.
resource "libvirt_lvm_volume" "db" {
  pool     = libvirt_lvm_pool.data.name
  name     = "db"
  capacity = "20GiB"
}

# Overwritten with zeros before it is deleted, so that its data cannot show up
# in a later volume on the same extents.
resource "libvirt_lvm_volume" "secrets" {
  pool            = libvirt_lvm_pool.data.name
  name            = "secrets"
  capacity        = "512MiB"
  wipe_on_destroy = true
}
