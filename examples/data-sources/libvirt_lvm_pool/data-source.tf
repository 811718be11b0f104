data "libvirt_lvm_pool" "data" {
  name = "vmdata"
}

output "free_bytes" {
  value = data.libvirt_lvm_pool.data.available
}

# Every logical volume of the volume group, managed by Terraform or not.
output "volume_paths" {
  value = { for v in data.libvirt_lvm_pool.data.volumes : v.name => v.path }
}
