# Terraform 1.8 and later.
output "canonical" {
  value = provider::libvirt::format_size(1610612736) # "1536MiB"
}

data "libvirt_lvm_pool" "data" {
  name = "vmdata"
}

# Free space of a volume group, such as "81916MiB".
output "free" {
  value = provider::libvirt::format_size(data.libvirt_lvm_pool.data.available)
}
