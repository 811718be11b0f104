# Terraform 1.8 and later.
variable "db_size" {
  type    = string
  default = "20GiB"
}

output "db_size_bytes" {
  value = provider::libvirt::parse_size(var.db_size) # 21474836480
}

output "db_size_mib" {
  value = provider::libvirt::parse_size(var.db_size) / 1048576 # 20480
}
