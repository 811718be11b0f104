resource "libvirt_lvm_pool" "data" {
  name           = "vmdata"
  source_devices = ["/dev/sdb"]
}

# A plain, fully allocated logical volume: /dev/vmdata/db.
resource "libvirt_lvm_volume" "db" {
  pool     = libvirt_lvm_pool.data.name
  name     = "db"
  capacity = "20GiB"
}

# Overwritten with zeros before it is deleted, so that its data cannot show up
# in a later volume on the same extents.
resource "libvirt_lvm_volume" "secrets" {
  pool            = libvirt_lvm_pool.data.name
  name            = "secrets"
  capacity        = "512MiB"
  wipe_on_destroy = true
}

# A VM's root disk filled from a cloud image: the qcow2 is converted to raw on
# the machine running Terraform and streamed to the hypervisor over the
# provider's libvirt connection (nothing is needed on the hypervisor). The rest
# of the 20 GiB reads as zeros. Written at creation only; re-image the disk with
# `terraform apply -replace=libvirt_lvm_volume.web_root`.
resource "libvirt_lvm_volume" "web_root" {
  pool     = libvirt_lvm_pool.data.name
  name     = "web-root"
  capacity = "20GiB"

  source {
    path = "images/debian-12-genericcloud-amd64.qcow2"
    # or: url = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
    # and, to refuse any other file: checksum = "sha512:<digest from SHA512SUMS>"
  }

  # The whole create, download and upload included.
  timeouts {
    create = "30m"
  }
}

# The filled disk, attached to the (existing, running) domain "web" as its
# second disk. A domain made by the Go libvirt provider works the same way:
# see "Using it beside the Go libvirt provider" on the provider's page.
resource "libvirt_disk_attachment" "web_root" {
  domain    = "web"
  volume_id = libvirt_lvm_volume.web_root.id
  target    = "vdb"
}

# A copy of the filled disk for a second VM (any volume on the hypervisor, in
# any active pool, by its key).
resource "libvirt_lvm_volume" "web2_root" {
  pool       = libvirt_lvm_pool.data.name
  name       = "web2-root"
  capacity   = "20GiB"
  clone_from = libvirt_lvm_volume.web_root.id
}

# Encrypted at rest with LUKS (libvirt formats the LV with qemu-img on the
# hypervisor). The passphrase is write-only (Terraform 1.11 or later): the
# provider makes it the value of a libvirt secret it defines for the volume, and
# it is never stored in state or shown in plans. Give it through an ephemeral
# variable: a saved plan keeps the values of ordinary input variables. A
# libvirt_disk_attachment of this volume tells the domain the secret.
variable "vault_passphrase" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "libvirt_lvm_volume" "vault" {
  pool     = libvirt_lvm_pool.data.name
  name     = "vault"
  capacity = "10GiB"

  encryption {
    format                = "luks"
    passphrase_wo         = var.vault_passphrase
    passphrase_wo_version = 1
    # or, with a libvirt secret of usage type "volume" made beforehand:
    # secret_uuid = "675f09f9-ce67-4ba6-bc7f-4614de90d640"
  }
}
