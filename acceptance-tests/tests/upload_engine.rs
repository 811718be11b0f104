//! The upload engine (`Connection::upload_volume` with `image::open`) on the lab's real LVM,
//! without terraform: the LV must read, in the guest, as the image followed by zeros, even where
//! it held other data before. `upload_engine_measure` (ignored; run it by name) prints figures
//! against virsh's own upload.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use acceptance_tests::{Lab, Scenario};
use terraform_provider_libvirt::image::{self, Cancel, Checksum, FormatChoice, Location, Spec};
use terraform_provider_libvirt::libvirt::conn::ConnectOptions;
use terraform_provider_libvirt::libvirt::upload::{UploadTarget, Uploaded};
use terraform_provider_libvirt::libvirt::Connection;

const MIB: u64 = 1 << 20;

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn sha256_of_file(p: &Path) -> String {
    run("sha256sum", &[s(p)])
        .split_whitespace()
        .next()
        .expect("sha256sum prints a digest")
        .to_string()
}

/// A logical pool over the given PV devices, started.
fn make_pool(lab: &Lab, name: &str, devices: &[String]) {
    let sources: String = devices.iter().map(|d| format!("<device path='{d}'/>")).collect();
    let xml = format!(
        "<pool type='logical'><name>{name}</name><source>{sources}<name>{name}</name>\
         <format type='lvm2'/></source><target><path>/dev/{name}</path></target></pool>"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pool.xml");
    std::fs::write(&file, xml).expect("write pool xml");
    lab.virsh_ok(&["pool-define", s(&file)]);
    lab.virsh_ok(&["pool-build", name, "--overwrite"]);
    lab.virsh_ok(&["pool-start", name]);
}

/// A plain (linear, fully allocated) LV.
fn make_lv(lab: &Lab, pool: &str, name: &str, mib: u64) {
    let size = format!("{mib}M");
    lab.virsh_ok(&["vol-create-as", pool, name, &size, "--allocation", &size]);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Opens `path` and uploads it into `pool/name` through the provider's engine.
fn upload(
    rt: &tokio::runtime::Runtime,
    lab: &Lab,
    pool: &str,
    name: &str,
    spec: Spec,
) -> Result<Uploaded, String> {
    rt.block_on(async {
        let conn = Connection::open(
            &lab.uri,
            &ConnectOptions::default(),
            Arc::new(AtomicBool::new(false)),
        )
        .await
        .map_err(|e| e.to_string())?;
        let vol = conn
            .find_volume(pool, name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the volume exists")?;
        let target = UploadTarget {
            pool: pool.to_string(),
            name: name.to_string(),
            key: vol.key(),
            path: Some(vol.path()),
        };
        let img = tokio::task::spawn_blocking(move || image::open(&spec, &Cancel::never()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        conn.upload_volume(&target, img, Cancel::never())
            .await
            .map_err(|e| format!("{e} (written: {})", e.written))
    })
}

fn local(p: &Path, checksum: Option<String>) -> Spec {
    Spec {
        location: Location::Path(p.to_path_buf()),
        format: FormatChoice::Auto,
        checksum: checksum.map(|c| Checksum::parse(&c).expect("valid checksum")),
    }
}

/// The LV reads as the image followed by zeros, although the extents it was given held 0xff
/// bytes from an LV removed just before (LVM does not clear them; only the upload's tail hole does).
#[test]
fn upload_fills_an_lv_with_a_qcow2_and_zeros_its_tail() {
    let Some(sc) = Scenario::start("upload_engine::fill") else {
        return;
    };
    let lab = sc.lab();
    let pool = sc.name("p");
    make_pool(lab, &pool, &lab.pv_devices[..1]);

    sc.step("an LV full of 0xff, removed; a new LV on the same extents");
    make_lv(lab, &pool, "dirty", 96);
    lab.ssh_ok(&format!(
        "tr '\\0' '\\377' </dev/zero | dd of=/dev/{pool}/dirty bs=1M count=96 iflag=fullblock oflag=direct status=none"
    ));
    let dirty_extents = lab.ssh_ok(&format!("lvs --noheadings -o seg_pe_ranges {pool}/dirty"));
    lab.virsh_ok(&["vol-delete", "--pool", &pool, "dirty"]);
    make_lv(lab, &pool, "root", 96);
    let root_extents = lab.ssh_ok(&format!("lvs --noheadings -o seg_pe_ranges {pool}/root"));
    assert_eq!(
        dirty_extents.trim(),
        root_extents.trim(),
        "the new LV took the same extents"
    );
    let ff_in_tail = lab.ssh_ok(&format!(
        "dd if=/dev/{pool}/root bs=1M skip=95 count=1 iflag=direct status=none | tr -d '\\377' | wc -c"
    ));
    assert_eq!(
        ff_in_tail.trim(),
        "0",
        "before the upload, the LV's tail still holds the old 0xff bytes"
    );

    sc.step("a 48 MiB qcow2 (compressed, with unallocated and zero clusters)");
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("src.qcow2");
    run("qemu-img", &["create", "-f", "qcow2", s(&base), "48M"]);
    run(
        "qemu-io",
        &[
            "-c",
            "write -P 0x11 0 3M",
            "-c",
            "write -P 0x22 10M 5M",
            "-c",
            "write -z 11M 1M",
            "-c",
            "write -P 0x33 47M 1M",
            s(&base),
        ],
    );
    let img = dir.path().join("img.qcow2");
    run("qemu-img", &["convert", "-c", "-O", "qcow2", s(&base), s(&img)]);
    let expected = dir.path().join("expected.raw");
    run("qemu-img", &["convert", "-O", "raw", s(&img), s(&expected)]);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&expected)
        .and_then(|f| f.set_len(96 * MIB))
        .expect("pad the reference to the LV size");
    let want = sha256_of_file(&expected);

    sc.step("upload through the engine");
    let rt = runtime();
    let checksum = format!("sha256:{}", sha256_of_file(&img));
    let done = upload(&rt, lab, &pool, "root", local(&img, Some(checksum.clone()))).expect("upload");
    assert_eq!(done.capacity, 96 * MIB);
    assert_eq!(done.image.virtual_size, 48 * MIB);
    assert_eq!(done.tail, 48 * MIB);
    assert_eq!(
        done.image.data_bytes,
        8 * MIB,
        "3 + 4 + 1 MiB of data (1 MiB of the 5 zeroed)"
    );
    assert_eq!(done.image.digest.as_deref(), Some(checksum.as_str()));

    sc.step("the LV's sha256 in the guest");
    let got = lab.ssh_ok(&format!("sha256sum /dev/{pool}/root"));
    assert_eq!(
        got.split_whitespace().next(),
        Some(want.as_str()),
        "the LV reads as qemu-img convert -O raw of the image, then zeros to its end"
    );

    sc.step("an image bigger than the LV is refused before anything is written");
    let big = dir.path().join("big.qcow2");
    run("qemu-img", &["create", "-f", "qcow2", s(&big), "97M"]);
    let e = upload(&rt, lab, &pool, "root", local(&big, None)).unwrap_err();
    assert!(
        e.contains("larger than the volume") && e.contains("written: false"),
        "{e}"
    );
    let again = lab.ssh_ok(&format!("sha256sum /dev/{pool}/root"));
    assert_eq!(again, got, "the LV was not touched");
}

/// Peak RSS of this process so far (KiB).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Figures, printed, not asserted: the engine against virsh's own upload, for a 256 MiB raw
/// file of incompressible data, and a qcow2 of 1 GiB virtual with 64 MiB of data (engine vs
/// `qemu-img convert -O raw` + `virsh vol-upload --sparse`). Run with
/// `cargo test -p acceptance-tests --test upload_engine -- --ignored --nocapture upload_engine_measure`.
#[test]
#[ignore = "measurement: run by name"]
fn upload_engine_measure() {
    let Some(sc) = Scenario::start("upload_engine::measure") else {
        return;
    };
    let lab = sc.lab();
    let pool = sc.name("m");
    make_pool(lab, &pool, &lab.pv_devices);
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let rss0 = peak_rss_kib();

    // 256 MiB of incompressible data, raw.
    let raw = d.join("data.raw");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&raw).expect("create raw"));
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..256 * MIB / 8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.write_all(&x.to_le_bytes()).expect("write raw");
        }
        out.flush().expect("flush raw");
    }
    make_lv(lab, &pool, "raw", 256);
    let t = Instant::now();
    let done = upload(&rt, lab, &pool, "raw", local(&raw, None)).expect("engine upload");
    let engine_raw = t.elapsed().as_secs_f64();
    let rss_raw = peak_rss_kib();
    let t = Instant::now();
    lab.virsh_ok(&["vol-upload", "--pool", &pool, "raw", s(&raw)]);
    let virsh_raw = t.elapsed().as_secs_f64();
    println!(
        "UPLOAD raw 256 MiB: engine {engine_raw:.1} s ({} MiB data), virsh vol-upload {virsh_raw:.1} s, ratio {:.2}",
        done.image.data_bytes / MIB,
        engine_raw / virsh_raw
    );
    lab.virsh_ok(&["vol-delete", "--pool", &pool, "raw"]);

    // qcow2, 1 GiB virtual, 64 MiB of data.
    let q = d.join("big.qcow2");
    run("qemu-img", &["create", "-f", "qcow2", s(&q), "1G"]);
    run(
        "qemu-io",
        &[
            "-c",
            "write -P 0x5a 100M 32M",
            "-c",
            "write -P 0xa5 700M 32M",
            s(&q),
        ],
    );
    make_lv(lab, &pool, "q", 1024);
    let t = Instant::now();
    let done = upload(&rt, lab, &pool, "q", local(&q, None)).expect("engine upload");
    let engine_q = t.elapsed().as_secs_f64();
    let rss_q = peak_rss_kib();
    let t = Instant::now();
    let converted = d.join("big.raw");
    run("qemu-img", &["convert", "-O", "raw", s(&q), s(&converted)]);
    let convert = t.elapsed().as_secs_f64();
    lab.virsh_ok(&["vol-upload", "--sparse", "--pool", &pool, "q", s(&converted)]);
    let virsh_q = t.elapsed().as_secs_f64();
    println!(
        "UPLOAD qcow2 1 GiB virtual / {} MiB data: engine {engine_q:.1} s, qemu-img convert + virsh vol-upload --sparse {virsh_q:.1} s (convert {convert:.1} s), ratio {:.2}",
        done.image.data_bytes / MIB,
        engine_q / virsh_q
    );
    println!("UPLOAD peak RSS of the test process: {rss0} KiB before, {rss_raw} KiB after the raw upload, {rss_q} KiB after the qcow2 upload");
}
