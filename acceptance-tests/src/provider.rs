//! The provider binary and the terraform binary the scenarios run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tfrun::provider::{locate_or_build, Profile};

use crate::log;

pub use tfrun::terraform_bin;

/// The directory that holds the built `terraform-provider-libvirt`: `TF_PROVIDER_DIR`, or the
/// release build's directory after one `cargo build --release -p terraform-provider-libvirt` per
/// process ([`tfrun::provider`]).
pub fn provider_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = locate_or_build("TF_PROVIDER_DIR", Profile::Release)?;
        log(format!("provider: {}/terraform-provider-libvirt", d.display()));
        Ok(d)
    });
    match dir {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}
