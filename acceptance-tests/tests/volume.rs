//! `libvirt_lvm_volume` on the lab: exact sizes, spellings, plain LVs, out-of-band changes, the
//! refused resize, import, deletion refused while attached, parallel creation.

use acceptance_tests::{tag_text_attrs, DomainOpts, Lab, Scenario};

const MIB: u64 = 1 << 20;

/// A pool over `devices` named `pool` (on_destroy = "delete") plus `volumes` (HCL).
fn config(pool: &str, devices: &str, volumes: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_pool" "p" {{
  name           = "{pool}"
  source_devices = {devices}
  on_destroy     = "delete"
  force_destroy  = true
}}
{volumes}
"#
    )
}

fn volume(label: &str, name: &str, capacity: &str, extra: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_volume" "{label}" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "{name}"
  capacity = "{capacity}"
  {extra}
}}
"#
    )
}

/// `<capacity>` and `<allocation>` of a volume as libvirt reports them.
fn vol_sizes(lab: &Lab, pool: &str, name: &str) -> (u64, u64) {
    let xml = lab
        .vol_xml(pool, name)
        .unwrap_or_else(|| panic!("libvirt has no volume {pool}/{name}"));
    let num = |tag| {
        tag_text_attrs(&xml, tag)
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
    };
    (num("capacity"), num("allocation"))
}

#[test]
fn volume_exact_sizes_spellings_and_plain_lv() {
    let Some(s) = Scenario::start("volume::exact_sizes_spellings_and_plain_lv") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let vols = |a_capacity: &str| {
        [
            volume("a", "a", a_capacity, ""),
            volume("b", "b", "67108864", ""),
            volume("c", "c", "0.0625GiB", ""),
            volume("d", "d", "32MiB", "sparse = false"),
        ]
        .concat()
    };
    let wd = s.workdir(&config(&pool, &s.devices_hcl(1), &vols("64MiB")));
    wd.apply();
    s.step("apply");

    for name in ["a", "b", "c"] {
        let lv = lab
            .lv(&pool, name)
            .unwrap_or_else(|| panic!("no LV {name}: {:?}", lab.lvs()));
        assert_eq!(lv.size, 64 * MIB, "{name}: lvs size");
        assert!(lv.attr.starts_with("-wi-"), "{name}: not a plain LV: {}", lv.attr);
        assert_eq!(
            vol_sizes(lab, &pool, name).0,
            64 * MIB,
            "{name}: libvirt capacity"
        );
        assert_eq!(
            wd.state_attr(&format!("libvirt_lvm_volume.{name}"), "capacity_bytes")
                .as_u64(),
            Some(64 * MIB)
        );
    }
    // sparse = false: a plain, fully allocated LV.
    let d = lab.lv(&pool, "d").expect("LV d");
    assert_eq!(d.attr, "-wi-a-----", "sparse = false LV attributes");
    assert_eq!(d.size, 32 * MIB);
    let (cap, alloc) = vol_sizes(lab, &pool, "d");
    assert_eq!((cap, alloc), (32 * MIB, 32 * MIB), "allocation == capacity");
    assert_eq!(
        wd.state_attr("libvirt_lvm_volume.d", "allocation").as_u64(),
        Some(32 * MIB),
        "state allocation"
    );
    assert_eq!(
        wd.state_str("libvirt_lvm_volume.d", "path"),
        format!("/dev/{pool}/d")
    );
    wd.expect_plan(0);
    s.step("sizes checked, plan clean");

    // Another spelling of the same size is no change.
    wd.write(&config(&pool, &s.devices_hcl(1), &vols("67108864")));
    wd.expect_plan(0);
}

#[test]
fn volume_size_not_multiple_of_extent() {
    let Some(s) = Scenario::start("volume::size_not_multiple_of_extent") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    // 100 MB (SI) = 100000000 bytes = 23.8 extents of 4 MiB: LVM rounds up to 24 extents.
    let wd = s.workdir(&config(&pool, &s.devices_hcl(1), &volume("v", "v", "100MB", "")));
    wd.apply();
    let rounded = 24 * 4 * MIB;
    let lv = lab.lv(&pool, "v").expect("LV v");
    assert_eq!(lv.size, rounded, "LVM rounds 100MB up to whole extents");
    let (cap, _) = vol_sizes(lab, &pool, "v");
    assert_eq!(cap, rounded, "libvirt reports the rounded size");
    assert_eq!(
        wd.state_attr("libvirt_lvm_volume.v", "capacity_bytes").as_u64(),
        Some(rounded)
    );
    // A size that is not a multiple of the extent must not cause a perpetual diff.
    wd.expect_plan(0);
    wd.expect_plan(0);
}

