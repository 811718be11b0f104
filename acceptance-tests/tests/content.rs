//! Volume content on the lab (`source`, `clone_from`): after apply, the sha256 of the whole LV in
//! the guest equals that of `qemu-img convert -O raw` of the image padded with zeros to the
//! capacity, on extents that held 0xff bytes just before. Failures (download cut, 404, checksum,
//! size, backing file) leave nothing behind, in the state and in `lvs`.
//!
//! Lab time is kept small: all images are a few MiB, and each scenario builds its volumes in as few
//! applies as possible (one apply makes every image volume, good and failing; one more makes every
//! clone).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use acceptance_tests::images::{
    dirty_extents, expected_volume_sha256, make_logical_pool, path_str, run_ok, sha256_of_file,
    verbatim_volume_sha256,
};
use acceptance_tests::{hcl_string, HttpServer, Lab, Reply, Scenario, Workdir};

const MIB: u64 = 1 << 20;
/// Every image holds an 8 MiB disk; every image volume is twice that, so half of it is tail.
const IMAGE_MIB: u64 = 8;
const VOLUME_MIB: u64 = 16;

fn sh(script: &str) {
    run_ok("sh", &["-c", script]);
}

/// The test images, all holding the same 8 MiB disk of known patterns at known offsets.
struct Images {
    _dir: tempfile::TempDir,
    files: BTreeMap<&'static str, PathBuf>,
}

impl Images {
    fn make() -> Images {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let p = |name: &str| d.join(name);
        let mut files = BTreeMap::new();
        // The disk: data at the start, in the middle, at the very end; a zeroed range; holes.
        let base = p("base.qcow2");
        run_ok("qemu-img", &["create", "-f", "qcow2", path_str(&base), "8M"]);
        run_ok(
            "qemu-io",
            &[
                "-c",
                "write -P 0x11 0 1M",
                "-c",
                "write -P 0x22 3M 1536K",
                "-c",
                "write -z 3584K 256K",
                "-c",
                "write -P 0x33 8128K 64K",
                path_str(&base),
            ],
        );
        let convert = |args: &[&str], name: &'static str, files: &mut BTreeMap<_, _>| {
            let out = p(name);
            convert_from(&base, args, &out);
            files.insert(name, out);
        };
        convert(&["-O", "raw"], "disk.raw", &mut files);
        convert(&["-O", "qcow2", "-o", "compat=0.10"], "v2.qcow2", &mut files);
        convert(&["-O", "qcow2", "-o", "compat=1.1"], "v3.qcow2", &mut files);
        convert(&["-c", "-O", "qcow2"], "compressed.qcow2", &mut files);
        // qemu-img convert writes no zero clusters; qemu-io on a v3 image does.
        let zero = p("zero.qcow2");
        std::fs::copy(&files["v3.qcow2"], &zero).expect("copy");
        run_ok(
            "qemu-io",
            &["-c", "write -z 1M 2M", "-c", "write -z 3M 256K", path_str(&zero)],
        );
        files.insert("zero.qcow2", zero);
        sh(&format!(
            "gzip -c {} > {}",
            path_str(&files["v3.qcow2"]),
            path_str(&p("v3.qcow2.gz"))
        ));
        files.insert("v3.qcow2.gz", p("v3.qcow2.gz"));
        sh(&format!(
            "xz -c {} > {}",
            path_str(&files["disk.raw"]),
            path_str(&p("disk.raw.xz"))
        ));
        files.insert("disk.raw.xz", p("disk.raw.xz"));
        sh(&format!(
            "zstd -q -c {} > {}",
            path_str(&files["compressed.qcow2"]),
            path_str(&p("compressed.qcow2.zst"))
        ));
        files.insert("compressed.qcow2.zst", p("compressed.qcow2.zst"));
        // An image with a backing file: refused.
        let overlay = p("overlay.qcow2");
        run_ok(
            "qemu-img",
            &[
                "create",
                "-f",
                "qcow2",
                "-F",
                "qcow2",
                "-b",
                path_str(&files["v3.qcow2"]),
                path_str(&overlay),
            ],
        );
        files.insert("overlay.qcow2", overlay);
        // A realistic image: a real ext4 filesystem holding real files (this repository's sources
        // and docs, and the qemu-img executable), as compressed qcow2 (clusters of every
        // compressibility, metadata, free space).
        let tree = p("tree");
        std::fs::create_dir(&tree).expect("mkdir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for d in ["src", "docs", "proto", "examples"] {
            run_ok("cp", &["-R", path_str(&root.join(d)), path_str(&tree)]);
        }
        run_ok("cp", &[REALISTIC_FILE, path_str(&tree.join("qemu-img"))]);
        let fs = p("realfs.raw");
        run_ok(
            "mke2fs",
            &[
                "-q",
                "-F",
                "-t",
                "ext4",
                "-L",
                "realfs",
                "-d",
                path_str(&tree),
                path_str(&fs),
                "48M",
            ],
        );
        convert_from(&fs, &["-c", "-O", "qcow2"], &p("realistic.qcow2"));
        files.insert("realistic.qcow2", p("realistic.qcow2"));
        Images { _dir: dir, files }
    }

    fn path(&self, name: &str) -> &Path {
        &self.files[name]
    }

    fn bytes(&self, name: &str) -> Arc<Vec<u8>> {
        Arc::new(std::fs::read(self.path(name)).expect("read image"))
    }

    /// The unwrapped image a wrapped one holds (the reference is computed from it).
    fn unwrapped(&self, name: &str) -> &Path {
        self.path(
            name.trim_end_matches(".gz")
                .trim_end_matches(".xz")
                .trim_end_matches(".zst"),
        )
    }
}

