//! Thin provisioning and snapshots on the lab, through LVM's tools over ssh (`lvm_tools`):
//! `libvirt_lvm_thin_pool`, `libvirt_lvm_thin_volume` (a fast clone with `origin`) and
//! `libvirt_lvm_snapshot` (a thin snapshot and its merge back). One scenario shares its set-up:
//! every step builds on the thin pool and volumes the one before made, and each outcome is read in
//! the guest (`lvs`, the sha256 of the LV's first MiBs). A second provider configuration without
//! `lvm_tools` makes a thick snapshot through libvirt alone (`<backingStore>`).

use acceptance_tests::{Lab, Scenario};

const MIB: u64 = 1 << 20;
/// How much of each LV the patterns cover and the checksums read.
const HASHED_MIB: u64 = 8;

/// The provider blocks: libvirt over the lab's TCP URI, LVM's tools over the lab's sshd with the
/// host key verified; and `libvirt.libvirt_only`, the same URI without LVM's tools (a qemu+tcp
/// URI carries no ssh for them), for what libvirt alone does.
fn provider(s: &Scenario) -> String {
    let lab = s.lab();
    format!(
        "{}\nprovider \"libvirt\" {{\n  alias = \"libvirt_only\"\n  uri   = {}\n}}\n",
        lab.provider_with_lvm_tools(""),
        acceptance_tests::hcl::hcl_string(&lab.uri)
    )
}

fn pool_and_thin_pool(pool: &str, devices: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_pool" "p" {{
  name           = "{pool}"
  source_devices = {devices}
  on_destroy     = "delete"
}}
"#
    )
}

fn thin_pool(size: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_thin_pool" "tp" {{
  pool          = libvirt_lvm_pool.p.name
  name          = "tp"
  size          = "{size}"
  chunk_size    = "128KiB"
  metadata_size = "8MiB"
}}
"#
    )
}

/// A plain 16 MiB volume.
fn plain() -> &'static str {
    r#"
resource "libvirt_lvm_volume" "plain" {
  pool     = libvirt_lvm_pool.p.name
  name     = "plain"
  capacity = "16MiB"
}
"#
}

/// Two thick snapshots of the plain volume: `ts` made with LVM's tools, with 8 MiB for the blocks
/// that change, and `lts` by libvirt alone, with 12 MiB.
fn thick() -> &'static str {
    r#"
resource "libvirt_lvm_snapshot" "ts" {
  pool   = libvirt_lvm_pool.p.name
  origin = libvirt_lvm_volume.plain.name
  name   = "ts"
  size   = "8MiB"
}

resource "libvirt_lvm_snapshot" "lts" {
  provider = libvirt.libvirt_only
  pool     = libvirt_lvm_pool.p.name
  origin   = libvirt_lvm_volume.plain.name
  name     = "lts"
  size     = "12MiB"
}
"#
}

fn thin_volume(label: &str, extra: &str) -> String {
    thin_volume_of(label, "1GiB", extra)
}

fn thin_volume_of(label: &str, capacity: &str, extra: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_thin_volume" "{label}" {{
  pool      = libvirt_lvm_pool.p.name
  thin_pool = libvirt_lvm_thin_pool.tp.name
  name      = "{label}"
  capacity  = "{capacity}"
  {extra}
}}
"#
    )
}

fn snapshot(merge: bool) -> String {
    format!(
        r#"
resource "libvirt_lvm_snapshot" "s1" {{
  pool              = libvirt_lvm_pool.p.name
  origin            = libvirt_lvm_thin_volume.t1.name
  name              = "s1"
  merge_into_origin = {merge}
}}
"#
    )
}

/// Writes `HASHED_MIB` MiB of the byte `c` repeated over the start of `vg/lv`, in the guest.
fn write_pattern(lab: &Lab, vg: &str, lv: &str, c: char) {
    lab.ssh_ok(&format!(
        "yes {c} | tr -d '\\n' | head -c {} | dd of=/dev/{vg}/{lv} bs=1M oflag=direct status=none",
        HASHED_MIB * MIB
    ));
}