#[test]
fn volume_out_of_band_extend_and_remove() {
    let Some(s) = Scenario::start("volume::out_of_band_extend_and_remove") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let wd = s.workdir(&config(&pool, &s.devices_hcl(1), &volume("v", "v", "64MiB", "")));
    wd.apply();
    s.step("apply");

    // Grown by hand: the configuration is now smaller. Shrinking is shown at plan (a warning: an
    // error there would block `terraform destroy`) and refused at apply.
    lab.ssh_ok(&format!("lvextend -q -L +4M {pool}/v"));
    assert_eq!(lab.lv(&pool, "v").expect("LV").size, 68 * MIB);
    let r = wd.plan_detailed();
    assert_eq!(r.code, Some(2), "the plan shows the change with a warning:\n{r}");
    r.expect_mentions(&["Warning: Shrinking Would Destroy Data", "68MiB"]);
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_diagnostic("Shrinking Would Destroy Data", "capacity");
    assert_eq!(
        lab.lv(&pool, "v").expect("LV").size,
        68 * MIB,
        "the LV was shrunk"
    );
    s.step("out-of-band grow: shrink warned at plan, refused at apply");

    // Removed by hand: planned for creation, and apply recreates it.
    lab.ssh_ok(&format!("lvremove -q -f {pool}/v"));
    let r = wd.expect_plan(2);
    r.expect_mentions(&["libvirt_lvm_volume.v will be created"]);
    wd.apply();
    let lv = lab.lv(&pool, "v").expect("LV recreated");
    assert_eq!(lv.size, 64 * MIB);
    assert!(lv.attr.starts_with("-wi-"), "{}", lv.attr);
    wd.expect_plan(0);
}

#[test]
fn volume_grow_refused_and_data_kept() {
    let Some(s) = Scenario::start("volume::grow_refused_and_data_kept") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let devices = s.devices_hcl(1);
    let wd = s.workdir(&config(&pool, &devices, &volume("v", "v", "64MiB", "")));
    wd.apply();
    let pattern = format!("data-of-{}", s.prefix());
    lab.ssh_ok(&format!(
        "printf '%s' '{pattern}' | dd of=/dev/{pool}/v conv=notrunc,fsync status=none && sync"
    ));
    let before = lab.lv(&pool, "v").expect("LV");
    s.step("apply, pattern written");

    wd.write(&config(&pool, &devices, &volume("v", "v", "128MiB", "")));
    let r = wd.expect_plan(2);
    r.expect_mentions(&["Resizing Needs LVM's Tools", "1 to change", "0 to destroy"]);
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_diagnostic("libvirt Cannot Resize LVM Volumes", "capacity");
    let after = lab.lv(&pool, "v").expect("LV still there");
    assert_eq!(after.size, before.size, "size changed");
    assert_eq!(after.uuid, before.uuid, "the LV was replaced");
    assert_eq!(
        lab.ssh_ok(&format!("head -c {} /dev/{pool}/v", pattern.len())),
        pattern,
        "data destroyed"
    );
    s.step("grow refused, LV unchanged");

    wd.write(&config(&pool, &devices, &volume("v", "v", "64MiB", "")));
    wd.expect_plan(0);
}

