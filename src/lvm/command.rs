//! The fixed set of commands the provider runs on the hypervisor, and their argument vectors.
//!
//! Every command is a variant of [`Command`]; its arguments are typed and validated when the
//! command is made ([`Command::argv`]): volume group and LV names by LVM's own rules, devices as
//! normalised absolute paths under `/dev/`, sizes as whole bytes, UUIDs and tags by their fixed
//! forms. Nothing a user writes is ever passed to a shell as text: locally the vector is executed
//! as it is, and over ssh (whose remote side always runs one command line through the login
//! shell) each element is quoted on its own ([`remote_line`]), which a POSIX shell splits back
//! into exactly the same vector (checked by unit tests and a fuzz target).

use std::fmt;

use crate::names::{validate_device_path, validate_lv_name, validate_vg_name};

/// The fields every LV report asks for (see [`crate::lvm::report::Lv`]).
pub const LV_FIELDS: &str = "lv_uuid,lv_name,vg_name,lv_attr,lv_size,origin,pool_lv,lv_role,lv_active,\
lv_device_open,data_percent,metadata_percent,lv_tags,lv_path,chunk_size,\
lv_metadata_size,devices";
/// The fields every VG report asks for.
pub const VG_FIELDS: &str = "vg_uuid,vg_name,vg_size,vg_free,vg_extent_size,lv_count,pv_count";
/// The fields every PV report asks for.
pub const PV_FIELDS: &str = "pv_name,vg_name,pv_uuid,pv_size,pv_used";

/// A command the provider may run on the hypervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `lvm version`: whether LVM's tools answer at all (and as whom they run).
    Version,
    /// Every LV of a volume group, hidden ones included, as JSON.
    Lvs {
        /// The volume group.
        vg: String,
    },
    /// Volume groups as JSON (all of them when `None`).
    Vgs {
        /// One volume group, or all.
        vg: Option<String>,
    },
    /// Physical volumes as JSON: the devices given (by any of their names; LVM reports the name
    /// it knows them by), or all of them.
    Pvs {
        /// The devices, or all when empty.
        devices: Vec<String>,
    },
    /// Grows an LV to exactly `bytes` (never shrinks: `lvextend` refuses a smaller size).
    Extend {
        /// The volume group.
        vg: String,
        /// The LV.
        lv: String,
        /// The new size.
        bytes: u64,
    },
    /// Shrinks an LV to exactly `bytes` (only after every guard passed: the data beyond is lost).
    Reduce {
        /// The volume group.
        vg: String,
        /// The LV.
        lv: String,
        /// The new size.
        bytes: u64,
    },
    /// Removes the LV with this UUID, in this volume group, when LVM itself finds it is no
    /// origin of snapshots (`lv_role` without `origin`): identity and dependants are checked by
    /// LVM under its own volume group lock, in the same command as the removal.
    RemoveByUuid {
        /// The volume group.
        vg: String,
        /// The LV's name (it must still have it).
        lv: String,
        /// The LV UUID.
        uuid: String,
    },
    /// Adds devices to a volume group (`pvcreate` implied); `wipe` answers yes to wiping the
    /// signatures LVM finds on them (a filesystem, a partition table).
    VgExtend {
        /// The volume group.
        vg: String,
        /// The devices.
        devices: Vec<String>,
        /// Wipe what the devices hold.
        wipe: bool,
    },
    /// Removes empty physical volumes from a volume group.
    VgReduce {
        /// The volume group.
        vg: String,
        /// The devices.
        devices: Vec<String>,
    },
    /// Clears the LVM label of devices that belong to no volume group.
    PvRemove {
        /// The devices.
        devices: Vec<String>,
    },
    /// Makes a thin pool of `bytes` of data (`lvcreate --type thin-pool`); chunk and metadata
    /// sizes are LVM's choice when `None`.
    ThinPoolCreate {
        /// The volume group.
        vg: String,
        /// The thin pool's name.
        name: String,
        /// Its data size.
        bytes: u64,
        /// Its chunk size (a multiple of 64 KiB between 64 KiB and 1 GiB).
        chunk_size: Option<u64>,
        /// The size of its metadata LV.
        metadata_size: Option<u64>,
    },
    /// Makes a thin volume of `bytes` virtual size in a thin pool (`lvcreate --type thin`).
    ThinCreate {
        /// The volume group.
        vg: String,
        /// The thin pool.
        thin_pool: String,
        /// The thin volume's name.
        name: String,
        /// Its virtual size.
        bytes: u64,
    },
    /// A thin snapshot of a thin volume (no size: it shares the thin pool), made active and
    /// without LVM's activation-skip flag (which thin snapshots get by default) so that it has a
    /// device at once and after every activation of the volume group, like any volume.
    ThinSnapshot {
        /// The volume group.
        vg: String,
        /// The thin volume (or thin snapshot) it is a snapshot of.
        origin: String,
        /// The snapshot's name.
        name: String,
    },
    /// A thick (copy-on-write) snapshot of a plain LV, with `bytes` for the changed blocks.
    ThickSnapshot {
        /// The volume group.
        vg: String,
        /// The LV it is a snapshot of.
        origin: String,
        /// The snapshot's name.
        name: String,
        /// Its copy-on-write space.
        bytes: u64,
    },
    /// Merges the snapshot `lv` back into its origin (`lvconvert --merge`): the origin reads as
    /// the snapshot did and the snapshot is gone. LVM defers the merge to the origin's next
    /// activation when the origin is open.
    Merge {
        /// The volume group.
        vg: String,
        /// The snapshot.
        lv: String,
    },
    /// Removes the thin pool with this UUID when, by LVM's own count under its volume group lock,
    /// it holds no thin volume (`lvremove` of a thin pool removes its thin volumes with it).
    RemoveEmptyThinPool {
        /// The volume group.
        vg: String,
        /// The thin pool's name (it must still have it).
        lv: String,
        /// The thin pool's LV UUID.
        uuid: String,
    },
}

