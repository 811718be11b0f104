//! The judge against worlds where data was lost, and against unchanged ones.

use super::*;
use crate::sequence::world::tests::{lab_lv, lv, pool};
use crate::sequence::world::DomObs;

fn state(entries: &[(&str, serde_json::Value)]) -> TfState {
    TfState {
        res: entries.iter().map(|(a, v)| (a.to_string(), v.clone())).collect(),
    }
}

fn set(addrs: &[&str]) -> BTreeSet<String> {
    addrs.iter().map(|a| a.to_string()).collect()
}

/// The kinds of violation of `w` after a command that started the destroys `destroyed`, from
/// the state `prior`; notes go to `notes`.
fn judge(
    ledger: &Ledger,
    w: &World,
    prior: &TfState,
    destroyed: &[&str],
    notes: &mut Vec<String>,
) -> Vec<String> {
    let destroyed = set(destroyed);
    let cmd = Command {
        prior,
        destroyed: &destroyed,
    };
    let mut v: Vec<String> = ledger.check(w, &cmd, notes).into_iter().map(|v| v.kind).collect();
    v.sort();
    v
}

fn kinds(ledger: &Ledger, w: &World) -> Vec<String> {
    judge(ledger, w, &TfState::default(), &[], &mut Vec::new())
}

/// A pool resource `p0` over VG `vg` (id P) and the volume resource `v0` (id `v0_key`).
fn pool_state(on_destroy: &str, force: bool, v0_key: &str) -> TfState {
    state(&[
        (
            "libvirt_lvm_pool.p0",
            serde_json::json!({"id": "P", "name": "p", "volume_group": "vg", "on_destroy": on_destroy,
                               "force_destroy": force}),
        ),
        (
            "libvirt_lvm_volume.v0",
            serde_json::json!({"id": v0_key, "pool": "p"}),
        ),
    ])
}

/// The test driver: a managed pool `p` (VG vg) holding a managed LV and a foreign LV.
fn setup() -> (Ledger, World) {
    let mut w = World::default();
    w.pools.insert("P".into(), pool("p", "vg"));
    let mut ledger = Ledger::default();
    ledger.absorb(&w, Origin::Terraform);
    w.lvs.insert("/dev/vg/v0".into(), lv("vg", "v0", "P"));
    ledger.absorb(&w, Origin::Terraform);
    w.lvs.insert("/dev/vg/f1".into(), lv("vg", "f1", "P"));
    ledger.absorb(&w, Origin::Foreign);
    (ledger, w)
}

#[test]
fn a_foreign_lv_removed_on_its_own_is_data_loss() {
    let (ledger, mut w) = setup();
    w.lvs.remove("/dev/vg/f1");
    assert_eq!(kinds(&ledger, &w), ["foreign LV removed"]);
}

#[test]
fn a_managed_lv_goes_only_with_the_destroy_of_its_resource() {
    let prior = pool_state("keep", false, "/dev/vg/v0");
    let (ledger, mut w) = setup();
    w.lvs.remove("/dev/vg/v0");
    // Its resource's destroy: sanctioned, with a note.
    let mut notes = Vec::new();
    assert_eq!(
        judge(&ledger, &w, &prior, &["libvirt_lvm_volume.v0"], &mut notes),
        Vec::<String>::new()
    );
    assert!(
        notes[0].contains("by the destroy of libvirt_lvm_volume.v0"),
        "{notes:?}"
    );
    // No destroy started (the resource left the state through a refresh, or never did): a loss.
    assert_eq!(
        judge(&ledger, &w, &prior, &[], &mut Vec::new()),
        ["managed LV removed without a destroy of its resource"]
    );
    // Another volume's destroy does not count, nor one whose state named another LV.
    assert_eq!(
        judge(&ledger, &w, &prior, &["libvirt_lvm_volume.v1"], &mut Vec::new()),
        ["managed LV removed without a destroy of its resource"]
    );
    let other = pool_state("keep", false, "/dev/vg/other");
    assert_eq!(
        judge(&ledger, &w, &other, &["libvirt_lvm_volume.v0"], &mut Vec::new()),
        ["managed LV removed without a destroy of its resource"]
    );
}