#[test]
fn volume_import_by_pool_name_path_and_key() {
    let Some(s) = Scenario::start("volume::import_by_pool_name_path_and_key") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let wd = s.workdir(&config(&pool, &s.devices_hcl(1), &volume("v", "v", "48MiB", "")));
    wd.apply();
    let key = wd.state_str("libvirt_lvm_volume.v", "key");
    assert_eq!(key, lab.lv(&pool, "v").expect("LV").uuid, "key is the LV UUID");
    s.step("apply");

    let import_config = format!(
        r#"
resource "libvirt_lvm_volume" "v" {{
  pool     = "{pool}"
  name     = "v"
  capacity = "48MiB"
}}
"#
    );
    for id in [format!("{pool}/v"), format!("/dev/{pool}/v"), key.clone()] {
        let imp = s.workdir(&import_config);
        imp.import("libvirt_lvm_volume.v", &id);
        imp.expect_plan(0);
        assert_eq!(imp.state_str("libvirt_lvm_volume.v", "id"), key, "import by {id}");
        imp.state_rm("libvirt_lvm_volume.v");
        s.step(&format!("import by {id}: plan clean"));
    }
}

#[test]
fn volume_delete_refused_while_attached() {
    let Some(s) = Scenario::start("volume::delete_refused_while_attached") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::shut_off());
    let wd = s.workdir(&config(&pool, &s.devices_hcl(1), &volume("v", "v", "16MiB", "")));
    wd.apply();
    let dev = format!("/dev/{pool}/v");
    // A disk of type 'block' (what the provider itself writes for a path).
    lab.virsh_ok(&[
        "attach-disk",
        &dom.name,
        &dev,
        "sdb",
        "--sourcetype",
        "block",
        "--config",
    ]);
    assert!(dom.disk("sdb", true).is_some_and(|d| d.contains("type='block'")));
    s.step("apply, attached by hand (type='block')");

    let r = wd.try_destroy(&[]).expect_failure();
    r.expect_mentions(&["Volume Is Attached To A Domain", &dom.name, "sdb"]);
    assert!(lab.lv(&pool, "v").is_some(), "LV deleted although attached");
    assert!(lab.pool_names().contains(&pool), "pool removed");
    assert!(dom.disk("sdb", true).is_some(), "disk gone from the domain");
    s.step("destroy refused");
    lab.virsh_ok(&["detach-disk", &dom.name, "sdb", "--config"]);

    // The same by virsh's default from a remote client: it cannot stat the LV, so it writes
    // <disk type='file'><source file='/dev/VG/LV'/>, which still uses the volume.
    lab.virsh_ok(&["attach-disk", &dom.name, &dev, "sdc", "--config"]);
    assert!(dom
        .disk("sdc", true)
        .is_some_and(|d| d.contains(&format!("file='{dev}'"))));
    // lvm_volume.rs attached_to() compares <source file=…> too, not only <source dev=…> and
    // pool/volume (once a provider bug: this destroy deleted a volume a domain still used).
    let r = wd.try_destroy(&[]);
    assert!(
        lab.lv(&pool, "v").is_some(),
        "LV deleted although domain {} uses it as sdc (<source file=…>):\n{r}",
        dom.name
    );
    r.expect_failure()
        .expect_mentions(&["Volume Is Attached To A Domain", &dom.name, "sdc"]);
    lab.virsh_ok(&["detach-disk", &dom.name, "sdc", "--config"]);

    wd.destroy();
    assert!(lab.lv(&pool, "v").is_none());
}

#[test]
fn volume_parallel_create_and_destroy_20() {
    let Some(s) = Scenario::start("volume::parallel_create_and_destroy_20") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let wd = s.workdir(&config(
        &pool,
        &s.devices_hcl(2),
        r#"
resource "libvirt_lvm_volume" "v" {
  count    = 20
  pool     = libvirt_lvm_pool.p.name
  name     = "v${count.index}"
  capacity = "16MiB"
}
"#,
    ));
    let r = wd.apply_parallel(10);
    r.expect_mentions(&["21 added"]);
    s.step("apply of pool + 20 volumes at -parallelism=10");
    let lvs = lab.lvs_in(&pool);
    assert_eq!(lvs.len(), 20, "{lvs:?}");
    for i in 0..20 {
        let name = format!("v{i}");
        let lv = lvs
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(lv.size, 16 * MIB);
        assert!(lv.attr.starts_with("-wi-"));
    }
    assert_eq!(lab.virsh_ok(&["vol-list", &pool]).lines().count(), 20);
    wd.expect_plan(0);
    s.step("checked");
    wd.try_destroy(&["-parallelism=10"]).expect_ok();
    s.step("destroy at -parallelism=10");
    assert!(lab.vg(&pool).is_none(), "VG left: {:?}", lab.lvs_in(&pool));
    assert!(!lab.pool_names().contains(&pool));
}

