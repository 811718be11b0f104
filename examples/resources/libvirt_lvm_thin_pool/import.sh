# By "<pool>/<thin pool name>"
terraform import libvirt_lvm_thin_pool.thin vmdata/thin