/// An argument that cannot be passed: which one and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {why}")]
pub struct BadArgument {
    /// The argument.
    pub what: &'static str,
    /// What is wrong.
    pub why: String,
}

fn check(what: &'static str, r: Result<(), String>) -> Result<(), BadArgument> {
    r.map_err(|why| BadArgument { what, why })
}

/// An LVM UUID: six to thirty-two characters from LVM's UUID alphabet and dashes (LVM writes
/// 32 characters in groups of 6-4-4-4-4-4-6).
fn check_uuid(uuid: &str) -> Result<(), BadArgument> {
    let ok = (6..=38).contains(&uuid.len())
        && uuid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !uuid.starts_with('-');
    check(
        "LV UUID",
        if ok {
            Ok(())
        } else {
            Err(format!("{uuid:?} is not an LVM UUID"))
        },
    )
}

fn check_devices(devices: &[String]) -> Result<(), BadArgument> {
    for d in devices {
        check("device", validate_device_path(d))?;
    }
    Ok(())
}

fn lv_path(vg: &str, lv: &str) -> String {
    format!("{vg}/{lv}")
}

/// LVM's rule for a thin pool's chunk size: a multiple of 64 KiB from 64 KiB to 1 GiB.
pub fn thin_chunk_size_rule(bytes: u64) -> Result<(), String> {
    if bytes % (64 << 10) == 0 && ((64 << 10)..=(1 << 30)).contains(&bytes) {
        Ok(())
    } else {
        Err(format!(
            "{bytes} bytes is no thin pool chunk size: LVM takes a multiple of 64 KiB from 64 KiB to 1 GiB, such as \"64KiB\" or \"512KiB\""
        ))
    }
}

fn check_size(what: &'static str, bytes: u64) -> Result<(), BadArgument> {
    check(
        what,
        if bytes == 0 {
            Err("a size of 0 bytes".into())
        } else {
            Ok(())
        },
    )
}

fn check_vg_lv(vg: &str, lvs: &[&str]) -> Result<(), BadArgument> {
    check("volume group", validate_vg_name(vg))?;
    for lv in lvs {
        check("logical volume", validate_lv_name(lv))?;
    }
    Ok(())
}

