//! What libvirt reports: pools, volumes and domains as read, and the raw lookups that read them
//! (blocking calls on a `virt` connection, run inside a [`crate::libvirt::Connection`] piece of
//! work). Nothing here decides or changes anything.

pub mod devices;
pub mod domain;
pub mod pool;
pub mod volume;
