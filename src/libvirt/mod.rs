//! Our layer over the `virt` crate.

pub mod coalesce;
pub mod conn;
pub mod domain;
pub mod error;
pub mod events;
pub mod loader;
pub mod storage;
pub mod upload;
pub mod xml;

pub use conn::Connection;
pub use error::{Error, Result};
