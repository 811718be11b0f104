//! Each judge against worlds where data was lost, and against an unchanged one.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::*;

// ------------------------------------------------------------------------------------------------
// The adversarial World and Tally

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A guest with VGs `vg1` (LVs `keep`, `managed`) and `fvg` (LV `hand`), a running pool `p` over
/// vg1, and a domain `d` using `vg1/keep` as `sdb` in both views.
fn guest() -> World {
    let out = format!(
        "vg,vg1,VG1-UUID\nvg,fvg,FVG-UUID\nlv,vg1/keep,K-UUID,,{SHA_A}\nlv,vg1/managed,M-UUID,,{SHA_B}\n\
         lv,fvg/hand,H-UUID,,{SHA_A}\n"
    );
    let mut w = World::from_guest(&out).expect("parses");
    w.pools.insert("p".into(), "P-UUID running".into());
    let disk = "<disk type='block' device='disk'>\n<source dev='/dev/vg1/keep'/>\n<target dev='sdb' bus='scsi'/>\n</disk>";
    for view in ["live", "saved"] {
        w.disks.insert(format!("d {view}"), vec![disk.to_string()]);
    }
    w
}

fn lost(before: &World, after: &World, removed: &[&str]) -> Vec<String> {
    let removed: Vec<String> = removed.iter().map(|r| r.to_string()).collect();
    before.lost_in(after, &removed)
}

#[test]
fn guest_world_parses_and_refuses_lines_it_does_not_know() {
    let w = guest();
    assert_eq!(w.vgs["vg1"], "VG1-UUID");
    assert_eq!(w.lvs["vg1/managed"], ("M-UUID".to_string(), SHA_B.to_string()));
    let e = World::from_guest("vg,vg1,U\n  WARNING: PV /dev/vdb is missing\n").expect_err("noise");
    assert!(e.contains("WARNING: PV /dev/vdb is missing"), "{e}");
    assert_eq!(World::from_guest("").expect("empty"), World::default());
}

#[test]
fn an_unchanged_world_loses_nothing() {
    let w = guest();
    assert_eq!(lost(&w, &w.clone(), &[]), Vec::<String>::new());
    // A pool stopped and started again keeps its UUID: not a loss.
    let mut after = w.clone();
    after.pools.insert("p".into(), "P-UUID inactive".into());
    assert_eq!(lost(&w, &after, &[]), Vec::<String>::new());
    // New objects are never a loss.
    after.lvs.insert("vg1/new".into(), ("N".into(), SHA_A.into()));
    after.vgs.insert("vg9".into(), "V9".into());
    assert_eq!(lost(&w, &after, &[]), Vec::<String>::new());
}

#[test]
fn each_kind_of_loss_is_data_lost() {
    let w = guest();
    type Change = Box<dyn Fn(&mut World)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "an LV gone",
            Box::new(|a| drop(a.lvs.remove("fvg/hand"))),
            "LV fvg/hand LOST (deleted)",
        ),
        (
            "an LV made again under its name",
            Box::new(|a| drop(a.lvs.insert("vg1/keep".into(), ("OTHER".into(), SHA_A.into())))),
            "LV vg1/keep LOST (now UUID OTHER)",
        ),
        (
            "a pattern changed",
            Box::new(|a| drop(a.lvs.insert("vg1/keep".into(), ("K-UUID".into(), SHA_B.into())))),
            "LV vg1/keep data changed",
        ),
        (
            "a VG gone (with its LV)",
            Box::new(|a| {
                a.vgs.remove("fvg");
                a.lvs.remove("fvg/hand");
            }),
            "VG fvg (FVG-UUID) is now None",
        ),
        (
            "a VG made again under its name",
            Box::new(|a| drop(a.vgs.insert("vg1".into(), "NEW".into()))),
            "VG vg1 (VG1-UUID) is now Some(\"NEW\")",
        ),
        (
            "a disk detached from the live XML",
            Box::new(|a| drop(a.disks.insert("d live".into(), Vec::new()))),
            "disk sdb of d live detached or changed",
        ),
        (
            "a disk's source changed",
            Box::new(|a| {
                let changed = a.disks["d saved"][0].replace("/dev/vg1/keep", "/dev/vg1/managed");
                a.disks.insert("d saved".into(), vec![changed]);
            }),
            "disk sdb of d saved detached or changed",
        ),
        (
            "a domain gone",
            Box::new(|a| drop(a.disks.remove("d live"))),
            "domain d live is gone",
        ),
        (
            "a pool made again under its name",
            Box::new(|a| drop(a.pools.insert("p".into(), "Q-UUID running".into()))),
            "pool p (P-UUID running) is now Some(\"Q-UUID running\")",
        ),
    ];
    for (what, change, want) in cases {
        let mut after = w.clone();
        change(&mut after);
        let problems = lost(&w, &after, &[]);
        assert!(
            problems.iter().any(|p| p == want),
            "{what}: expected {want:?} among {problems:?}"
        );
        // The same change is fine when the scenario asked for exactly that removal, and only then.
        let allowed: &[&str] = match what {
            "an LV gone" => &["fvg/hand"],
            "a VG gone (with its LV)" => &["vg:fvg", "fvg/hand"],
            "a disk detached from the live XML" => &["disk:d/sdb"],
            _ => continue,
        };
        assert_eq!(lost(&w, &after, allowed), Vec::<String>::new(), "{what}");
        assert!(!lost(&w, &after, &["vg1/managed"]).is_empty(), "{what}");
    }
}