#[test]
fn a_foreign_lv_may_go_with_its_pool_only_under_force_destroy() {
    let prior = |force: bool| pool_state("delete", force, "/dev/vg/v0");
    let (ledger, mut w) = setup();
    w.pools.clear();
    w.lvs.clear();
    let all = ["libvirt_lvm_pool.p0", "libvirt_lvm_volume.v0"];
    let mut notes = Vec::new();
    assert_eq!(
        judge(&ledger, &w, &prior(true), &all, &mut notes),
        Vec::<String>::new()
    );
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(
        judge(&ledger, &w, &prior(false), &all, &mut Vec::new()),
        ["foreign LV removed with its VG by libvirt_lvm_pool.p0, whose force_destroy was false"]
    );
    // No destroy of the pool started (dropped from the state by a refresh): not by request.
    assert_eq!(
        judge(
            &ledger,
            &w,
            &prior(true),
            &["libvirt_lvm_volume.v0"],
            &mut Vec::new()
        ),
        ["foreign LV removed with its pool/VG, which no destroyed pool resource owned"]
    );
}

#[test]
fn an_lv_a_foreign_domain_uses_under_an_alias_must_stay() {
    let (mut ledger, mut w) = setup();
    let mut disks = BTreeMap::new();
    disks.insert(
        (View::Saved, "sdb".to_string()),
        DiskSource::Block("/dev/mapper/vg-v0".into()),
    );
    w.domains.insert(
        "D".into(),
        DomObs {
            name: "dom".into(),
            active: false,
            disks,
        },
    );
    ledger.absorb(&w, Origin::Foreign);
    w.lvs.remove("/dev/vg/v0");
    // Even by the destroy of its own resource.
    let prior = pool_state("keep", false, "/dev/vg/v0");
    assert_eq!(
        judge(&ledger, &w, &prior, &["libvirt_lvm_volume.v0"], &mut Vec::new()),
        ["LV in use by a foreign domain (/dev/mapper alias) removed"]
    );
    // And the foreign disk itself must stay.
    if let Some(d) = w.domains.get_mut("D") {
        d.disks.clear();
    }
    let v = kinds(&ledger, &w);
    assert!(v.iter().any(|v| v == "foreign disk detached"), "{v:?}");
}

#[test]
fn foreign_pool_replaced_under_the_same_name_is_caught() {
    let (mut ledger, mut w) = setup();
    w.pools.insert("Q".into(), pool("p-swapped", "fvg"));
    ledger.absorb(&w, Origin::Foreign);
    w.pools.remove("Q");
    assert_eq!(kinds(&ledger, &w), ["foreign pool removed"]);
}

/// The lab: a managed pool `p` over VG `vg` (UUID VG) holding managed `v0` and foreign `f1`, a
/// foreign VG `fvg` (UUID FVG) holding `keep`, and a foreign shut-off domain `dom` using `keep`
/// as `sdb` and `v0` as `sdc` (saved definition).
fn lab_setup() -> (Ledger, World) {
    let mut w = World::default();
    w.pools.insert("P".into(), pool("p", "vg"));
    w.vgs.insert("VG".into(), "vg".into());
    w.lvs.insert("V0".into(), lab_lv("vg", "v0", "VG", "s0"));
    let mut ledger = Ledger::default();
    ledger.absorb(&w, Origin::Terraform);
    w.lvs.insert("F1".into(), lab_lv("vg", "f1", "VG", "s1"));
    w.vgs.insert("FVG".into(), "fvg".into());
    w.lvs.insert("K".into(), lab_lv("fvg", "keep", "FVG", "sk"));
    let disks = [
        (
            (View::Saved, "sdb".to_string()),
            DiskSource::Block("/dev/fvg/keep".into()),
        ),
        (
            (View::Saved, "sdc".to_string()),
            DiskSource::Block("/dev/vg/v0".into()),
        ),
    ];
    w.domains.insert(
        "D".into(),
        DomObs {
            name: "dom".into(),
            active: false,
            disks: disks.into_iter().collect(),
        },
    );
    ledger.absorb(&w, Origin::Foreign);
    (ledger, w)
}

