//! The pool handles the provider keeps between calls, on the lab's real storage driver (which finds
//! a pool handle by its UUID; libvirt's test driver finds it by name, so only the lab can show
//! this), without terraform: a create, a read and a delete that come after the pool was made
//! again under its name, between two calls of one provider process, act on the pool the name names
//! now, and touch nothing else. The data written in the guest proves it.
//!
//! A volume create or delete leaves its own refresh of the pool, and the handle it refreshed, for
//! the calls after it (libvirt applies those changes to its view of the pool as it makes them); so
//! the calls below start from the handle of a pool that is no longer there.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use acceptance_tests::images::{make_logical_pool, path_str};
use acceptance_tests::{Lab, Scenario};
use terraform_provider_libvirt::libvirt::conn::ConnectOptions;
use terraform_provider_libvirt::libvirt::facts::volume::Lookup;
use terraform_provider_libvirt::libvirt::volume::{Created, NewVolume, VolumeDelete};
use terraform_provider_libvirt::libvirt::Connection;

const MIB: u64 = 1 << 20;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Writes `marker` at the start of the LV `vg/lv` in the guest.
fn mark(lab: &Lab, vg: &str, lv: &str, marker: &str) {
    lab.ssh_ok(&format!(
        "printf '%s' '{marker}' | dd of=/dev/{vg}/{lv} bs=512 conv=notrunc oflag=direct,sync status=none"
    ));
}

/// The first bytes of the LV `vg/lv`, as long as `len`. The LV is activated first: stopping a
/// logical pool deactivates its VG's LVs (they stay, their device nodes go).
fn marker_of(lab: &Lab, vg: &str, lv: &str, len: usize) -> String {
    assert!(lab.lv(vg, lv).is_some(), "the LV {vg}/{lv} is there");
    lab.ssh_ok(&format!(
        "lvchange -q -ay {vg}/{lv} && head -c {len} /dev/{vg}/{lv}"
    ))
}

fn create(rt: &tokio::runtime::Runtime, conn: &Connection, pool: &str, name: &str) -> Created {
    let new = NewVolume {
        name: name.to_string(),
        capacity: 8 * MIB,
        sparse: false,
        luks_secret: None,
    };
    rt.block_on(conn.create_volume(pool, &new)).expect("create")
}

#[test]
fn calls_after_the_pool_was_made_again_under_its_name() {
    let Some(s) = Scenario::start("handles::pool_made_again") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("p");
    let other_vg = s.name("q");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    let rt = runtime();
    let conn = rt
        .block_on(Connection::open(
            &lab.uri,
            &ConnectOptions::default(),
            Arc::new(AtomicBool::new(false)),
        ))
        .expect("connect to the lab");

    s.step("create 'a' through the provider's connection (its refresh and handle are kept)");
    let a = match create(&rt, &conn, &pool, "a") {
        Created::New(v) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(a.path(), format!("/dev/{pool}/a"));
    mark(lab, &pool, "a", "old-a-data");

    s.step("out of band: the pool undefined (its VG and LV stay), a pool of the same name made over another VG holding an LV 'a'");
    lab.virsh_ok(&["pool-destroy", &pool]);
    lab.virsh_ok(&["pool-undefine", &pool]);
    let dev = &lab.pv_devices[1];
    lab.ssh_ok(&format!(
        "pvcreate -q -y {dev} && vgcreate -q {other_vg} {dev} && lvcreate -q -y -Wn -Zn -n a -L 8M {other_vg}"
    ));
    mark(lab, &other_vg, "a", "new-a-data");
    let xml = format!(
        "<pool type='logical'><name>{pool}</name><source><device path='{dev}'/><name>{other_vg}</name>\
         <format type='lvm2'/></source><target><path>/dev/{other_vg}</path></target></pool>"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pool.xml");
    std::fs::write(&file, xml).expect("write pool xml");
    lab.virsh_ok(&["pool-define", path_str(&file)]);
    lab.virsh_ok(&["pool-start", &pool]);

    s.step("create 'b': it lands in the pool the name names now");
    match create(&rt, &conn, &pool, "b") {
        Created::New(v) => assert_eq!(v.path(), format!("/dev/{other_vg}/b")),
        other => panic!("{other:?}"),
    }
    assert!(lab.lv(&other_vg, "b").is_some(), "b is in the new pool's VG");
    assert!(lab.lv(&pool, "b").is_none(), "nothing was made in the old VG");

    s.step("create 'a' again: the new pool's 'a' is told as taken, and left as it was");
    match create(&rt, &conn, &pool, "a") {
        Created::Exists(v) => assert_eq!(v.path(), format!("/dev/{other_vg}/a")),
        other => panic!("{other:?}"),
    }

    s.step("read and delete the first 'a' by its identity: gone from every pool, nothing deleted");
    let id = a.identity();
    match rt.block_on(conn.read_volume(&id)).expect("read") {
        Some(Lookup::Gone) => {}
        other => panic!("{other:?}"),
    }
    match rt.block_on(conn.delete_volume(&id, false, None)).expect("delete") {
        VolumeDelete::Gone => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        marker_of(lab, &pool, "a", 10),
        "old-a-data",
        "the old LV is untouched"
    );
    assert_eq!(
        marker_of(lab, &other_vg, "a", 10),
        "new-a-data",
        "the new pool's LV of the same name is untouched"
    );

    s.step("the new pool's 'a', by its own identity, is deleted (the same path works when asked)");
    let new_a = match rt.block_on(conn.find_volume(&pool, "a")).expect("find") {
        Some(v) => v,
        None => panic!("the new pool's 'a' is there"),
    };
    match rt
        .block_on(conn.delete_volume(&new_a.identity(), false, None))
        .expect("delete")
    {
        VolumeDelete::Deleted => {}
        other => panic!("{other:?}"),
    }
    assert!(lab.lv(&other_vg, "a").is_none(), "deleted when asked");
    assert_eq!(
        marker_of(lab, &pool, "a", 10),
        "old-a-data",
        "the old LV is still untouched"
    );

    // The old VG is no pool's any more: the scenario's cleanup (by prefix) removes it too.
    lab.virsh_ok(&["pool-destroy", &pool]);
}