/// The sha256 of the first `HASHED_MIB` MiB of `vg/lv`, read in the guest.
fn sha(lab: &Lab, vg: &str, lv: &str) -> String {
    lab.ssh_ok(&format!(
        "head -c {} /dev/{vg}/{lv} | sha256sum | cut -c1-64",
        HASHED_MIB * MIB
    ))
    .trim()
    .to_string()
}

/// `lv_name segtype pool_lv origin` of every public LV of `vg`.
fn lvs_rows(lab: &Lab, vg: &str) -> Vec<Vec<String>> {
    lab.ssh_ok(&format!(
        "lvs --noheadings --separator '|' -o lv_name,segtype,pool_lv,origin {vg}"
    ))
    .lines()
    .map(|l| l.split('|').map(|f| f.trim().to_string()).collect())
    .collect()
}

fn row<'a>(rows: &'a [Vec<String>], name: &str) -> Option<&'a Vec<String>> {
    rows.iter().find(|r| r.first().map(String::as_str) == Some(name))
}

#[test]
fn thin_pool_volumes_clone_snapshot_merge_and_refused_destroy() {
    let Some(s) = Scenario::start("thin::pool_volumes_clone_snapshot_merge") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("thin");
    let head = format!("{}{}", provider(&s), pool_and_thin_pool(&pool, &s.devices_hcl(1)));
    let base = format!("{head}{}", thin_pool("256MiB"));
    let three = [
        thin_volume("t1", ""),
        thin_volume("t2", ""),
        thin_volume("t3", ""),
        plain().to_string(),
    ]
    .concat();
    let wd = s.workdir_raw(&format!("{base}{three}"));

    // Three thin volumes of 1 GiB on a 256 MiB thin pool: the plan says it is overcommitted.
    // (The apply shows its plan's warnings.)
    wd.apply()
        .expect_mentions(&["Thin Pool Overcommitted", "thin pool \"tp\""]);
    let rows = lvs_rows(lab, &pool);
    assert_eq!(
        row(&rows, "tp").map(|r| r[1].as_str()),
        Some("thin-pool"),
        "{rows:?}"
    );
    for t in ["t1", "t2", "t3"] {
        let r = row(&rows, t).unwrap_or_else(|| panic!("no LV {t}: {rows:?}"));
        assert_eq!((r[1].as_str(), r[2].as_str()), ("thin", "tp"), "{t}: {rows:?}");
        assert_eq!(
            lab.lv(&pool, t).map(|l| l.size),
            Some(1 << 30),
            "{t}: virtual size"
        );
    }
    wd.expect_plan(0);
    s.step("apply: thin pool and three thin volumes in lvs, plan clean");

    // Pattern A, then a thin snapshot and a fast clone of t1; pattern O on plain, then its thick
    // snapshots.
    write_pattern(lab, &pool, "t1", 'A');
    let sha_a = sha(lab, &pool, "t1");
    write_pattern(lab, &pool, "plain", 'O');
    wd.write_raw(&format!(
        "{base}{three}{}{}{}",
        snapshot(false),
        thin_volume("c1", "origin = libvirt_lvm_thin_volume.t1.name"),
        thick()
    ));
    wd.apply();
    let rows = lvs_rows(lab, &pool);
    for (lv, origin) in [("s1", "t1"), ("c1", "t1")] {
        let r = row(&rows, lv).unwrap_or_else(|| panic!("no LV {lv}: {rows:?}"));
        assert_eq!(
            (r[1].as_str(), r[2].as_str(), r[3].as_str()),
            ("thin", "tp", origin),
            "{lv}: {rows:?}"
        );
    }
    assert_eq!(wd.state_str("libvirt_lvm_snapshot.s1", "kind"), "thin");
    let st = |addr: &str, attr: &str| wd.state_attr(addr, attr);
    let uuid = |lv: &str| lab.lv(&pool, lv).map(|l| l.uuid).unwrap_or_default();
    for (addr, lv) in [
        ("libvirt_lvm_thin_pool.tp", "tp"),
        ("libvirt_lvm_thin_volume.t1", "t1"),
        ("libvirt_lvm_thin_volume.c1", "c1"),
        ("libvirt_lvm_snapshot.s1", "s1"),
        ("libvirt_lvm_snapshot.ts", "ts"),
    ] {
        assert_eq!(wd.state_str(addr, "id"), uuid(lv), "{addr}: id is the LV UUID");
    }
    assert_eq!(
        wd.state_str("libvirt_lvm_thin_volume.c1", "path"),
        format!("/dev/{pool}/c1")
    );
    assert_eq!(
        wd.state_str("libvirt_lvm_snapshot.s1", "path"),
        format!("/dev/{pool}/s1")
    );
    assert_eq!(
        st("libvirt_lvm_snapshot.s1", "size_bytes").as_u64(),
        Some(1 << 30)
    );
    assert_eq!(st("libvirt_lvm_snapshot.s1", "invalid").as_bool(), Some(false));
    assert_eq!(wd.state_str("libvirt_lvm_snapshot.ts", "kind"), "thick");
    assert_eq!(
        st("libvirt_lvm_snapshot.ts", "size_bytes").as_u64(),
        Some(8 * MIB)
    );
    assert!(st("libvirt_lvm_snapshot.ts", "data_percent").as_f64().is_some());
    // A thick snapshot: LVM's segment type is its copy-on-write store's (linear), its attr `s`.
    let rows = lvs_rows(lab, &pool);
    assert_eq!(row(&rows, "ts").map(|r| r[3].as_str()), Some("plain"), "{rows:?}");
    let ts_attr = lab.lv(&pool, "ts").map(|l| l.attr).unwrap_or_default();
    assert!(ts_attr.starts_with('s'), "ts is no thick snapshot: {ts_attr}");
    // The snapshot libvirt made alone: a thick snapshot of plain in lvs, its UUID the id, and
    // what LVM alone can say (how full it is) null.
    assert_eq!(
        row(&rows, "lts").map(|r| r[3].as_str()),
        Some("plain"),
        "{rows:?}"
    );
    let lts = lab.lv(&pool, "lts").expect("lts in lvs");
    assert!(
        lts.attr.starts_with('s'),
        "lts is no thick snapshot: {}",
        lts.attr
    );
    assert_eq!(lts.size, 12 * MIB, "lts copy-on-write size");
    assert_eq!(wd.state_str("libvirt_lvm_snapshot.lts", "id"), lts.uuid);
    assert_eq!(wd.state_str("libvirt_lvm_snapshot.lts", "kind"), "thick");
    assert_eq!(
        st("libvirt_lvm_snapshot.lts", "size_bytes").as_u64(),
        Some(12 * MIB)
    );
    assert!(st("libvirt_lvm_snapshot.lts", "data_percent").is_null());
    assert_eq!(
        wd.state_attr("libvirt_lvm_thin_pool.tp", "virtual_size_total")
            .as_u64(),
        Some(3 << 30),
        "the refresh before this apply read the three thin volumes' sizes"
    );
    assert_eq!(sha(lab, &pool, "c1"), sha_a, "the fast clone reads as its origin");
    // 10 MiB of pattern P over plain: lts (12 MiB for changes) keeps reading plain as it was;
    // ts (8 MiB) overflows, and LVM drops it (read back as invalid below).
    let sha_plain_then = sha(lab, &pool, "plain");
    lab.ssh_ok(&format!(
        "yes P | tr -d '\\n' | head -c {} | dd of=/dev/{pool}/plain bs=1M oflag=direct status=none",
        10 * MIB
    ));
    assert_ne!(sha(lab, &pool, "plain"), sha_plain_then, "pattern P was written");
    assert_eq!(
        sha(lab, &pool, "lts"),
        sha_plain_then,
        "lts reads plain as it was"
    );
    let ts_attr = lab.lv(&pool, "ts").map(|l| l.attr).unwrap_or_default();
    assert_eq!(
        ts_attr.chars().nth(4),
        Some('I'),
        "ts did not overflow: {ts_attr}"
    );
    // libvirt lists no LV whose state is not active (`I` included), as the docs say: without
    // LVM's tools an overflowed snapshot reads as gone.
    let listed = lab.virsh_ok(&["vol-list", "--pool", &pool]);
    let paths: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(
        !paths.contains(&format!("/dev/{pool}/ts").as_str()),
        "libvirt lists the overflowed ts: {listed}"
    );
    assert!(
        paths.contains(&format!("/dev/{pool}/lts").as_str()),
        "libvirt lists lts: {listed}"
    );
    s.step("thin snapshot, fast clone and thick snapshots with and without LVM's tools made; the clone and lts read as their origins did");

    // Pattern B over t1, then the rollback: t1 reads as pattern A again and s1 is gone.
    // The refresh of the apply above read what pattern A used of the thin pool and of t1.
    wd.tf(&["apply", "-refresh-only", "-auto-approve", "-input=false"])
        .expect_ok();
    assert_eq!(
        st("libvirt_lvm_thin_pool.tp", "size_bytes").as_u64(),
        Some(256 * MIB)
    );
    assert_eq!(
        st("libvirt_lvm_snapshot.ts", "invalid").as_bool(),
        Some(true),
        "ts overflowed"
    );
    assert_eq!(
        st("libvirt_lvm_snapshot.lts", "size_bytes").as_u64(),
        Some(12 * MIB)
    );
    let used = st("libvirt_lvm_thin_pool.tp", "data_percent")
        .as_f64()
        .unwrap_or(0.0);
    // 8 MiB of pattern A in 256 MiB (c1 and s1 share t1's blocks): about 3 %, far from the 3 GiB promised.
    assert!((2.0..10.0).contains(&used), "thin pool data_percent {used}");
    assert!(st("libvirt_lvm_thin_pool.tp", "metadata_percent")
        .as_f64()
        .is_some_and(|m| m > 0.0));
    assert_eq!(
        lab.ssh_ok(&format!(
            "lvs --noheadings --units b --nosuffix -o chunk_size,lv_metadata_size {pool}/tp"
        ))
        .split_whitespace()
        .collect::<Vec<_>>(),
        ["131072", "8388608"],
        "chunk_size and metadata_size as configured"
    );
    assert_eq!(wd.state_str("libvirt_lvm_thin_pool.tp", "chunk_size"), "128KiB");
    assert_eq!(
        st("libvirt_lvm_thin_pool.tp", "thin_volumes"),
        serde_json::json!(["c1", "s1", "t1", "t2", "t3"])
    );
    let t1_alloc = st("libvirt_lvm_thin_volume.t1", "allocation")
        .as_u64()
        .unwrap_or(0);
    assert!(
        // LVM's data_percent has two decimals: 0.01 % of 1 GiB is about 107 KB.
        (8 * MIB - 128 * 1024..16 * MIB).contains(&t1_alloc),
        "t1 allocation {t1_alloc}: the 8 MiB written, not its 1 GiB"
    );
    assert!(st("libvirt_lvm_thin_volume.t1", "data_percent")
        .as_f64()
        .is_some_and(|p| p > 0.0));
    assert_eq!(
        st("libvirt_lvm_thin_volume.t1", "capacity_bytes").as_u64(),
        Some(1 << 30)
    );
    s.step("refresh: thin pool and volume usage read back");

    write_pattern(lab, &pool, "t1", 'B');
    assert_ne!(sha(lab, &pool, "t1"), sha_a, "pattern B was written");
    // The same apply grows the thin pool and t2 in place.
    let merge_cfg = format!(
        "{head}{}{}{}{}{}{}{}{}{}",
        thin_pool("320MiB"),
        thin_volume("t1", ""),
        thin_volume_of("t2", "2GiB", ""),
        thin_volume("t3", ""),
        snapshot(true),
        thin_volume("c1", "origin = libvirt_lvm_thin_volume.t1.name"),
        plain(),
        thick(),
        // A snapshot as a clone source: a copy of what lts reads (plain before pattern P).
        r#"
resource "libvirt_lvm_volume" "from_lts" {
  pool       = libvirt_lvm_pool.p.name
  name       = "from_lts"
  capacity   = "16MiB"
  clone_from = libvirt_lvm_snapshot.lts.id
}
"#
    );
    wd.write_raw(&merge_cfg);
    wd.apply().expect_mentions(&[
        "Snapshot Is Invalid",
        "Thick snapshot \"ts\" overflowed",
        "Writes Since The Snapshot Are Lost",
        "Everything written to \"t1\" since is lost",
        "disappears",
        "Thin Pool Is Grown In Place",
    ]);
    assert_eq!(sha(lab, &pool, "t1"), sha_a, "t1 rolled back to pattern A");
    assert_eq!(
        lab.lv(&pool, "tp").map(|l| l.size),
        Some(320 * MIB),
        "thin pool grown"
    );
    assert_eq!(lab.lv(&pool, "t2").map(|l| l.size), Some(2 << 30), "t2 grown");
    assert_eq!(sha(lab, &pool, "c1"), sha_a, "the clone kept its content");
    assert_eq!(
        sha(lab, &pool, "from_lts"),
        sha_plain_then,
        "the clone of lts reads as plain did when lts was taken (pattern O), not as plain now"
    );
    assert!(
        row(&lvs_rows(lab, &pool), "s1").is_none(),
        "the merged snapshot is gone"
    );
    assert_eq!(
        wd.state_attr("libvirt_lvm_snapshot.s1", "merged").as_bool(),
        Some(true)
    );
    wd.expect_plan(0);
    s.step("merge: t1 reads as pattern A, s1 consumed, plan clean");

    // An operator's thin volume in the thin pool: removing the thin pool from the configuration
    // destroys the thin volumes Terraform made and refuses the thin pool, the operator's data intact.
    lab.ssh_ok(&format!("lvcreate -q -V 64M -T {pool}/tp -n op"));
    write_pattern(lab, &pool, "op", 'O');
    let sha_op = sha(lab, &pool, "op");
    wd.write_raw(&head);
    wd.try_apply(&[])
        .expect_failure()
        .expect_mentions(&["Thin Pool Holds Thin Volumes", "op"]);
    let rows = lvs_rows(lab, &pool);
    assert!(row(&rows, "tp").is_some(), "the thin pool was removed: {rows:?}");
    for gone in ["t1", "t2", "t3", "c1", "ts", "lts", "plain", "from_lts"] {
        assert!(
            row(&rows, gone).is_none(),
            "{gone} outlived its destroy: {rows:?}"
        );
    }
    assert_eq!(
        sha(lab, &pool, "op"),
        sha_op,
        "the operator's thin volume changed"
    );
    s.step("thin pool removal refused while the operator's thin volume exists; its data intact");

    // The operator removes theirs: the thin pool goes, then everything.
    lab.ssh_ok(&format!("lvremove -q -f {pool}/op"));
    wd.apply();
    assert!(
        row(&lvs_rows(lab, &pool), "tp").is_none(),
        "the thin pool outlived its destroy"
    );
    wd.destroy();
    assert!(lab.vg(&pool).is_none(), "the volume group outlived the destroy");
    s.step("thin pool destroyed once empty; final destroy clean");
}
