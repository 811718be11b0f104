# The same storage on two hypervisors: one provider block per hypervisor, told
# apart by alias, each resource naming the one it lives on.
#
#   terraform apply \
#     -var hypervisor_a_uri='qemu+ssh://root@hv-a.example.com/system?keyfile=/home/ci/.ssh/id_ed25519&no_tty=1' \
#     -var hypervisor_b_uri='qemu+tls://hv-b.example.com/system'

terraform {
  required_version = ">= 1.0"
  required_providers {
    libvirt = {
      source = "libvirt-lvm/libvirt"
    }
  }
}

variable "hypervisor_a_uri" {
  description = "libvirt URI of the first hypervisor."
  type        = string
}

variable "hypervisor_b_uri" {
  description = "libvirt URI of the second hypervisor."
  type        = string
}

variable "devices_a" {
  description = "Empty block devices for the volume group on the first hypervisor."
  type        = list(string)
  default     = ["/dev/sdb"]
}

variable "devices_b" {
  description = "Empty block devices for the volume group on the second hypervisor."
  type        = list(string)
  default     = ["/dev/sdb"]
}

variable "pool_a" {
  description = "Pool (and volume group) name on the first hypervisor."
  type        = string
  default     = "vmdata"
}

variable "pool_b" {
  description = "Pool (and volume group) name on the second hypervisor."
  type        = string
  default     = "vmdata"
}

variable "capacity" {
  description = "Size of each volume."
  type        = string
  default     = "10GiB"
}

provider "libvirt" {
  alias = "a"
  uri   = var.hypervisor_a_uri
}

provider "libvirt" {
  alias = "b"
  uri   = var.hypervisor_b_uri
}

resource "libvirt_lvm_pool" "a" {
  provider       = libvirt.a
  name           = var.pool_a
  source_devices = var.devices_a
  on_destroy     = "delete"
}

resource "libvirt_lvm_volume" "a" {
  provider = libvirt.a
  pool     = libvirt_lvm_pool.a.name
  name     = "db"
  capacity = var.capacity
}

resource "libvirt_lvm_pool" "b" {
  provider       = libvirt.b
  name           = var.pool_b
  source_devices = var.devices_b
  on_destroy     = "delete"
}

resource "libvirt_lvm_volume" "b" {
  provider = libvirt.b
  pool     = libvirt_lvm_pool.b.name
  name     = "db-replica"
  capacity = var.capacity
}

output "volumes" {
  value = {
    a = libvirt_lvm_volume.a.path
    b = libvirt_lvm_volume.b.path
  }
}