/// The physical extents of `vg/lv` as (device, first extent, last extent), from `lvs -o
/// seg_pe_ranges` (`/dev/vdb:0-3`, one range per segment).
#[track_caller]
fn pe_ranges(lab: &Lab, vg: &str, lv: &str) -> Vec<(String, u64, u64)> {
    let out = lab.ssh_ok(&format!("lvs --noheadings -o seg_pe_ranges {vg}/{lv}"));
    let ranges: Vec<(String, u64, u64)> = out
        .split_whitespace()
        .map(|r| {
            let parsed = r.rsplit_once(':').and_then(|(dev, span)| {
                let (a, b) = span.split_once('-')?;
                Some((dev.to_string(), a.parse().ok()?, b.parse().ok()?))
            });
            parsed.unwrap_or_else(|| panic!("cannot parse the PE range {r:?} of {vg}/{lv} in {out:?}"))
        })
        .collect();
    assert!(!ranges.is_empty(), "no PE ranges for {vg}/{lv}: {out:?}");
    ranges
}

/// A whole number printed by a guest command, or a failure quoting it.
#[track_caller]
fn guest_number(lab: &Lab, cmd: &str) -> u64 {
    let out = lab.ssh_ok(cmd);
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("`{cmd}` printed {out:?}, not a whole number"))
}

/// How many bytes of `device` in [offset, offset + len) are not zero, read with O_DIRECT (no page
/// cache between the wipe through the LV and this read through the PV).
fn nonzero_bytes(lab: &Lab, device: &str, offset: u64, len: u64) -> u64 {
    guest_number(
        lab,
        &format!(
            "dd if={device} bs=1M iflag=direct,skip_bytes,count_bytes skip={offset} count={len} status=none \
             | tr -d '\\000' | wc -c"
        ),
    )
}

#[test]
fn volume_wipe_on_destroy_zeroes_the_extents() {
    let Some(s) = Scenario::start("volume::wipe_on_destroy_zeroes_the_extents") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let vols = [
        volume("w", "w", "16MiB", "wipe_on_destroy = true"),
        // The control: without wipe_on_destroy its extents keep the data, so the zeros read from
        // w's extents are the wipe's doing, not LVM's or the disk's (discards, zeroing on remove).
        volume("k", "k", "16MiB", ""),
    ]
    .concat();
    let wd = s.workdir(&config(&pool, &s.devices_hcl(1), &vols));
    wd.apply();
    // Every byte of both LVs 0xff.
    for lv in ["w", "k"] {
        lab.ssh_ok(&format!(
            "tr '\\000' '\\377' < /dev/zero | head -c {} | dd of=/dev/{pool}/{lv} bs=1M oflag=direct status=none",
            16 * MIB
        ));
    }
    let extent = guest_number(
        lab,
        &format!("vgs --noheadings --units b --nosuffix -o vg_extent_size {pool}"),
    );
    let regions = |lv: &str| -> Vec<(String, u64, u64)> {
        pe_ranges(lab, &pool, lv)
            .into_iter()
            .map(|(dev, first, last)| {
                let pe_start = guest_number(
                    lab,
                    &format!("pvs --noheadings --units b --nosuffix -o pe_start {dev}"),
                );
                (dev, pe_start + first * extent, (last - first + 1) * extent)
            })
            .collect()
    };
    let (w_regions, k_regions) = (regions("w"), regions("k"));
    let total = |r: &[(String, u64, u64)]| r.iter().map(|(_, _, len)| len).sum::<u64>();
    assert_eq!(total(&w_regions), 16 * MIB, "w's extents: {w_regions:?}");
    assert_eq!(total(&k_regions), 16 * MIB, "k's extents: {k_regions:?}");
    let nonzero = |r: &[(String, u64, u64)]| {
        r.iter()
            .map(|(dev, off, len)| nonzero_bytes(lab, dev, *off, *len))
            .sum::<u64>()
    };
    assert_eq!(nonzero(&w_regions), 16 * MIB, "the pattern is not on w's extents");
    assert_eq!(nonzero(&k_regions), 16 * MIB, "the pattern is not on k's extents");
    s.step("apply, both LVs filled with 0xff, extents located on the PV");

    wd.try_destroy(&["-target=libvirt_lvm_volume.w", "-target=libvirt_lvm_volume.k"])
        .expect_ok();
    assert!(lab.lv(&pool, "w").is_none() && lab.lv(&pool, "k").is_none());
    s.step("destroy both volumes");
    assert_eq!(
        nonzero(&w_regions),
        0,
        "wipe_on_destroy = true: w's former extents {w_regions:?} still hold data"
    );
    assert_eq!(
        nonzero(&k_regions),
        16 * MIB,
        "the control k (no wipe) lost its data on destroy, so the zeros of w prove nothing"
    );
}