/// `qemu-img convert ARGS FROM TO`.
fn convert_from(from: &Path, args: &[&str], to: &Path) {
    let mut all = vec!["convert"];
    all.extend_from_slice(args);
    all.extend([path_str(from), path_str(to)]);
    run_ok("qemu-img", &all);
}

/// A real executable copied into the realistic image, read back in the guest.
const REALISTIC_FILE: &str = "/usr/bin/qemu-img";
/// The realistic image's filesystem is 48 MiB; its volume is larger.
const REALISTIC_MIB: u64 = 64;

fn volume(label: &str, pool: &str, capacity_mib: u64, body: &str) -> String {
    format!(
        "resource \"libvirt_lvm_volume\" \"{label}\" {{\n  pool     = {}\n  name     = \"{label}\"\n  capacity = \"{capacity_mib}MiB\"\n{body}\n}}\n",
        hcl_string(pool)
    )
}

fn source(location: &str, value: &str, extra: &str) -> String {
    format!("  source {{\n    {location} = {}\n{extra}  }}", hcl_string(value))
}

fn checksum(sha: &str) -> String {
    format!("    checksum = \"sha256:{sha}\"\n")
}

/// sha256 of each LV `vg/name`, read in the guest in one command.
fn lv_sha256(lab: &Lab, vg: &str, names: &[&str]) -> BTreeMap<String, String> {
    let devs: Vec<String> = names.iter().map(|n| format!("/dev/{vg}/{n}")).collect();
    let out = lab.ssh_ok(&format!("sha256sum {}", devs.join(" ")));
    out.lines()
        .filter_map(|l| {
            let (sha, dev) = l.split_once("  ")?;
            Some((dev.rsplit('/').next()?.to_string(), sha.to_string()))
        })
        .collect()
}

fn lv_names(lab: &Lab, vg: &str) -> Vec<String> {
    let mut v: Vec<String> = lab.lvs_in(vg).into_iter().map(|lv| lv.name).collect();
    v.sort();
    v
}

