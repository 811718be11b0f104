//! Our layer over the `virt` crate: one shared connection ([`conn`]), named read and change
//! operations per object kind ([`pool`], [`volume`], [`domain`]), error classification
//! ([`error`]), typed XML ([`xml`]), and the machinery under them ([`events`], [`loader`],
//! [`coalesce`]). Nothing above this layer calls `virt` or matches a libvirt message.

pub mod coalesce;
pub mod conn;
pub mod debuglog;
pub mod domain;
pub mod error;
pub mod events;
pub mod loader;
pub mod pool;
#[cfg(test)]
pub(crate) mod testing;
pub mod upload;
pub mod volume;
pub mod xml;

pub use conn::Connection;
pub use error::{Error, Result};
