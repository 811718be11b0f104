resource "libvirt_lvm_pool" "data" {
  name           = "vmdata"
  source_devices = ["/dev/sdb"]
}

resource "libvirt_lvm_thin_pool" "thin" {
  pool = libvirt_lvm_pool.data.name
  name = "thin"
  size = "100GiB"
}

# A golden image's volume: 20 GiB virtual, allocated only as it is written.
resource "libvirt_lvm_thin_volume" "golden" {
  pool      = libvirt_lvm_pool.data.name
  thin_pool = libvirt_lvm_thin_pool.thin.name
  name      = "golden"
  capacity  = "20GiB"
}

# A fast clone of it: a thin snapshot, made without copying, that reads as the
# golden volume did; only what the VM then writes uses space.
resource "libvirt_lvm_thin_volume" "web" {
  pool      = libvirt_lvm_pool.data.name
  thin_pool = libvirt_lvm_thin_pool.thin.name
  name      = "web"
  capacity  = "20GiB"
  origin    = libvirt_lvm_thin_volume.golden.name
}
