# Bring an LVM volume group that already exists on the hypervisor (made by the
# installer or by hand) under Terraform, and create a logical volume in it.
#
# The pool has no source_devices, so nothing is built: the volume group is
# adopted as it is, with the logical volumes already in it. terraform destroy
# deletes the volume made here, stops and undefines the pool, and leaves the
# volume group and every other logical volume in place (on_destroy = "keep").
#
# If libvirt already has a pool for the volume group, import it instead:
#   terraform import libvirt_lvm_pool.existing <pool name>
#
#   terraform apply -var uri=qemu+ssh://root@hypervisor/system -var volume_group=vg0

terraform {
  required_version = ">= 1.0"
  required_providers {
    libvirt = {
      source = "libvirt-lvm/libvirt"
    }
  }
}

variable "uri" {
  description = "libvirt URI of the hypervisor."
  type        = string
  default     = "qemu:///system"
}

variable "volume_group" {
  description = "Name of the existing LVM volume group (see vgs on the hypervisor)."
  type        = string
}

variable "pool_name" {
  description = "Name of the libvirt storage pool to define over it."
  type        = string
  default     = "adopted"
}

variable "capacity" {
  description = "Size of the new logical volume."
  type        = string
  default     = "1GiB"
}

provider "libvirt" {
  uri = var.uri
}

resource "libvirt_lvm_pool" "existing" {
  name         = var.pool_name
  volume_group = var.volume_group
  on_destroy   = "keep"
}

resource "libvirt_lvm_volume" "data" {
  pool     = libvirt_lvm_pool.existing.name
  name     = "terraform-data"
  capacity = var.capacity
}

output "volume_path" {
  value = libvirt_lvm_volume.data.path
}

output "volume_bytes" {
  value = libvirt_lvm_volume.data.capacity_bytes
}
