# By pool and volume name
terraform import libvirt_lvm_volume.db vmdata/db

# By device path
terraform import libvirt_lvm_volume.db /dev/vmdata/db

# By libvirt key, the LV UUID (lvs -o lv_uuid vmdata/db)
terraform import libvirt_lvm_volume.db 3Xq0lN-Vd8p-Kc2s-Yh1b-Ft6m-Qz4r-Wj9uEa
