//! Managed resource types, one file each, and the list of them: adding a resource is its file and
//! two lines here.

use crate::framework::resource::{AnyResource, Erased};
use crate::provider::Ctx;

pub mod disk_attachment;
pub mod lvm_pool;
pub mod lvm_volume;

/// Every managed resource type, as the provider serves them.
pub fn all() -> Vec<Box<dyn AnyResource<Ctx>>> {
    vec![
        Box::new(Erased::new(lvm_pool::LvmPool)),
        Box::new(Erased::new(lvm_volume::LvmVolume)),
        Box::new(Erased::new(disk_attachment::DiskAttachment)),
    ]
}
