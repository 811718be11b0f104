//! The decisions the guards make over what libvirt (and, where the provider can ask it, LVM)
//! reports: who uses a volume ([`usage`]) and what a volume group holds ([`vg`]). Pure functions
//! of facts, unit-tested without a hypervisor.

pub mod broken;
pub mod usage;
pub mod vg;
