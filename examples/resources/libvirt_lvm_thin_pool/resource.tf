# Made with LVM's own tools on the hypervisor: a qemu+ssh:// URI runs them over
# the same ssh; with qemu+tcp:// or qemu+tls:// set the provider's lvm_tools.
resource "libvirt_lvm_pool" "data" {
  name           = "vmdata"
  source_devices = ["/dev/sdb"]
}

# 100 GiB of data that thin volumes allocate from as they are written.
resource "libvirt_lvm_thin_pool" "thin" {
  pool       = libvirt_lvm_pool.data.name
  name       = "thin"
  size       = "100GiB"
  chunk_size = "64KiB"
}

output "thin_pool_used_percent" {
  value = libvirt_lvm_thin_pool.thin.data_percent
}
