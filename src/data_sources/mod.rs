//! Data sources, one file each, and the list of them.

use crate::framework::resource::{AnyDataSource, ErasedData};
use crate::provider::Ctx;

pub mod lvm_pool;
pub mod lvm_volume;

/// Every data source, as the provider serves them.
pub fn all() -> Vec<Box<dyn AnyDataSource<Ctx>>> {
    vec![
        Box::new(ErasedData::new(lvm_pool::LvmPoolData)),
        Box::new(ErasedData::new(lvm_volume::LvmVolumeData)),
    ]
}
