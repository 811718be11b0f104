//! Our layer over the `virt` crate.

pub mod conn;
pub mod error;
pub mod xml;

pub use conn::Connection;
pub use error::{Error, Result};
