//! Test-only switches that turn one data-safety guard off, so that the tests which must catch its
//! absence can be shown to fail (`scripts/test --data-safety DIR` against such a build). They exist
//! only in a build with the `broken-guards` feature, which no release has: there every guard is
//! always on and this module's check is a constant `false`.

/// A guard that a broken build can turn off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// What the volume group holds beyond libvirt's listing (extents, LVM's report) before
    /// `vgremove`.
    VgAccounting,
    /// Snapshots of an origin before `lvremove`.
    Dependants,
    /// Every domain's use of a volume before a delete.
    InUse,
    /// The disk's own source before a detach.
    DetachSource,
}

impl Guard {
    /// The name `TPL_BROKEN_GUARDS` uses.
    pub fn name(self) -> &'static str {
        match self {
            Guard::VgAccounting => "vg-accounting",
            Guard::Dependants => "dependants",
            Guard::InUse => "in-use",
            Guard::DetachSource => "detach-source",
        }
    }
}

/// Whether `guard` is turned off: only in a `broken-guards` build, when the comma-separated
/// `TPL_BROKEN_GUARDS` names it.
pub fn off(guard: Guard) -> bool {
    #[cfg(feature = "broken-guards")]
    {
        std::env::var("TPL_BROKEN_GUARDS")
            .map(|v| v.split(',').any(|g| g.trim() == guard.name()))
            .unwrap_or(false)
    }
    #[cfg(not(feature = "broken-guards"))]
    {
        let _ = guard;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "broken-guards"))]
    fn a_normal_build_has_every_guard_on_whatever_the_environment_says() {
        std::env::set_var(
            "TPL_BROKEN_GUARDS",
            "vg-accounting,dependants,in-use,detach-source",
        );
        for g in [
            Guard::VgAccounting,
            Guard::Dependants,
            Guard::InUse,
            Guard::DetachSource,
        ] {
            assert!(!off(g), "{}", g.name());
        }
        std::env::remove_var("TPL_BROKEN_GUARDS");
    }
}
