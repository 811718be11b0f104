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

variable "devices" {
  description = "Empty block devices for the volume group, the same on both hypervisors."
  type        = list(string)
  default     = ["/dev/sdb"]
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
  name           = "vmdata"
  source_devices = var.devices
}

resource "libvirt_lvm_volume" "a" {
  provider = libvirt.a
  pool     = libvirt_lvm_pool.a.name
  name     = "db"
  capacity = "10GiB"
}

resource "libvirt_lvm_pool" "b" {
  provider       = libvirt.b
  name           = "vmdata"
  source_devices = var.devices
}

resource "libvirt_lvm_volume" "b" {
  provider = libvirt.b
  pool     = libvirt_lvm_pool.b.name
  name     = "db-replica"
  capacity = "10GiB"
}

output "volumes" {
  value = {
    a = libvirt_lvm_volume.a.path
    b = libvirt_lvm_volume.b.path
  }
}