impl Command {
    /// What LVM is asked for, as an argument vector after `lvm` (validated).
    // Over 100 lines on purpose: one arm per command of the fixed set, each its whole argument vector, read side by side.
    pub fn argv(&self) -> Result<Vec<String>, BadArgument> {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let report = |kind: &str, fields: &str| {
            s(&[
                kind,
                "--reportformat",
                "json",
                "--units",
                "b",
                "--nosuffix",
                "-o",
                fields,
            ])
        };
        Ok(match self {
            Command::Version => s(&["version"]),
            Command::Lvs { vg } => {
                check("volume group", validate_vg_name(vg))?;
                let mut a = report("lvs", LV_FIELDS);
                a.extend(s(&["-a", "--", vg]));
                a
            }
            Command::Vgs { vg } => {
                let mut a = report("vgs", VG_FIELDS);
                if let Some(vg) = vg {
                    check("volume group", validate_vg_name(vg))?;
                    a.extend(s(&["--", vg]));
                }
                a
            }
            Command::Pvs { devices } => {
                check_devices(devices)?;
                let mut a = report("pvs", PV_FIELDS);
                a.push("--".into());
                a.extend(devices.iter().cloned());
                a
            }
            Command::Extend { vg, lv, bytes } | Command::Reduce { vg, lv, bytes } => {
                check("volume group", validate_vg_name(vg))?;
                check("logical volume", validate_lv_name(lv))?;
                check(
                    "size",
                    if *bytes == 0 {
                        Err("a size of 0 bytes".into())
                    } else {
                        Ok(())
                    },
                )?;
                let verb = if matches!(self, Command::Extend { .. }) {
                    "lvextend"
                } else {
                    "lvreduce"
                };
                let mut a = s(&[verb]);
                // lvreduce asks before it cuts data off; the guards already decided.
                if verb == "lvreduce" {
                    a.push("--yes".into());
                }
                a.extend([
                    "--size".to_string(),
                    format!("{bytes}b"),
                    "--".into(),
                    lv_path(vg, lv),
                ]);
                a
            }
            Command::RemoveByUuid { vg, lv, uuid } => {
                check("volume group", validate_vg_name(vg))?;
                check("logical volume", validate_lv_name(lv))?;
                check_uuid(uuid)?;
                s(&[
                    "lvremove",
                    "--force",
                    "--select",
                    &format!("lv_uuid={uuid} && lv_name=\"{lv}\" && lv_role!={{origin}}"),
                    "--",
                    vg,
                ])
            }
            Command::VgExtend { vg, devices, wipe } => {
                check("volume group", validate_vg_name(vg))?;
                check_devices(devices)?;
                let mut a = s(&["vgextend"]);
                if *wipe {
                    a.push("--yes".into());
                }
                a.extend(["--".to_string(), vg.clone()]);
                a.extend(devices.iter().cloned());
                a
            }
            Command::VgReduce { vg, devices } => {
                check("volume group", validate_vg_name(vg))?;
                check_devices(devices)?;
                let mut a = s(&["vgreduce", "--", vg]);
                a.extend(devices.iter().cloned());
                a
            }
            Command::PvRemove { devices } => {
                check_devices(devices)?;
                let mut a = s(&["pvremove", "--"]);
                a.extend(devices.iter().cloned());
                a
            }
            Command::ThinPoolCreate {
                vg,
                name,
                bytes,
                chunk_size,
                metadata_size,
            } => {
                check_vg_lv(vg, &[name])?;
                check_size("size", *bytes)?;
                let mut a = s(&["lvcreate", "--type", "thin-pool", "--size"]);
                a.push(format!("{bytes}b"));
                if let Some(c) = chunk_size {
                    check("chunk size", thin_chunk_size_rule(*c))?;
                    a.extend(["--chunksize".to_string(), format!("{c}b")]);
                }
                if let Some(m) = metadata_size {
                    check_size("metadata size", *m)?;
                    a.extend(["--poolmetadatasize".to_string(), format!("{m}b")]);
                }
                a.extend(["--name".to_string(), name.clone(), "--".into(), vg.clone()]);
                a
            }
            Command::ThinCreate {
                vg,
                thin_pool,
                name,
                bytes,
            } => {
                check_vg_lv(vg, &[thin_pool, name])?;
                check_size("size", *bytes)?;
                let mut a = s(&["lvcreate", "--type", "thin", "--virtualsize"]);
                a.push(format!("{bytes}b"));
                a.extend([
                    "--thinpool".to_string(),
                    thin_pool.clone(),
                    "--name".into(),
                    name.clone(),
                    "--".into(),
                    vg.clone(),
                ]);
                a
            }
            Command::ThinSnapshot { vg, origin, name } => {
                check_vg_lv(vg, &[origin, name])?;
                let mut a = s(&[
                    "lvcreate",
                    "--snapshot",
                    "--setactivationskip",
                    "n",
                    "--activate",
                    "y",
                    "--name",
                ]);
                a.extend([name.clone(), "--".into(), lv_path(vg, origin)]);
                a
            }
            Command::ThickSnapshot {
                vg,
                origin,
                name,
                bytes,
            } => {
                check_vg_lv(vg, &[origin, name])?;
                check_size("size", *bytes)?;
                let mut a = s(&["lvcreate", "--snapshot", "--size"]);
                a.extend([
                    format!("{bytes}b"),
                    "--name".into(),
                    name.clone(),
                    "--".into(),
                    lv_path(vg, origin),
                ]);
                a
            }
            Command::Merge { vg, lv } => {
                check_vg_lv(vg, &[lv])?;
                s(&["lvconvert", "--merge", "--", &lv_path(vg, lv)])
            }
            Command::RemoveEmptyThinPool { vg, lv, uuid } => {
                check_vg_lv(vg, &[lv])?;
                check_uuid(uuid)?;
                s(&[
                    "lvremove",
                    "--force",
                    "--select",
                    &format!("lv_uuid={uuid} && lv_name=\"{lv}\" && segtype=thin-pool && thin_count=0"),
                    "--",
                    vg,
                ])
            }
        })
    }

