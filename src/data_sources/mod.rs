//! Data sources, one file each.

pub mod lvm_pool;
pub mod lvm_volume;
