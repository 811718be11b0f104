# By pool name
terraform import libvirt_lvm_pool.data vmdata

# By the pool's libvirt UUID (virsh pool-uuid vmdata)
terraform import libvirt_lvm_pool.data 6a1f1e0c-52b8-4f4e-9d55-0f3c1b0e7a2d
