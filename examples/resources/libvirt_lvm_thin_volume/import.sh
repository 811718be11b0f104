# By "<pool>/<thin volume name>"
terraform import libvirt_lvm_thin_volume.web vmdata/web