/// The lab without the foreign domain: managed `v0` (UUID V0) and `v1` (V1) and foreign `f1`
/// in the managed VG `vg`.
fn lab_managed() -> (Ledger, World) {
    let mut w = World::default();
    w.pools.insert("P".into(), pool("p", "vg"));
    w.vgs.insert("VG".into(), "vg".into());
    w.lvs.insert("V0".into(), lab_lv("vg", "v0", "VG", "s0"));
    w.lvs.insert("V1".into(), lab_lv("vg", "v1", "VG", "s1"));
    let mut ledger = Ledger::default();
    ledger.absorb(&w, Origin::Terraform);
    w.lvs.insert("F1".into(), lab_lv("vg", "f1", "VG", "sf"));
    ledger.absorb(&w, Origin::Foreign);
    (ledger, w)
}

#[test]
fn an_unchanged_world_breaks_no_promise() {
    let (ledger, w) = lab_setup();
    assert_eq!(kinds(&ledger, &w), Vec::<String>::new());
    let (ledger, w) = lab_managed();
    assert_eq!(kinds(&ledger, &w), Vec::<String>::new());
    let (ledger, w) = setup();
    assert_eq!(kinds(&ledger, &w), Vec::<String>::new());
    // An LV deactivated (no content read) keeps its identity: not a loss by itself.
    let (ledger, mut w) = lab_managed();
    w.lvs.get_mut("F1").into_iter().for_each(|l| l.sha = None);
    assert_eq!(kinds(&ledger, &w), Vec::<String>::new());
}

#[test]
fn each_kind_of_loss_on_the_lab_is_a_violation() {
    type Change = fn(&mut World);
    let cases: [(&str, Change, &[&str]); 8] = [
        (
            "foreign LV gone",
            |w| drop(w.lvs.remove("F1")),
            &["foreign LV removed"],
        ),
        (
            "foreign LV pattern changed",
            |w| {
                w.lvs
                    .get_mut("F1")
                    .into_iter()
                    .for_each(|l| l.sha = Some("other".into()))
            },
            &["foreign LV content changed"],
        ),
        (
            "foreign LV renamed",
            |w| w.lvs.get_mut("F1").into_iter().for_each(|l| l.name = "g1".into()),
            &["foreign LV renamed"],
        ),
        (
            "foreign VG gone with its LV",
            |w| {
                w.vgs.remove("FVG");
                w.lvs.remove("K");
            },
            &[
                "foreign LV removed with its foreign pool/VG",
                "foreign VG removed",
            ],
        ),
        (
            "an LV a foreign domain uses, made by Terraform, gone",
            |w| drop(w.lvs.remove("V0")),
            &["LV in use by a foreign domain (/dev/VG/LV) removed"],
        ),
        (
            "a foreign disk detached",
            |w| {
                w.domains
                    .get_mut("D")
                    .into_iter()
                    .for_each(|d| drop(d.disks.remove(&(View::Saved, "sdb".into()))))
            },
            &["foreign disk detached"],
        ),
        (
            "a foreign disk's source changed",
            |w| {
                w.domains.get_mut("D").into_iter().for_each(|d| {
                    d.disks.insert(
                        (View::Saved, "sdb".into()),
                        DiskSource::Block("/dev/vg/f1".into()),
                    );
                })
            },
            &["foreign disk changed"],
        ),
        (
            "a foreign domain gone",
            |w| drop(w.domains.remove("D")),
            &["foreign domain removed"],
        ),
    ];
    for (what, change, want) in cases {
        let (ledger, mut w) = lab_setup();
        change(&mut w);
        assert_eq!(kinds(&ledger, &w), *want, "{what}");
    }
}