fn state_volumes(wd: &Workdir) -> Vec<String> {
    let mut v: Vec<String> = wd
        .state_addresses()
        .into_iter()
        .filter_map(|a| a.strip_prefix("libvirt_lvm_volume.").map(str::to_string))
        .collect();
    v.sort();
    v
}

/// Every way of filling a volume from an image, in one apply: local files (raw, qcow2 v2 and v3,
/// compressed, zero clusters, gz/xz/zst wrappers, checksum right and wrong) and downloads from a
/// loopback server (with and without Content-Length, a redirect, a 404, a connection dropped
/// mid-body, a wrong checksum, an image too big, a backing file, a server stalling past
/// `timeouts.create`). The good volumes read as their
/// image then zeros, on extents that held 0xff just before; the failed ones are nowhere. Then a
/// changed `source` is an update that writes nothing, and plan-time refusals change nothing.
#[test]
fn content_images_fill_volumes() {
    let Some(sc) = Scenario::start("content::images_fill_volumes") else {
        return;
    };
    let lab = sc.lab();
    let pool = sc.name("img");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    let dirty = dirty_extents(lab, &pool, 320);
    sc.step(&format!("pool with 320 MiB of 0xff extents ({dirty})"));

    let img = Images::make();
    let raw = img.bytes("disk.raw");
    let server = HttpServer::start(vec![
        (
            "/len.raw".into(),
            Reply::Body {
                body: raw.clone(),
                length: true,
                cut: None,
            },
        ),
        (
            "/nolen.qcow2".into(),
            Reply::Body {
                body: img.bytes("compressed.qcow2"),
                length: false,
                cut: None,
            },
        ),
        ("/moved".into(), Reply::Redirect("/len.raw".into())),
        (
            "/cut.raw".into(),
            Reply::Body {
                body: raw.clone(),
                length: true,
                cut: Some(raw.len() / 2),
            },
        ),
        (
            "/backing.qcow2".into(),
            Reply::Body {
                body: img.bytes("overlay.qcow2"),
                length: true,
                cut: None,
            },
        ),
        ("/gone".into(), Reply::Status(404)),
        (
            "/stall.raw".into(),
            Reply::Stall {
                body: raw.clone(),
                hold: Duration::from_secs(15),
            },
        ),
    ]);
    sc.step("images made, server started");

    let file = |name: &str| path_str(img.path(name)).to_string();
    let raw_sha = sha256_of_file(img.path("disk.raw"));
    let wrong = "0".repeat(64);
    // (label, image whose raw form is expected, HCL body)
    let good: Vec<(&str, &str, String)> = vec![
        ("raw", "disk.raw", source("path", &file("disk.raw"), "")),
        (
            "v2",
            "v2.qcow2",
            source("path", &file("v2.qcow2"), "    format = \"qcow2\"\n"),
        ),
        (
            "v3",
            "v3.qcow2",
            source(
                "path",
                &file("v3.qcow2"),
                &checksum(&sha256_of_file(img.path("v3.qcow2"))),
            ),
        ),
        (
            "comp",
            "compressed.qcow2",
            source("path", &file("compressed.qcow2"), ""),
        ),
        ("zero", "zero.qcow2", source("path", &file("zero.qcow2"), "")),
        ("gz", "v3.qcow2.gz", source("path", &file("v3.qcow2.gz"), "")),
        (
            "xz",
            "disk.raw.xz",
            source("path", &file("disk.raw.xz"), "    format = \"raw\"\n"),
        ),
        (
            "zst",
            "compressed.qcow2.zst",
            source("path", &file("compressed.qcow2.zst"), ""),
        ),
        (
            "ulen",
            "disk.raw",
            source("url", &server.url("/len.raw"), &checksum(&raw_sha)),
        ),
        (
            "unolen",
            "compressed.qcow2",
            source("url", &server.url("/nolen.qcow2"), ""),
        ),
        ("uredir", "disk.raw", source("url", &server.url("/moved"), "")),
        // A qcow2 file with `format = "raw"`: written as it is, its qcow2 header included.
        (
            "verbatim",
            "v3.qcow2",
            source("path", &file("v3.qcow2"), "    format = \"raw\"\n"),
        ),
    ];
    // (label, capacity MiB, HCL body, the error summary)
    let bad: Vec<(&str, u64, String, &str)> = vec![
        (
            "u404",
            VOLUME_MIB,
            source("url", &server.url("/gone"), ""),
            "Image Download Failed",
        ),
        (
            "ucut",
            VOLUME_MIB,
            source("url", &server.url("/cut.raw"), ""),
            "Image Download Failed",
        ),
        (
            "usum",
            VOLUME_MIB,
            source("url", &server.url("/len.raw"), &checksum(&wrong)),
            "Image Checksum Mismatch",
        ),
        (
            "psum",
            VOLUME_MIB,
            source("path", &file("disk.raw"), &checksum(&wrong)),
            "Image Checksum Mismatch",
        ),
        (
            "usmall",
            IMAGE_MIB / 2,
            source("url", &server.url("/len.raw"), ""),
            "Capacity Smaller Than The Image",
        ),
        (
            "uback",
            VOLUME_MIB,
            source("url", &server.url("/backing.qcow2"), ""),
            "Image Not Usable",
        ),
        (
            "ustall",
            VOLUME_MIB,
            format!(
                "{}\n  timeouts {{\n    create = \"3s\"\n  }}",
                source("url", &server.url("/stall.raw"), "")
            ),
            "Volume Creation Timed Out",
        ),
    ];
    let config = |raw_source: &str| {
        let mut c = String::new();
        for (label, _, body) in &good {
            let body = if *label == "raw" {
                raw_source.to_string()
            } else {
                body.clone()
            };
            c.push_str(&volume(label, &pool, VOLUME_MIB, &body));
        }
        for (label, cap, body, _) in &bad {
            c.push_str(&volume(label, &pool, *cap, body));
        }
        c.push_str(&volume(
            "real",
            &pool,
            REALISTIC_MIB,
            &source("path", &file("realistic.qcow2"), ""),
        ));
        c
    };
    let wd = sc.workdir(&config(&good[0].2));
    let run = wd.try_apply(&[]).expect_failure();
    sc.step("apply (the good volumes made, the bad ones refused)");
    for (label, _, _, summary) in &bad {
        assert!(
            run.text().contains(&format!("Error: {summary}")),
            "{label}: no {summary:?} in\n{run}"
        );
    }
    // (Terraform wraps diagnostic text: each needle is a run of words it keeps on one line.)
    run.expect_mentions(&[
        "HTTP 404",
        &format!("sha256:{wrong}"),
        "backing file",
        "after 4194304",
        "this create made was removed",
    ]);

    let mut want: Vec<String> = good.iter().map(|(l, _, _)| l.to_string()).collect();
    want.push("real".into());
    want.sort();
    assert_eq!(
        state_volumes(&wd),
        want,
        "only the good volumes are in the state\n{run}"
    );
    assert_eq!(
        lv_names(lab, &pool),
        want,
        "only the good volumes are LVs: nothing left behind"
    );

    let labels: Vec<&str> = good.iter().map(|(l, _, _)| *l).collect();
    let got = lv_sha256(lab, &pool, &labels);
    for (label, image, _) in &good {
        let converted = expected_volume_sha256(img.unwrapped(image), VOLUME_MIB * MIB);
        let expected = if *label == "verbatim" {
            let verbatim = verbatim_volume_sha256(img.path(image), VOLUME_MIB * MIB);
            assert_ne!(
                verbatim, converted,
                "the control: {image} as it is differs from its disk"
            );
            verbatim
        } else {
            converted
        };
        assert_eq!(
            got.get(*label),
            Some(&expected),
            "{label}: the LV reads as qemu-img convert -O raw of {image}, then zeros to {VOLUME_MIB} MiB"
        );
    }
    sc.step("every good LV's sha256 checked in the guest");

    // The realistic image: byte for byte, and a filesystem the guest reads.
    let real = format!("/dev/{pool}/real");
    assert_eq!(
        lv_sha256(lab, &pool, &["real"]).get("real"),
        Some(&expected_volume_sha256(
            img.path("realistic.qcow2"),
            REALISTIC_MIB * MIB
        )),
        "real: the LV reads as the compressed qcow2's raw disk, then zeros"
    );
    lab.ssh_ok(&format!("e2fsck -fn {real}"));
    let in_guest = lab.ssh_ok(&format!(
        "debugfs -R 'cat /qemu-img' {real} 2>/dev/null | sha256sum"
    ));
    assert_eq!(
        in_guest.split_whitespace().next(),
        Some(sha256_of_file(Path::new(REALISTIC_FILE)).as_str()),
        "the executable read from the filesystem on the LV differs from {REALISTIC_FILE}"
    );
    sc.step("realistic image: a compressed qcow2 of a real ext4 filesystem; e2fsck clean, a file read back");

    // A changed source: an update that writes nothing, with the warning.
    wd.write(&config(&source("path", &file("v2.qcow2"), "")));
    let plan = wd.plan_output();
    assert!(
        plan.contains("Volume Content Is Not Re-Written") && plan.contains("-replace="),
        "{plan}"
    );
    assert!(
        plan.contains("update in-place") && !plan.contains("must be replaced"),
        "{plan}"
    );
    let before = lv_sha256(lab, &pool, &["raw"]);
    wd.try_apply(&["-target=libvirt_lvm_volume.raw"]).expect_ok();
    assert_eq!(lv_sha256(lab, &pool, &["raw"]), before, "nothing was written");
    assert_eq!(
        wd.state_attr("libvirt_lvm_volume.raw", "source")["path"].as_str(),
        Some(file("v2.qcow2").as_str()),
        "the new source is recorded"
    );
    sc.step("a changed source: updated in place, nothing written");

    // Refused at plan, before anything changes: an image bigger than the capacity, a backing file.
    let before = lab.snapshot();
    let wd2 = sc.workdir(&format!(
        "{}{}",
        volume(
            "small",
            &pool,
            IMAGE_MIB / 2,
            &source("path", &file("v3.qcow2"), "")
        ),
        volume(
            "back",
            &pool,
            VOLUME_MIB,
            &source("path", &file("overlay.qcow2"), "")
        )
    ));
    let run = wd2.tf(&["plan", "-input=false"]).expect_failure();
    run.expect_diagnostic("Capacity Smaller Than The Image", "capacity")
        .expect_diagnostic("Image Not Usable", "path")
        .expect_mentions(&["4194304", "8388608", "backing file"]);
    before.assert_unchanged(&lab.snapshot(), "a refused plan");
    sc.step("plan-time refusals");
    drop(server);
}