#[test]
fn an_inactive_lv_is_not_read_but_its_identity_still_counts() {
    let w = guest();
    let mut after = w.clone();
    after
        .lvs
        .insert("vg1/keep".into(), ("K-UUID".into(), "inactive".into()));
    assert_eq!(lost(&w, &after, &[]), Vec::<String>::new());
    after
        .lvs
        .insert("vg1/keep".into(), ("OTHER".into(), "inactive".into()));
    assert_eq!(lost(&w, &after, &[]), ["LV vg1/keep LOST (now UUID OTHER)"]);
    // An LV whose device cannot be read any more has changed.
    after
        .lvs
        .insert("vg1/keep".into(), ("K-UUID".into(), "unreadable".into()));
    assert_eq!(lost(&w, &after, &[]), ["LV vg1/keep data changed"]);
}

#[test]
fn a_removal_asked_for_must_have_happened() {
    let w = guest();
    assert_eq!(
        lost(&w, &w.clone(), &["vg1/managed"]),
        ["vg1/managed should have been removed on request but is still there"]
    );
    // Made again under its name (another UUID): the asked-for LV is gone.
    let mut after = w.clone();
    after
        .lvs
        .insert("vg1/managed".into(), ("M2".into(), SHA_A.into()));
    assert_eq!(lost(&w, &after, &["vg1/managed"]), Vec::<String>::new());
}

#[test]
fn the_tally_fails_the_test_and_counts_the_loss() {
    let w = guest();
    let mut after = w.clone();
    after.lvs.remove("fvg/hand");
    let mut tally = Tally::new("unit");
    tally.check("unchanged", &w, &w, &[]);
    assert!(tally.lost().is_empty());
    let caught = catch_unwind(AssertUnwindSafe(|| tally.check("destroy", &w, &after, &[])));
    let msg = caught
        .expect_err("a loss fails the test")
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(msg.contains("LV fvg/hand LOST (deleted)"), "{msg}");
    assert_eq!(tally.lost(), ["destroy: LV fvg/hand LOST (deleted)"]);
}

// ------------------------------------------------------------------------------------------------
// The safety scenarios' marks

fn mark(uuid: &str, sha: Option<&str>) -> Mark {
    Mark {
        uuid: uuid.into(),
        sha: sha.map(str::to_string),
    }
}

/// VG `vg` (UUID `U`) with v1 and v2 as written.
fn marks() -> (BTreeMap<String, Mark>, Probe) {
    let expect: BTreeMap<String, Mark> = [
        ("v1".to_string(), mark("U1", Some(SHA_A))),
        ("v2".to_string(), mark("U2", Some(SHA_B))),
    ]
    .into();
    let now = Probe {
        vg_uuid: Some("U".into()),
        lvs: expect.clone(),
    };
    (expect, now)
}

#[test]
fn the_probe_parses_what_the_guest_prints() {
    let p = Probe::parse(&format!(
        "vg,vg1,U\nlv,vg1/v1,U1,,{SHA_A}\nlv,vg1/v2,U2,,inactive\n"
    ))
    .expect("parses");
    assert_eq!(p.vg_uuid.as_deref(), Some("U"));
    assert_eq!(p.lvs["v1"], mark("U1", Some(SHA_A)));
    assert_eq!(p.lvs["v2"], mark("U2", None));
    assert_eq!(Probe::parse("").expect("no VG"), Probe::default());
    assert!(Probe::parse("lv,vg1/v1,U1\n")
        .expect_err("short line")
        .contains("lv,vg1/v1,U1"));
    assert!(Probe::parse("vg,vg1,U\nvg,vg2,V\n")
        .expect_err("two VGs")
        .contains("2 VGs"));
}

