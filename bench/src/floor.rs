//! libvirt's floor: the libvirt calls an apply, a refresh and a destroy need, made serially through
//! one connection by a small program using the `virt` crate, with no Terraform and no provider.

use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::storage_vol::StorageVol;

/// VIR_STORAGE_POOL_BUILD_NO_OVERWRITE: what the provider builds with.
const BUILD_NO_OVERWRITE: u32 = 1 << 3;

/// A pool and its volumes, as the benchmark's configurations describe them.
#[derive(Clone)]
pub struct Layout {
    pub pool: String,
    pub devices: Vec<String>,
    pub volumes: usize,
    pub volume_bytes: u64,
    /// Delete the volume group on destroy (bed B: so the next apply builds again).
    pub delete_vg: bool,
}

impl Layout {
    fn pool_xml(&self) -> String {
        let devices: String = self
            .devices
            .iter()
            .map(|d| format!("<device path='{d}'/>"))
            .collect();
        format!(
            "<pool type='logical'><name>{0}</name><source>{devices}<name>{0}</name><format type='lvm2'/></source>\
             <target><path>/dev/{0}</path></target></pool>",
            self.pool
        )
    }

    fn volume_xml(&self, i: usize) -> String {
        format!(
            "<volume><name>v{i}</name><capacity unit='bytes'>{0}</capacity><allocation unit='bytes'>{0}</allocation></volume>",
            self.volume_bytes
        )
    }
}

pub struct Floor {
    conn: Connect,
}

fn timed(f: impl FnOnce() -> Result<(), virt::error::Error>) -> Duration {
    let start = Instant::now();
    if let Err(e) = f() {
        panic!("libvirt floor: {e}");
    }
    start.elapsed()
}

impl Floor {
    pub fn open(uri: &str) -> Floor {
        // The test driver refuses the build flag the provider uses; the refusal is handled, not printed.
        virt::error::clear_error_callback();
        Floor {
            conn: Connect::open(Some(uri)).unwrap_or_else(|e| panic!("connect to {uri}: {e}")),
        }
    }

    /// define, build, start, autostart; then create each volume and read its XML back.
    pub fn apply(&self, l: &Layout) -> Duration {
        timed(|| {
            let pool = self.conn.define_storage_pool_xml(&l.pool_xml(), 0)?;
            match pool.build(BUILD_NO_OVERWRITE) {
                Err(e) if e.message().contains("unsupported flags") => pool.build(0),
                other => other,
            }?;
            pool.create(0)?;
            pool.set_autostart(true)?;
            for i in 0..l.volumes {
                let v = StorageVol::create_xml(&pool, &l.volume_xml(i), 0)?;
                v.xml_desc(0)?;
            }
            Ok(())
        })
    }

    /// What a refresh reads: the pool (refreshed once) and each volume's XML.
    pub fn refresh(&self, l: &Layout) -> Duration {
        timed(|| {
            let pool = self.conn.lookup_storage_pool_by_name(&l.pool)?;
            pool.refresh(0)?;
            pool.xml_desc(0)?;
            for i in 0..l.volumes {
                pool.lookup_storage_vol_by_name(&format!("v{i}"))?.xml_desc(0)?;
            }
            Ok(())
        })
    }

    /// Deletes each volume, then stops, (deletes) and undefines the pool.
    pub fn destroy(&self, l: &Layout) -> Duration {
        timed(|| {
            let pool = self.conn.lookup_storage_pool_by_name(&l.pool)?;
            for i in 0..l.volumes {
                pool.lookup_storage_vol_by_name(&format!("v{i}"))?.delete(0)?;
            }
            pool.destroy()?;
            if l.delete_vg {
                pool.delete(0)?;
            }
            pool.undefine()
        })
    }

    /// Refreshes `pool` (what libvirt must do to see a change LVM made).
    pub fn refresh_pool(&self, pool: &str) {
        timed(|| self.conn.lookup_storage_pool_by_name(pool)?.refresh(0));
    }

    /// How many volumes `pool` holds (0 when it does not exist).
    pub fn count_volumes(&self, pool: &str) -> usize {
        self.conn
            .lookup_storage_pool_by_name(pool)
            .and_then(|p| p.list_all_volumes(0))
            .map(|v| v.len())
            .unwrap_or(0)
    }
}