    /// Whether the command changes nothing (it may be repeated after a lost connection).
    pub fn reads_only(&self) -> bool {
        matches!(
            self,
            Command::Version | Command::Lvs { .. } | Command::Vgs { .. } | Command::Pvs { .. }
        )
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.argv() {
            Ok(argv) => write!(f, "lvm {}", argv.join(" ")),
            Err(e) => write!(f, "(invalid command: {e})"),
        }
    }
}

/// Quotes one argument for a POSIX shell: unchanged when it holds only characters no shell
/// treats specially, else in single quotes (a `'` inside written as `'\''`).
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.' | '/' | ':' | '=' | '+' | ',' | '@' | '%')
        });
    if plain {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', "'\\''"))
}

/// The command line a remote login shell runs for `argv`: each element quoted on its own, so the
/// shell splits it back into exactly `argv`.
pub fn remote_line(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn commands_build_their_argument_vectors() {
        let lvs = Command::Lvs { vg: "vg-1".into() }.argv().expect("valid");
        assert_eq!(&lvs[..2], &v(&["lvs", "--reportformat"])[..]);
        assert_eq!(&lvs[lvs.len() - 3..], &v(&["-a", "--", "vg-1"])[..]);
        assert_eq!(
            Command::Extend {
                vg: "vg".into(),
                lv: "data".into(),
                bytes: 41943040
            }
            .argv()
            .expect("valid"),
            v(&["lvextend", "--size", "41943040b", "--", "vg/data"])
        );
        assert_eq!(
            Command::Reduce {
                vg: "vg".into(),
                lv: "data".into(),
                bytes: 8388608
            }
            .argv()
            .expect("valid"),
            v(&["lvreduce", "--yes", "--size", "8388608b", "--", "vg/data"])
        );
        assert_eq!(
            Command::RemoveByUuid {
                vg: "vg".into(),
                lv: "data".into(),
                uuid: "QSlBs4-2Ehd-5uDy-8FTl-j55E-dUPK-An2D2Y".into()
            }
            .argv()
            .expect("valid"),
            v(&[
                "lvremove",
                "--force",
                "--select",
                "lv_uuid=QSlBs4-2Ehd-5uDy-8FTl-j55E-dUPK-An2D2Y && lv_name=\"data\" && lv_role!={origin}",
                "--",
                "vg"
            ])
        );
        assert_eq!(
            Command::VgExtend {
                vg: "vg".into(),
                devices: v(&["/dev/disk/by-path/pci-0000:00:05.0"]),
                wipe: false
            }
            .argv()
            .expect("valid"),
            v(&["vgextend", "--", "vg", "/dev/disk/by-path/pci-0000:00:05.0"])
        );
    }

    /// Hostile names, sizes and devices never make a command: each is refused naming the argument.
    #[test]
    fn hostile_arguments_are_refused() {
        let refused = [
            Command::Lvs {
                vg: "vg; rm -rf /".into(),
            },
            Command::Lvs { vg: "-vg".into() },
            Command::Lvs {
                vg: "$(reboot)".into(),
            },
            Command::Extend {
                vg: "vg".into(),
                lv: "a b".into(),
                bytes: 1,
            },
            Command::Extend {
                vg: "vg".into(),
                lv: "lv".into(),
                bytes: 0,
            },
            Command::Extend {
                vg: "vg".into(),
                lv: "`id`".into(),
                bytes: 1,
            },
            Command::RemoveByUuid {
                vg: "vg".into(),
                lv: "lv".into(),
                uuid: "x || lv_name=y".into(),
            },
            Command::RemoveByUuid {
                vg: "vg".into(),
                lv: "lv".into(),
                uuid: "-abcdef".into(),
            },
            Command::RemoveByUuid {
                vg: "vg".into(),
                lv: "a\" || lv_name=\"b".into(),
                uuid: "QSlBs4-2Ehd-5uDy-8FTl-j55E-dUPK-An2D2Y".into(),
            },
            Command::Pvs {
                devices: v(&["/dev/sdb x"]),
            },
            Command::Pvs {
                devices: v(&["/etc/shadow"]),
            },
            Command::VgExtend {
                vg: "vg".into(),
                devices: v(&["/dev/../etc/passwd"]),
                wipe: true,
            },
            Command::Pvs {
                devices: v(&["/dev/sdb\n"]),
            },
        ];
        for c in refused {
            assert!(c.argv().is_err(), "{c:?} must be refused");
        }
    }

    /// What a POSIX shell makes of the remote line is exactly the vector.
    #[test]
    fn remote_lines_split_back_into_their_vectors() {
        for argv in [
            v(&["lvm", "lvs", "--", "vg"]),
            v(&[
                "it's",
                "a \"quoted\" $HOME `x` \\ arg",
                "",
                "*",
                "~",
                "#c",
                "a;b",
                "a|b&c",
            ]),
            v(&["lvm", "lvremove", "--select", "lv_uuid=abc && lv_role!={origin}"]),
            v(&["\t\n", "'", "''", "a'b'c"]),
        ] {
            let line = remote_line(&argv);
            assert_eq!(shell_words::split(&line).expect("splits"), argv, "{line}");
        }
    }

    // Over 100 lines on purpose: one table, every thin and snapshot command beside the argv it must build.
    #[test]
    fn thin_and_snapshot_commands_build_their_argument_vectors() {
        assert_eq!(
            Command::ThinPoolCreate {
                vg: "vg".into(),
                name: "tp".into(),
                bytes: 268435456,
                chunk_size: Some(65536),
                metadata_size: Some(4194304),
            }
            .argv()
            .expect("valid"),
            v(&[
                "lvcreate",
                "--type",
                "thin-pool",
                "--size",
                "268435456b",
                "--chunksize",
                "65536b",
                "--poolmetadatasize",
                "4194304b",
                "--name",
                "tp",
                "--",
                "vg"
            ])
        );
        assert_eq!(
            Command::ThinPoolCreate {
                vg: "vg".into(),
                name: "tp".into(),
                bytes: 268435456,
                chunk_size: None,
                metadata_size: None,
            }
            .argv()
            .expect("valid"),
            v(&[
                "lvcreate",
                "--type",
                "thin-pool",
                "--size",
                "268435456b",
                "--name",
                "tp",
                "--",
                "vg"
            ])
        );
        assert_eq!(
            Command::ThinCreate {
                vg: "vg".into(),
                thin_pool: "tp".into(),
                name: "t1".into(),
                bytes: 1 << 30,
            }
            .argv()
            .expect("valid"),
            v(&[
                "lvcreate",
                "--type",
                "thin",
                "--virtualsize",
                "1073741824b",
                "--thinpool",
                "tp",
                "--name",
                "t1",
                "--",
                "vg"
            ])
        );
        assert_eq!(
            Command::ThinSnapshot {
                vg: "vg".into(),
                origin: "t1".into(),
                name: "s1".into(),
            }
            .argv()
            .expect("valid"),
            v(&[
                "lvcreate",
                "--snapshot",
                "--setactivationskip",
                "n",
                "--activate",
                "y",
                "--name",
                "s1",
                "--",
                "vg/t1"
            ])
        );
        assert_eq!(
            Command::ThickSnapshot {
                vg: "vg".into(),
                origin: "data".into(),
                name: "s1".into(),
                bytes: 8 << 20,
            }
            .argv()
            .expect("valid"),
            v(&[
                "lvcreate",
                "--snapshot",
                "--size",
                "8388608b",
                "--name",
                "s1",
                "--",
                "vg/data"
            ])
        );
        assert_eq!(
            Command::Merge {
                vg: "vg".into(),
                lv: "s1".into()
            }
            .argv()
            .expect("valid"),
            v(&["lvconvert", "--merge", "--", "vg/s1"])
        );
        assert_eq!(
            Command::RemoveEmptyThinPool {
                vg: "vg".into(),
                lv: "tp".into(),
                uuid: "QSlBs4-2Ehd-5uDy-8FTl-j55E-dUPK-An2D2Y".into()
            }
            .argv()
            .expect("valid"),
            v(&[
                "lvremove",
                "--force",
                "--select",
                "lv_uuid=QSlBs4-2Ehd-5uDy-8FTl-j55E-dUPK-An2D2Y && lv_name=\"tp\" && segtype=thin-pool && thin_count=0",
                "--",
                "vg"
            ])
        );
    }

    #[test]
    fn hostile_thin_and_snapshot_arguments_are_refused() {
        let refused = [
            Command::ThinPoolCreate {
                vg: "vg".into(),
                name: "tp".into(),
                bytes: 0,
                chunk_size: None,
                metadata_size: None,
            },
            Command::ThinPoolCreate {
                vg: "vg".into(),
                name: "tp".into(),
                bytes: 1 << 20,
                chunk_size: Some(1000),
                metadata_size: None,
            },
            Command::ThinPoolCreate {
                vg: "vg".into(),
                name: "tp".into(),
                bytes: 1 << 20,
                chunk_size: None,
                metadata_size: Some(0),
            },
            Command::ThinCreate {
                vg: "vg".into(),
                thin_pool: "--thinpool".into(),
                name: "t".into(),
                bytes: 1,
            },
            Command::ThinCreate {
                vg: "vg".into(),
                thin_pool: "tp".into(),
                name: "t;id".into(),
                bytes: 1,
            },
            Command::ThinSnapshot {
                vg: "vg".into(),
                origin: "../x".into(),
                name: "s".into(),
            },
            Command::ThickSnapshot {
                vg: "vg".into(),
                origin: "o".into(),
                name: "s".into(),
                bytes: 0,
            },
            Command::Merge {
                vg: "vg".into(),
                lv: "a b".into(),
            },
            Command::RemoveEmptyThinPool {
                vg: "vg".into(),
                lv: "tp".into(),
                uuid: "x || thin_count>0".into(),
            },
        ];
        for c in refused {
            assert!(c.argv().is_err(), "{c:?} must be refused");
        }
    }

    #[test]
    fn only_reports_read_only() {
        assert!(Command::Version.reads_only());
        assert!(Command::Vgs { vg: None }.reads_only());
        assert!(!Command::VgReduce {
            vg: "vg".into(),
            devices: vec![]
        }
        .reads_only());
    }
}