#[test]
fn managed_lvs_keep_identity_and_content() {
    type Change = fn(&mut World);
    let cases: [(&str, Change, &str); 3] = [
        (
            "wiped (a wipe before a refused delete)",
            |w| {
                w.lvs
                    .get_mut("V1")
                    .into_iter()
                    .for_each(|l| l.sha = Some("zeros".into()))
            },
            "managed LV content changed",
        ),
        (
            "made again under its name",
            |w| {
                let l = w.lvs.remove("V1").expect("V1");
                w.lvs.insert("V1-AGAIN".into(), l);
            },
            "managed LV removed without a destroy of its resource",
        ),
        (
            "renamed",
            |w| w.lvs.get_mut("V1").into_iter().for_each(|l| l.name = "x".into()),
            "managed LV renamed",
        ),
    ];
    for (what, change, want) in cases {
        let (ledger, mut w) = lab_managed();
        change(&mut w);
        assert_eq!(kinds(&ledger, &w), [want], "{what}");
    }
}

#[test]
fn a_vg_rebuilt_or_deleted_against_its_pools_policy_is_a_loss() {
    // Everything in vg gone: the VG (a replacement's build with overwrite, or a delete).
    let gone = |w: &mut World| {
        w.vgs.remove("VG");
        w.lvs.retain(|_, l| l.vg != "vg");
    };
    let prior = |on_destroy: &str, force: bool| pool_state(on_destroy, force, "V0");
    // A replacement of p0 whose destroy half kept the VG, whose create half built over it.
    let (ledger, mut w) = lab_managed();
    gone(&mut w);
    let v = judge(
        &ledger,
        &w,
        &prior("keep", false),
        &["libvirt_lvm_pool.p0"],
        &mut Vec::new(),
    );
    assert_eq!(
        v,
        [
            "foreign LV removed with its VG by libvirt_lvm_pool.p0, whose on_destroy was \"keep\"",
            "managed LV removed with its VG by libvirt_lvm_pool.p0, whose on_destroy was \"keep\"",
            "managed LV removed with its VG by libvirt_lvm_pool.p0, whose on_destroy was \"keep\"",
            "managed VG removed, its pool's on_destroy was \"keep\"",
        ]
    );
    // Hidden LVs (deactivated, thin) go with a delete without force_destroy: the foreign one is
    // a loss, and so is the managed v1 whose resource was not destroyed.
    let (ledger, mut w) = lab_managed();
    gone(&mut w);
    let all = ["libvirt_lvm_pool.p0", "libvirt_lvm_volume.v0"];
    assert_eq!(
        judge(&ledger, &w, &prior("delete", false), &all, &mut Vec::new()),
        [
            "foreign LV removed with its VG by libvirt_lvm_pool.p0, whose force_destroy was false",
            "managed LV removed with its VG by libvirt_lvm_pool.p0, whose force_destroy was false",
        ]
    );
    // With force_destroy, everything in the VG that no domain uses may go.
    assert_eq!(
        judge(&ledger, &w, &prior("delete", true), &all, &mut Vec::new()),
        Vec::<String>::new()
    );
    // Without a destroy of its pool at all.
    assert_eq!(
        judge(&ledger, &w, &prior("delete", true), &[], &mut Vec::new()),
        [
            "foreign LV removed with its pool/VG, which no destroyed pool resource owned",
            "managed LV removed with its pool/VG, which no destroyed pool resource owned",
            "managed LV removed with its pool/VG, which no destroyed pool resource owned",
            "managed VG removed without a destroy of its pool",
        ]
    );
}

#[test]
fn a_snapshot_lost_with_its_origin_says_so() {
    let (mut ledger, mut w) = lab_managed();
    let mut snap = lab_lv("vg", "snap1", "VG", "ss");
    snap.origin = Some("v0".into());
    w.lvs.insert("S1".into(), snap);
    ledger.absorb(&w, Origin::Foreign);
    w.lvs.remove("V0");
    w.lvs.remove("S1");
    let prior = pool_state("keep", false, "V0");
    assert_eq!(
        judge(&ledger, &w, &prior, &["libvirt_lvm_volume.v0"], &mut Vec::new()),
        ["foreign LV removed with its origin vg/v0 by the destroy of libvirt_lvm_volume.v0"]
    );
}