#[test]
fn marks_unchanged_lose_nothing() {
    let (mut expect, now) = marks();
    let v = compare_marks("vg", Some("U"), &mut expect, &now, &[], false);
    assert_eq!(v, MarkVerdict::default());
}

#[test]
fn marks_say_data_lost_for_each_kind_of_loss() {
    type Change = fn(&mut Probe);
    let cases: [(&str, Change, &str, &str); 5] = [
        (
            "LV gone",
            |p| drop(p.lvs.remove("v2")),
            "LV vg/v2 LOST: it no longer exists",
            "v2 (deleted)",
        ),
        (
            "LV made again",
            |p| drop(p.lvs.insert("v1".into(), mark("X", Some(SHA_A)))),
            "LV vg/v1 LOST: recreated (UUID U1 -> X)",
            "v1 (recreated)",
        ),
        (
            "pattern changed",
            |p| drop(p.lvs.insert("v1".into(), mark("U1", Some(SHA_B)))),
            "LV vg/v1 data changed",
            "v1 (content)",
        ),
        (
            "LV deactivated without leave",
            |p| drop(p.lvs.insert("v1".into(), mark("U1", None))),
            "LV vg/v1 data changed",
            "v1 (content)",
        ),
        (
            "VG gone",
            |p| *p = Probe::default(),
            "VG vg changed: UUID Some(\"U\") -> None",
            "v1 (deleted)",
        ),
    ];
    for (what, change, problem, lost) in cases {
        let (mut expect, mut now) = marks();
        change(&mut now);
        let v = compare_marks("vg", Some("U"), &mut expect, &now, &[], false);
        assert!(
            v.problems.iter().any(|p| p.starts_with(problem)),
            "{what}: expected {problem:?} in {v:?}"
        );
        assert!(v.lost.iter().any(|l| l == lost), "{what}: {v:?}");
    }
}

#[test]
fn marks_allow_inactive_lvs_only_when_told_and_removals_only_when_asked() {
    let (mut expect, mut now) = marks();
    now.lvs.insert("v1".into(), mark("U1", None));
    let v = compare_marks("vg", Some("U"), &mut expect, &now, &[], true);
    assert!(v.problems.is_empty(), "{v:?}");
    // Destroyed on request: gone is right, and it leaves the expectations.
    let (mut expect, mut now) = marks();
    now.lvs.remove("v2");
    let v = compare_marks("vg", Some("U"), &mut expect, &now, &["v2"], false);
    assert!(v.problems.is_empty(), "{v:?}");
    assert_eq!(v.removed_on_request, ["v2"]);
    assert!(!expect.contains_key("v2"));
    // Asked for but still there (same UUID): the destroy did not happen.
    let (mut expect, now) = marks();
    let v = compare_marks("vg", Some("U"), &mut expect, &now, &["v2"], false);
    assert_eq!(v.problems.len(), 1, "{v:?}");
    assert!(
        v.problems[0].starts_with("v2 should have been destroyed on request"),
        "{v:?}"
    );
}

#[test]
fn markers_say_data_lost() {
    let markers: BTreeMap<String, (String, String)> = [
        ("v00".to_string(), ("U0".to_string(), "m0".to_string())),
        ("v01".to_string(), ("U1".to_string(), "m1".to_string())),
    ]
    .into();
    assert!(markers_lost(&markers, &markers.clone()).is_empty());
    let mut now = markers.clone();
    now.remove("v00");
    now.insert("v01".into(), ("U1".into(), "\0\0".into()));
    assert_eq!(
        markers_lost(&markers, &now),
        [
            "DATA LOST: volume v00 is gone",
            "DATA LOST: volume v01 no longer starts with its marker (\"\\0\\0\")"
        ]
    );
    now.insert("v01".into(), ("U9".into(), "m1".into()));
    assert_eq!(
        markers_lost(&markers, &now)[1],
        "DATA LOST: volume v01 was replaced (LV UUID U1 -> U9)"
    );
}
