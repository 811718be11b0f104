resource "libvirt_lvm_volume" "data" {
  pool     = "vmdata"
  name     = "web-data"
  capacity = "10GiB"
}

# Hot-plugged into the running domain "web" as a SCSI disk (the domain needs a
# virtio-scsi controller), and added to its saved definition. The guest sees it
# as /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_web-data.
resource "libvirt_disk_attachment" "data" {
  domain    = "web"
  volume_id = libvirt_lvm_volume.data.id
  target    = "sdb"
  serial    = "web-data"
  cache     = "none"
  io        = "native"
  discard   = "unmap"

  # Detaching waits until the guest has released the disk.
  timeouts {
    delete = "5m"
  }
}

# A block device of the hypervisor by path, read-only, as a virtio-blk disk.
resource "libvirt_disk_attachment" "reference" {
  domain    = "web"
  path      = "/dev/vg0/reference-data"
  target    = "vdc"
  read_only = true
}
