//! What LVM's own reports say (`lvs`, `vgs`, `pvs` with `--reportformat json`), typed.
//!
//! LVM writes every value as a string (sizes in bytes with `--units b --nosuffix`, percentages
//! with two decimals, empty for "not applicable"); these types turn them into what the guards and
//! features need, and refuse a report they cannot read rather than guess.

use serde::Deserialize;

/// A report that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("LVM's {what} report could not be read: {why}")]
pub struct BadReport {
    /// Which report (`lvs`, `vgs`, `pvs`).
    pub what: &'static str,
    /// What was wrong.
    pub why: String,
}

/// What kind of LV, from `lv_attr`'s first character and `lv_role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LvKind {
    /// A linear or striped LV (its own data).
    Plain,
    /// A thick snapshot of another LV (`lvcreate -s -L`).
    Snapshot,
    /// A thin pool.
    ThinPool,
    /// A thin volume (or a thin snapshot: then [`Lv::origin`] names its origin).
    Thin,
    /// One of LVM's internal LVs (`[name]`: a thin pool's data or metadata, the metadata spare,
    /// a sparse LV's virtual origin, RAID images…).
    Internal,
    /// Anything else (RAID, mirror, cache, VDO…): never touched by this provider.
    Other,
}

impl LvKind {
    /// The kind as this provider's documents name it.
    pub fn as_str(self) -> &'static str {
        match self {
            LvKind::Plain => "plain",
            LvKind::Snapshot => "snapshot",
            LvKind::ThinPool => "thin-pool",
            LvKind::Thin => "thin",
            LvKind::Internal => "internal",
            LvKind::Other => "other",
        }
    }
}

/// One LV as `lvs -a` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Lv {
    /// The LV UUID (libvirt's volume key).
    pub uuid: String,
    /// Its name; internal LVs are written `[name]`.
    pub name: String,
    /// Its volume group.
    pub vg: String,
    /// `lv_attr`, ten characters.
    pub attr: String,
    /// Its size in bytes (for a thin volume, its virtual size).
    pub size: u64,
    /// The LV it is a snapshot of, when it is one.
    pub origin: Option<String>,
    /// For a thin volume, its thin pool.
    pub pool_lv: Option<String>,
    /// `lv_role`: `public`, `private`, `origin`, `snapshot`, `thinorigin`…
    pub roles: Vec<String>,
    /// Whether it is active (has a device).
    pub active: bool,
    /// Whether its device is open (mounted, attached to a running guest, held by another LV…);
    /// `None` when LVM cannot tell (an inactive LV).
    pub open: Option<bool>,
    /// For a thin pool, a thin volume or a snapshot: how full, in percent.
    pub data_percent: Option<f64>,
    /// For a thin pool: how full its metadata is, in percent.
    pub metadata_percent: Option<f64>,
    /// Its tags.
    pub tags: Vec<String>,
    /// `/dev/<vg>/<lv>` for an LV with a device name.
    pub path: Option<String>,
    /// For a thin pool (or a snapshot), its chunk size in bytes.
    pub chunk_size: Option<u64>,
    /// For a thin pool, the size of its metadata LV in bytes.
    pub metadata_size: Option<u64>,
    /// The devices (physical volumes, or LVs for a layered LV) its extents are on.
    pub devices: Vec<String>,
}

impl Lv {
    /// What kind of LV this is.
    pub fn kind(&self) -> LvKind {
        if self.name.starts_with('[') {
            return LvKind::Internal;
        }
        match self.attr.chars().next() {
            Some('-' | 'o' | 'O') => LvKind::Plain,
            Some('s' | 'S') => LvKind::Snapshot,
            Some('t') => LvKind::ThinPool,
            Some('V') => LvKind::Thin,
            Some('T' | 'e' | 'i' | 'I' | 'l' | 'v') => LvKind::Internal,
            _ => LvKind::Other,
        }
    }

    /// Whether other LVs are snapshots of it (a thick origin, or a thin origin).
    pub fn is_origin(&self) -> bool {
        self.roles.iter().any(|r| r.contains("origin"))
    }

    /// Whether it is a thick snapshot that overflowed (its state `I`nvalid): its data is gone.
    pub fn is_invalid_snapshot(&self) -> bool {
        self.kind() == LvKind::Snapshot && self.attr.chars().nth(4) == Some('I')
    }

