//! The scenarios' data-loss judges, each with unit tests that feed it a world where data was lost
//! (an LV gone, made again, its pattern changed; a VG gone; a disk detached) and one where nothing
//! changed: a judge that cannot say "data lost" would let every scenario pass.
//!
//! - [`guest`]: [`World`] and [`Tally`] of the adversarial orderings (`tests/adversarial.rs`).
//! - [`marks`]: one VG's LV marks and [`compare_marks`] (`tests/safety.rs`), [`markers_lost`]
//!   (`tests/faults.rs`).
//!
//! The randomized sequence's judge is [`crate::sequence::Ledger`].

pub mod guest;
pub mod marks;

pub use guest::{world, Tally, World};
pub use marks::{compare_marks, markers_lost, probe, Mark, MarkVerdict, Probe};

#[cfg(test)]
mod tests;
