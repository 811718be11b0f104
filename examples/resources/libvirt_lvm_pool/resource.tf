# A new volume group on two empty disks of the hypervisor (vgcreate). Destroying
# the pool keeps the volume group and its data unless on_destroy = "delete".
resource "libvirt_lvm_pool" "data" {
  name           = "vmdata"
  source_devices = ["/dev/disk/by-id/virtio-data1", "/dev/disk/by-id/virtio-data2"]
}

# A volume group that already exists, adopted with its logical volumes: no
# source_devices, so nothing is built.
resource "libvirt_lvm_pool" "system" {
  name         = "system"
  volume_group = "vg0"
}

# A scratch volume group that terraform destroy removes, with the physical
# volume labels on its device.
resource "libvirt_lvm_pool" "scratch" {
  name           = "scratch"
  source_devices = ["/dev/sdd"]
  on_destroy     = "delete"
}