#[test]
fn volume_sparse_shrink_rename_and_move() {
    let Some(s) = Scenario::start("volume::sparse_shrink_rename_and_move") else {
        return;
    };
    let lab = s.lab();
    let (p, q) = (s.name("p"), s.name("q"));
    let pools = format!(
        r#"
resource "libvirt_lvm_pool" "p" {{
  name           = "{p}"
  source_devices = ["{dev_p}"]
  on_destroy     = "delete"
  force_destroy  = true
}}

resource "libvirt_lvm_pool" "q" {{
  name           = "{q}"
  source_devices = ["{dev_q}"]
  on_destroy     = "delete"
  force_destroy  = true
}}
"#,
        dev_p = lab.pv_devices[0],
        dev_q = lab.pv_devices[1]
    );
    let body = |n_name: &str, m_pool: &str, k: &str| {
        format!(
            r#"{pools}
resource "libvirt_lvm_volume" "s" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "s"
  capacity = "64MiB"
  sparse   = true
}}

resource "libvirt_lvm_volume" "k" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "k"
  {k}
}}

resource "libvirt_lvm_volume" "n" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "{n_name}"
  capacity = "16MiB"
}}

resource "libvirt_lvm_volume" "m" {{
  pool     = libvirt_lvm_pool.{m_pool}.name
  name     = "m"
  capacity = "16MiB"
}}
"#
        )
    };
    let wd = s.workdir(&body("n", "p", r#"capacity = "32MiB""#));
    wd.apply();
    s.step("apply: two pools, a sparse volume and three plain ones");

    // sparse = true: libvirt's logical backend makes a snapshot LV over a virtual origin
    // (`lvcreate --type snapshot --virtualsize`) whose COW space starts at one extent.
    let sparse = lab
        .lv(&p, "s")
        .unwrap_or_else(|| panic!("no LV s: {:?}", lab.lvs()));
    assert!(
        sparse.attr.starts_with('s'),
        "sparse = true: expected a snapshot (sparse) LV, lv_attr is {}",
        sparse.attr
    );
    // lv_size is the COW space; the size the guest sees is the virtual origin's.
    assert!(
        sparse.size < 64 * MIB,
        "the sparse LV's COW space is {} bytes",
        sparse.size
    );
    assert_eq!(
        guest_number(
            lab,
            &format!("lvs --noheadings --units b --nosuffix -o origin_size {p}/s")
        ),
        64 * MIB,
        "the sparse LV's virtual size (origin_size)"
    );
    assert_eq!(
        wd.state_attr("libvirt_lvm_volume.s", "capacity_bytes").as_u64(),
        Some(64 * MIB)
    );
    let (cap, alloc) = vol_sizes(lab, &p, "s");
    assert_eq!(cap, 64 * MIB, "libvirt capacity of the sparse volume");
    assert!(
        alloc < cap,
        "libvirt allocation {alloc} of the sparse volume is not below its capacity {cap}"
    );
    assert_eq!(
        wd.state_attr("libvirt_lvm_volume.s", "allocation").as_u64(),
        Some(alloc),
        "state allocation of the sparse volume"
    );
    assert_eq!(
        wd.state_attr("libvirt_lvm_volume.s", "sparse").as_bool(),
        Some(true)
    );
    // The VG gave the sparse LV its COW space only: 1 GiB PV minus 32 + 16 + 16 MiB plain LVs
    // leaves far more than 64 MiB more than the full 64 MiB would.
    let vg = lab.vg(&p).expect("VG p");
    let plain = (32 + 16 + 16) * MIB;
    assert!(
        vg.size - vg.free < plain + 64 * MIB,
        "VG {p} uses {} bytes: the sparse LV took its whole 64 MiB (plain LVs use {plain})",
        vg.size - vg.free
    );
    for lv in ["k", "n", "m"] {
        let plain = lab.lv(&p, lv).expect("plain LV");
        assert!(plain.attr.starts_with("-wi-"), "{lv}: {}", plain.attr);
    }
    wd.expect_plan(0);
    s.step("sparse LV checked in lvs, vol-dumpxml and vgs");

    // A new name and a new pool each replace the volume: the old LV goes, a new one is made.
    let (n_old, m_old) = (lab.lv(&p, "n").expect("LV n"), lab.lv(&p, "m").expect("LV m"));
    wd.write(&body("n2", "q", r#"capacity = "32MiB""#));
    let r = wd.expect_plan(2);
    r.expect_mentions(&[
        "libvirt_lvm_volume.n must be replaced",
        "libvirt_lvm_volume.m must be replaced",
        "2 to add, 0 to change, 2 to destroy",
    ]);
    wd.apply();
    assert!(
        lab.lv(&p, "n").is_none(),
        "the renamed volume's old LV p/n is left"
    );
    let n_new = lab
        .lv(&p, "n2")
        .unwrap_or_else(|| panic!("no LV p/n2: {:?}", lab.lvs()));
    assert_ne!(n_new.uuid, n_old.uuid, "n2 is not a new LV");
    assert!(lab.lv(&p, "m").is_none(), "the moved volume's old LV p/m is left");
    let m_new = lab
        .lv(&q, "m")
        .unwrap_or_else(|| panic!("no LV q/m: {:?}", lab.lvs()));
    assert_ne!(m_new.uuid, m_old.uuid);
    assert_eq!((n_new.size, m_new.size), (16 * MIB, 16 * MIB));
    assert_eq!(wd.state_str("libvirt_lvm_volume.n", "key"), n_new.uuid);
    assert_eq!(wd.state_str("libvirt_lvm_volume.m", "key"), m_new.uuid);
    assert_eq!(
        wd.state_str("libvirt_lvm_volume.m", "path"),
        format!("/dev/{q}/m")
    );
    wd.expect_plan(0);
    s.step("name and pool changes replaced the volumes");

    // allow_shrink = true lifts the provider's own refusal: the plan no longer warns that
    // shrinking is refused, and the apply asks libvirt to shrink. libvirt's storage driver never
    // shrinks below the allocation, which for a plain LV is its whole size: refused by libvirt
    // (its message kept, the way forward explained), the LV untouched.
    let k_before = lab.lv(&p, "k").expect("LV k");
    wd.write(&body("n2", "q", "capacity = \"16MiB\"\n  allow_shrink = true"));
    let r = wd.expect_plan(2);
    assert!(
        !r.text().contains("Shrinking Would Destroy Data"),
        "allow_shrink = true still warns that shrinking is refused:\n{r}"
    );
    r.expect_mentions(&["Resizing Needs LVM's Tools", "1 to change", "0 to destroy"]);
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_diagnostic("libvirt Cannot Shrink LVM Volumes", "capacity");
    // libvirt's message, as terraform wraps it, and the way forward in bytes.
    r.expect_mentions(&[
        "can't shrink",
        "below existing allocation",
        "lvreduce -L 16777216b",
    ]);
    let k_after = lab.lv(&p, "k").expect("LV k still there");
    assert_eq!((k_after.size, &k_after.uuid), (32 * MIB, &k_before.uuid));
    s.step("allow_shrink: shrink sent to libvirt, refused below the allocation, LV unchanged");

    // Without allow_shrink the provider itself refuses, before libvirt is asked.
    wd.write(&body("n2", "q", r#"capacity = "16MiB""#));
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_diagnostic("Shrinking Would Destroy Data", "capacity");
}
