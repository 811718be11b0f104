resource "libvirt_lvm_pool" "data" {
  name           = "vmdata"
  source_devices = ["/dev/sdb"]
}

resource "libvirt_lvm_thin_pool" "thin" {
  pool = libvirt_lvm_pool.data.name
  name = "thin"
  size = "100GiB"
}

resource "libvirt_lvm_thin_volume" "web" {
  pool      = libvirt_lvm_pool.data.name
  thin_pool = libvirt_lvm_thin_pool.thin.name
  name      = "web"
  capacity  = "20GiB"
}

# Before an upgrade: a thin snapshot (instant, no size). To roll back, shut the
# VM down, set merge_into_origin = true and apply: everything written to "web"
# since the snapshot is lost and the snapshot is consumed.
resource "libvirt_lvm_snapshot" "before_upgrade" {
  pool              = libvirt_lvm_pool.data.name
  origin            = libvirt_lvm_thin_volume.web.name
  name              = "web-before-upgrade"
  merge_into_origin = false
}

# A thick (copy-on-write) snapshot of a plain volume needs space for the
# blocks that change; it becomes invalid when they outgrow it. This kind is
# also made without lvm_tools, through libvirt alone (then data_percent and
# invalid are null, and growing or merging it needs the tools).
resource "libvirt_lvm_volume" "db" {
  pool     = libvirt_lvm_pool.data.name
  name     = "db"
  capacity = "20GiB"
}

resource "libvirt_lvm_snapshot" "db_backup" {
  pool   = libvirt_lvm_pool.data.name
  origin = libvirt_lvm_volume.db.name
  name   = "db-backup"
  size   = "2GiB"
}
