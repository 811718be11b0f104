# A new LVM volume group on two disks of a hypervisor, three logical volumes (one
# filled from a disk image on this machine), and two of them attached to a running
# VM without restarting it.
#
#   terraform apply -var uri=qemu+ssh://root@hypervisor/system -var domain=web \
#     -var image=debian-12-genericcloud-amd64.qcow2
#
# Then grow the data disk while the VM runs (LVM's tools over the same ssh: lvextend, and the
# guest is told the new size; nothing is replaced):
#
#   terraform apply ... -var data_capacity=512MiB

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

variable "devices" {
  description = "Empty block devices on the hypervisor for the volume group."
  type        = list(string)
  default     = ["/dev/vdb", "/dev/vdc"]
}

variable "domain" {
  description = "Name of a running domain to attach the data volume to."
  type        = string
}

variable "image" {
  description = "A disk image on this machine (raw or qcow2, plain or .gz/.xz/.zst) for the system volume."
  type        = string
}

variable "data_capacity" {
  description = "Size of the data volume; a larger one grows it in place."
  type        = string
  default     = "256MiB"
}

variable "pool_name" {
  description = "Name of the pool and volume group."
  type        = string
  default     = "vmdata"
}

provider "libvirt" {
  uri = var.uri
}

resource "libvirt_lvm_pool" "data" {
  name           = var.pool_name
  source_devices = var.devices
  # Destroying the pool removes the volume group (the volumes go first).
  on_destroy = "delete"
}

resource "libvirt_lvm_volume" "data" {
  pool     = libvirt_lvm_pool.data.name
  name     = "data"
  capacity = var.data_capacity
}

resource "libvirt_lvm_volume" "scratch" {
  pool     = libvirt_lvm_pool.data.name
  name     = "scratch"
  capacity = "128MiB"
}

# Filled from the image at creation: qcow2 is converted to raw on the way, holes stay holes, and
# the rest of the volume reads as zeros.
resource "libvirt_lvm_volume" "system" {
  pool     = libvirt_lvm_pool.data.name
  name     = "system"
  capacity = "128MiB"
  source {
    path = var.image
  }
}

resource "libvirt_disk_attachment" "data" {
  domain    = var.domain
  volume_id = libvirt_lvm_volume.data.id
  target    = "sdb"
  serial    = "data"
}

resource "libvirt_disk_attachment" "system" {
  domain    = var.domain
  volume_id = libvirt_lvm_volume.system.id
  target    = "sdc"
  serial    = "system"
}

output "volume_group" {
  value = libvirt_lvm_pool.data.volume_group
}

output "volumes" {
  value = {
    for v in [libvirt_lvm_volume.data, libvirt_lvm_volume.scratch, libvirt_lvm_volume.system] : v.name => {
      path     = v.path
      capacity = v.capacity_bytes
    }
  }
}

output "attached" {
  value = "${var.domain}:${libvirt_disk_attachment.data.target} (${libvirt_disk_attachment.data.address})"
}