    /// Whether it is a snapshot being merged back into its origin (`lvconvert --merge` deferred
    /// to the origin's next activation).
    pub fn is_merging(&self) -> bool {
        matches!(self.attr.chars().next(), Some('S' | 'O'))
    }

    /// `vg/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.vg, self.name)
    }
}

/// One volume group as `vgs` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vg {
    /// Its UUID.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its free space in bytes.
    pub free: u64,
    /// Its extent size in bytes.
    pub extent_size: u64,
    /// How many LVs it holds (internal ones not counted).
    pub lv_count: u64,
    /// How many physical volumes it has.
    pub pv_count: u64,
}

/// One physical volume as `pvs` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pv {
    /// The device, by the name LVM knows it by.
    pub name: String,
    /// Its volume group (`None` for a PV in none).
    pub vg: Option<String>,
    /// Its UUID.
    pub uuid: String,
    /// Its size in bytes.
    pub size: u64,
    /// Bytes of it allocated to LVs.
    pub used: u64,
}

#[derive(Deserialize)]
struct Envelope<T> {
    report: Vec<Section<T>>,
}

#[derive(Deserialize)]
struct Section<T> {
    #[serde(alias = "lv", alias = "vg", alias = "pv")]
    rows: Vec<T>,
}

#[derive(Deserialize)]
struct RawLv {
    lv_uuid: String,
    lv_name: String,
    vg_name: String,
    lv_attr: String,
    lv_size: String,
    #[serde(default)]
    origin: String,
    #[serde(default)]
    pool_lv: String,
    #[serde(default)]
    lv_role: String,
    #[serde(default)]
    lv_active: String,
    #[serde(default)]
    lv_device_open: String,
    #[serde(default)]
    data_percent: String,
    #[serde(default)]
    metadata_percent: String,
    #[serde(default)]
    lv_tags: String,
    #[serde(default)]
    lv_path: String,
    #[serde(default)]
    chunk_size: String,
    #[serde(default)]
    lv_metadata_size: String,
    #[serde(default)]
    devices: String,
}

#[derive(Deserialize)]
struct RawVg {
    vg_uuid: String,
    vg_name: String,
    vg_size: String,
    vg_free: String,
    vg_extent_size: String,
    lv_count: String,
    pv_count: String,
}

#[derive(Deserialize)]
struct RawPv {
    pv_name: String,
    #[serde(default)]
    vg_name: String,
    #[serde(default)]
    pv_uuid: String,
    #[serde(default)]
    pv_size: String,
    #[serde(default)]
    pv_used: String,
}

fn rows<T: for<'de> Deserialize<'de>>(json: &str, what: &'static str) -> Result<Vec<T>, BadReport> {
    let env: Envelope<T> = serde_json::from_str(json).map_err(|e| BadReport {
        what,
        why: e.to_string(),
    })?;
    Ok(env.report.into_iter().flat_map(|s| s.rows).collect())
}

fn bytes(v: &str, field: &str, what: &'static str) -> Result<u64, BadReport> {
    v.trim().parse().map_err(|_| BadReport {
        what,
        why: format!("{field} {v:?} is not a number of bytes"),
    })
}

fn opt_bytes(v: &str, field: &str, what: &'static str) -> Result<Option<u64>, BadReport> {
    match v.trim() {
        "" => Ok(None),
        "0" if field == "chunk_size" => Ok(None),
        t => bytes(t, field, what).map(Some),
    }
}

