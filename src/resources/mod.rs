//! Managed resource types, one file each.

pub mod disk_attachment;
pub mod lvm_pool;
pub mod lvm_volume;
