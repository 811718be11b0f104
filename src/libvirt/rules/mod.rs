//! The decisions the guards make over what libvirt (and, where the provider can ask it, LVM)
//! reports: who uses a volume ([`usage`]), what a volume group holds ([`vg`]) and what may be a
//! clone source ([`clone`]). Pure functions
//! of facts, unit-tested without a hypervisor.

pub mod broken;
pub mod clone;
pub mod usage;
pub mod vg;
