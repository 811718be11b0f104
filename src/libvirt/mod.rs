//! Our layer over the `virt` crate, in three parts a reader can tell apart:
//!
//! - [`facts`]: what libvirt reports (pools, volumes, domains as read) and the raw lookups that
//!   read it; no decisions.
//! - [`rules`]: the decisions the guards make over those facts: who uses a volume
//!   ([`rules::usage`]), what a volume group holds and whether a build may go over devices
//!   ([`rules::vg`]). Pure, unit-tested without a hypervisor.
//! - the operations, one file per object ([`pool`], [`volume`], [`domain`], [`upload`],
//!   [`secret`]): methods of the one shared [`Connection`] ([`conn`]) that read, or check and
//!   change, in one piece of blocking work each.
//!
//! Under them: error classification ([`error`]), typed XML ([`xml`]), and the machinery
//! ([`events`], [`loader`], [`coalesce`], [`debuglog`]). Nothing above this layer calls `virt` or
//! matches a libvirt message.

pub mod coalesce;
pub mod conn;
pub mod debuglog;
pub mod domain;
pub mod error;
pub mod events;
pub mod facts;
pub mod loader;
pub mod pool;
pub mod rules;
pub mod secret;
#[cfg(test)]
pub(crate) mod testing;
pub mod upload;
pub mod volume;
pub mod xml;

pub use conn::Connection;
pub use error::{Error, Result};