/// `clone_from`: within a pool, across two logical pools (one VG per PV disk), and from a dir
/// pool's qcow2 volume; each clone larger than its source, on extents that held 0xff, must read
/// as the source then zeros. A capacity smaller than the source is refused, leaving nothing.
#[test]
fn content_clone_from() {
    let Some(sc) = Scenario::start("content::clone_from") else {
        return;
    };
    let lab = sc.lab();
    let (p1, p2) = (sc.name("c1"), sc.name("c2"));
    make_logical_pool(lab, &p1, &lab.pv_devices[..1]);
    make_logical_pool(lab, &p2, &lab.pv_devices[1..2]);
    dirty_extents(lab, &p1, 128);
    dirty_extents(lab, &p2, 64);
    let img = Images::make();
    let src = img.path("compressed.qcow2");

    // A dir pool in the guest holding the qcow2 (uploaded as bytes; the pool's refresh probes it).
    let dirpool = sc.name("dir");
    let dir = format!("/var/tmp/{dirpool}");
    lab.virsh_ok(&["pool-define-as", &dirpool, "dir", "--target", &dir]);
    lab.virsh_ok(&["pool-build", &dirpool]);
    lab.virsh_ok(&["pool-start", &dirpool]);
    let len = std::fs::metadata(src).expect("image size").len().to_string();
    lab.virsh_ok(&["vol-create-as", &dirpool, "golden.qcow2", &len, "--format", "raw"]);
    lab.virsh_ok(&["vol-upload", "--pool", &dirpool, "golden.qcow2", path_str(src)]);
    lab.virsh_ok(&["pool-refresh", &dirpool]);
    let dir_key = lab
        .virsh_ok(&["vol-key", "--pool", &dirpool, "golden.qcow2"])
        .trim()
        .to_string();
    let dir_xml = lab.vol_xml(&dirpool, "golden.qcow2").expect("dir volume xml");
    assert!(
        dir_xml.contains("type='qcow2'"),
        "libvirt sees a qcow2: {dir_xml}"
    );
    sc.step("pools, dirty extents, the dir pool's qcow2");

    let golden = volume(
        "golden",
        &p1,
        VOLUME_MIB,
        &source("path", path_str(img.path("disk.raw")), ""),
    );
    let clones = [
        volume("same", &p1, 24, "  clone_from = libvirt_lvm_volume.golden.id"),
        volume("cross", &p2, 24, "  clone_from = libvirt_lvm_volume.golden.id"),
        volume(
            "fromdir",
            &p1,
            VOLUME_MIB,
            &format!("  clone_from = {}", hcl_string(&dir_key)),
        ),
        volume("small", &p1, 8, "  clone_from = libvirt_lvm_volume.golden.id"),
    ]
    .concat();
    let wd = sc.workdir(&format!("{golden}{clones}"));
    let run = wd.try_apply(&[]);
    sc.step("apply golden and its clones");
    run.expect_mentions(&["Error: Capacity Smaller Than The Clone Source"]);
    assert!(lab.lv(&p1, "small").is_none(), "the refused clone made no LV");

    let raw = img.path("disk.raw");
    let check = |vg: &str, name: &str, mib: u64| {
        let got = lv_sha256(lab, vg, &[name]);
        assert_eq!(
            got.get(name),
            Some(&expected_volume_sha256(raw, mib * MIB)),
            "{vg}/{name}: the source then zeros to {mib} MiB"
        );
    };
    check(&p1, "golden", VOLUME_MIB);
    check(&p1, "same", 24);
    check(&p2, "cross", 24);
    // libvirt converts a non-raw source with qemu-img on the hypervisor: where the hypervisor has
    // none, libvirt refuses the copy, and nothing may be left behind.
    let has_qemu_img = lab.ssh("command -v qemu-img").0 == 0;
    if has_qemu_img {
        let got = lv_sha256(lab, &p1, &["fromdir"]);
        assert_eq!(
            got.get("fromdir"),
            Some(&expected_volume_sha256(src, VOLUME_MIB * MIB)),
            "the dir pool's qcow2, converted by libvirt, then zeros"
        );
    } else {
        assert!(lab.lv(&p1, "fromdir").is_none(), "a refused copy leaves no LV");
        assert!(
            !state_volumes(&wd).contains(&"fromdir".to_string()),
            "a refused copy is not in the state\n{run}"
        );
        run.expect_mentions(&["qemu-img"]);
        eprintln!("NOTE: the lab has no qemu-img: the dir-pool qcow2 clone was checked as a clean refusal");
    }
    let mut want = vec!["cross", "golden", "same"];
    if has_qemu_img {
        want.push("fromdir");
    }
    want.sort();
    assert_eq!(state_volumes(&wd), want, "state\n{run}");
    sc.step("clones checked in the guest");
    wd.destroy();
    let _ = lab.virsh(&["vol-delete", "--pool", &dirpool, "golden.qcow2"]);
}