fn percent(v: &str, field: &str) -> Result<Option<f64>, BadReport> {
    match v.trim() {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|_| BadReport {
            what: "lvs",
            why: format!("{field} {v:?} is not a percentage"),
        }),
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn non_empty(v: String) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Reads an `lvs --reportformat json` report.
pub fn parse_lvs(json: &str) -> Result<Vec<Lv>, BadReport> {
    rows::<RawLv>(json, "lvs")?
        .into_iter()
        .map(|r| {
            Ok(Lv {
                size: bytes(&r.lv_size, "lv_size", "lvs")?,
                data_percent: percent(&r.data_percent, "data_percent")?,
                metadata_percent: percent(&r.metadata_percent, "metadata_percent")?,
                chunk_size: opt_bytes(&r.chunk_size, "chunk_size", "lvs")?,
                metadata_size: opt_bytes(&r.lv_metadata_size, "lv_metadata_size", "lvs")?,
                uuid: r.lv_uuid,
                name: r.lv_name,
                vg: r.vg_name,
                attr: r.lv_attr,
                origin: non_empty(r.origin),
                pool_lv: non_empty(r.pool_lv),
                roles: list(&r.lv_role),
                active: r.lv_active.trim() == "active",
                open: match r.lv_device_open.trim() {
                    "open" => Some(true),
                    "" => Some(false),
                    _ => None,
                },
                tags: list(&r.lv_tags),
                path: non_empty(r.lv_path),
                devices: list(&r.devices)
                    .into_iter()
                    .map(|d| d.split('(').next().unwrap_or_default().to_string())
                    .filter(|d| !d.is_empty())
                    .collect(),
            })
        })
        .collect()
}

/// Reads a `vgs --reportformat json` report.
pub fn parse_vgs(json: &str) -> Result<Vec<Vg>, BadReport> {
    rows::<RawVg>(json, "vgs")?
        .into_iter()
        .map(|r| {
            Ok(Vg {
                size: bytes(&r.vg_size, "vg_size", "vgs")?,
                free: bytes(&r.vg_free, "vg_free", "vgs")?,
                extent_size: bytes(&r.vg_extent_size, "vg_extent_size", "vgs")?,
                lv_count: bytes(&r.lv_count, "lv_count", "vgs")?,
                pv_count: bytes(&r.pv_count, "pv_count", "vgs")?,
                uuid: r.vg_uuid,
                name: r.vg_name,
            })
        })
        .collect()
}

/// Reads a `pvs --reportformat json` report.
pub fn parse_pvs(json: &str) -> Result<Vec<Pv>, BadReport> {
    rows::<RawPv>(json, "pvs")?
        .into_iter()
        .map(|r| {
            Ok(Pv {
                size: opt_bytes(&r.pv_size, "pv_size", "pvs")?.unwrap_or(0),
                used: opt_bytes(&r.pv_used, "pv_used", "pvs")?.unwrap_or(0),
                vg: non_empty(r.vg_name),
                uuid: r.pv_uuid,
                name: r.pv_name,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Measured on the lab (LVM 2.03.16): a plain LV, a thin pool with its internal LVs and the
    /// metadata spare, a thick snapshot, a thin LV, an LV deactivated by hand.
    const LVS: &str = r#"  {
      "report": [
          {
              "lv": [
                  {"lv_uuid":"MRyU0a-kAIz-xh5w-3RuV-DuC1-br1L-EAxLH9", "lv_name":"a", "vg_name":"tvg", "lv_attr":"owi-a-----", "lv_size":"8388608", "origin":"", "pool_lv":"", "lv_role":"public,origin,thickorigin", "lv_active":"active", "lv_device_open":"", "data_percent":"", "metadata_percent":"", "lv_tags":"tf-a,x", "lv_path":"/dev/tvg/a", "chunk_size":"0", "lv_metadata_size":"", "devices":"/dev/vdb(0),/dev/vdc(12)"},
                  {"lv_uuid":"GnKwbm-LsE1-cJ8m-J5wW-uG0K-CN9Q-fe0TaS", "lv_name":"[lvol0_pmspare]", "vg_name":"tvg", "lv_attr":"ewi-------", "lv_size":"4194304", "origin":"", "pool_lv":"", "lv_role":"private,pool,spare", "lv_active":"", "lv_device_open":"unknown", "data_percent":"", "metadata_percent":"", "lv_tags":"", "lv_path":"", "chunk_size":"0", "lv_metadata_size":""},
                  {"lv_uuid":"2RhwMa-5SiD-sHql-34eA-LZtW-LR6q-FoAo7v", "lv_name":"tp", "vg_name":"tvg", "lv_attr":"twi-aotz--", "lv_size":"16777216", "origin":"", "pool_lv":"", "lv_role":"private", "lv_active":"active", "lv_device_open":"open", "data_percent":"12.50", "metadata_percent":"10.84", "lv_tags":"", "lv_path":"", "chunk_size":"65536", "lv_metadata_size":"4194304"},
                  {"lv_uuid":"pfaoae-ep3v-BKQp-4iG2-ZQSo-jbFm-7EoVJA", "lv_name":"snap", "vg_name":"tvg", "lv_attr":"swi-I-s---", "lv_size":"4194304", "origin":"a", "pool_lv":"", "lv_role":"public,snapshot,thicksnapshot", "lv_active":"active", "lv_device_open":"", "data_percent":"100.00", "metadata_percent":"", "lv_tags":"", "lv_path":"/dev/tvg/snap", "chunk_size":"4096", "lv_metadata_size":""},
                  {"lv_uuid":"YCllSb-ABh9-ZwI1-YdRW-UKZg-n48s-lxXOC3", "lv_name":"thinv", "vg_name":"tvg", "lv_attr":"Vwi-aotz--", "lv_size":"67108864", "origin":"", "pool_lv":"tp", "lv_role":"public", "lv_active":"active", "lv_device_open":"open", "data_percent":"3.10", "metadata_percent":"", "lv_tags":"", "lv_path":"/dev/tvg/thinv", "chunk_size":"0", "lv_metadata_size":""},
                  {"lv_uuid":"accyUA-Ke7w-kCkJ-cpOE-eDxP-V7cB-GkiKiH", "lv_name":"inact", "vg_name":"tvg", "lv_attr":"-wi-------", "lv_size":"4194304", "origin":"", "pool_lv":"", "lv_role":"public", "lv_active":"", "lv_device_open":"unknown", "data_percent":"", "metadata_percent":"", "lv_tags":"", "lv_path":"/dev/tvg/inact", "chunk_size":"0", "lv_metadata_size":""}
              ]
          }
      ]
  }"#;

    #[test]
    fn lvs_reports_read_as_typed_lvs() {
        let lvs = parse_lvs(LVS).expect("reads");
        let kinds: Vec<(&str, LvKind)> = lvs.iter().map(|l| (l.name.as_str(), l.kind())).collect();
        assert_eq!(
            kinds,
            [
                ("a", LvKind::Plain),
                ("[lvol0_pmspare]", LvKind::Internal),
                ("tp", LvKind::ThinPool),
                ("snap", LvKind::Snapshot),
                ("thinv", LvKind::Thin),
                ("inact", LvKind::Plain),
            ]
        );
        let a = &lvs[0];
        assert_eq!((a.size, a.open, a.active), (8 << 20, Some(false), true));
        assert!(a.is_origin());
        assert_eq!(a.tags, ["tf-a", "x"]);
        assert_eq!(a.path.as_deref(), Some("/dev/tvg/a"));
        assert_eq!(a.chunk_size, None);
        assert_eq!(a.devices, ["/dev/vdb", "/dev/vdc"]);
        let tp = &lvs[2];
        assert_eq!(
            (
                tp.data_percent,
                tp.metadata_percent,
                tp.chunk_size,
                tp.metadata_size
            ),
            (Some(12.5), Some(10.84), Some(65536), Some(4 << 20))
        );
        assert_eq!(tp.open, Some(true));
        assert!(lvs[3].is_invalid_snapshot());
        assert_eq!(lvs[3].origin.as_deref(), Some("a"));
        assert_eq!(lvs[4].pool_lv.as_deref(), Some("tp"));
        assert_eq!(lvs[5].open, None, "LVM cannot tell for an inactive LV");
        assert!(!lvs[5].active);
    }

    #[test]
    fn vgs_and_pvs_reports_read() {
        let vgs = parse_vgs(
            r#"{"report":[{"vg":[{"vg_uuid":"TazE3G","vg_name":"tvg","vg_size":"1069547520","vg_free":"1010827264",
            "vg_extent_size":"4194304","lv_count":"8","pv_count":"1"}]}]}"#,
        )
        .expect("reads");
        assert_eq!(vgs[0].free, 1010827264);
        assert_eq!(vgs[0].lv_count, 8);
        let pvs = parse_pvs(
            r#"{"report":[{"pv":[{"pv_name":"/dev/vdb","vg_name":"tvg","pv_uuid":"iXQtlF","pv_size":"1069547520","pv_used":"0"},
            {"pv_name":"/dev/vdc","vg_name":"","pv_uuid":"x","pv_size":"1073741824","pv_used":"0"}]}]}"#,
        )
        .expect("reads");
        assert_eq!(pvs[0].vg.as_deref(), Some("tvg"));
        assert_eq!(pvs[1].vg, None);
    }

    #[test]
    fn unreadable_reports_are_refused() {
        assert!(parse_lvs("not json").is_err());
        assert!(parse_lvs(&LVS.replace("\"8388608\"", "\"8M\"")).is_err());
        assert!(parse_vgs(r#"{"report":[{"vg":[{"vg_name":"x"}]}]}"#).is_err());
        assert_eq!(parse_lvs(r#"{"report":[{"lv":[]}]}"#).expect("empty"), []);
    }
}
