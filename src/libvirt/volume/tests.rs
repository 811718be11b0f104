//! Unit tests of the volume operations, on libvirt's test driver.
use super::*;
use crate::libvirt::testing::TestDriver;
use crate::libvirt::xml::volume_xml;

async fn make(c: &Connection, name: &str) -> VolInfo {
    match c
        .create_volume_xml(
            "default-pool",
            name,
            volume_xml(name, 1 << 20, 1 << 20).expect("xml"),
        )
        .await
        .expect("create")
    {
        Created::New(v) => v,
        other => panic!("{other:?}"),
    }
}

fn identity(v: &VolInfo) -> VolumeIdentity {
    v.identity()
}

/// Out of band (a read, so not a change of this provider): the pool is stopped.
async fn stop_the_pool(c: &Connection) {
    c.read("stop the pool", "'default-pool'", |c| {
        lookup_pool(c, "default-pool")?
            .destroy()
            .map_err(|e| Error::libvirt("stop", "'default-pool'", e))
    })
    .await
    .expect("out of band");
}

#[tokio::test]
async fn a_volume_is_found_by_its_key_and_never_by_its_name() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    let v = make(&c, "a").await;
    let id = identity(&v);
    assert!(matches!(
        c.volume(&id, None).await.expect("read"),
        Lookup::Found(_)
    ));
    assert!(matches!(
        c.volume(&id, Some("/default-pool")).await.expect("read"),
        Lookup::Found(_)
    ));
    // The key names another volume's record: the name is never a fallback.
    let mut other = id.clone();
    other.key = "/default-pool/not-there".into();
    assert!(matches!(
        c.volume(&other, None).await.expect("read"),
        Lookup::Gone
    ));
    // Same key, recorded under another name: elsewhere, not ours.
    let mut renamed = id.clone();
    renamed.name = "b".into();
    assert!(matches!(
        c.volume(&renamed, None).await.expect("read"),
        Lookup::Elsewhere(_)
    ));
}

/// The plan of a create reads its pool and the planned name in one piece of work; a pool found
/// missing is not looked up again until this provider changes something.
#[tokio::test]
async fn the_plan_of_a_create_reads_its_pool_in_one_piece_of_work() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    make(&c, "a").await;
    let runs = c.runs();
    let found = c
        .pool_for_create("default-pool", Some("a"))
        .await
        .expect("read")
        .expect("the pool");
    assert!(found.active);
    assert_eq!(found.existing.map(|v| v.xml.name), Some("a".to_string()));
    assert_eq!(c.runs(), runs + 1);
    assert!(
        c.pool_handle("default-pool").is_some(),
        "its refresh leaves the pool handle for the walk's reads"
    );
    let runs = c.runs();
    assert!(c
        .pool_for_create("nope", Some("a"))
        .await
        .expect("read")
        .is_none());
    assert!(c
        .pool_for_create("nope", Some("b"))
        .await
        .expect("read")
        .is_none());
    assert_eq!(c.runs(), runs + 1, "a missing pool is looked up once");
    make(&c, "b").await;
    let runs = c.runs();
    assert!(c
        .pool_for_create("nope", Some("c"))
        .await
        .expect("read")
        .is_none());
    assert_eq!(c.runs(), runs + 1, "and again after a change");
}

#[tokio::test]
async fn the_plan_of_a_create_tells_a_stopped_pool_by_its_name_lookup() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    make(&c, "a").await;
    let found = c
        .pool_for_create("default-pool", Some("b"))
        .await
        .expect("read")
        .expect("the pool");
    assert!(found.active && found.existing.is_none());
    assert_eq!(found.xml.target_path.as_deref(), Some("/default-pool"));
    stop_the_pool(&c).await;
    for name in [Some("a"), Some("b"), None] {
        let found = c
            .pool_for_create("default-pool", name)
            .await
            .expect("read")
            .expect("the pool");
        assert!(!found.active, "{name:?}: the pool is stopped");
        assert!(
            found.existing.is_none(),
            "{name:?}: nothing can be said of its volumes"
        );
    }
}

/// The request's definition: plain volumes allocate their capacity, sparse ones nothing, LUKS
/// ones name their secret; a name libvirt's XML cannot carry is refused before anything is sent.
#[tokio::test]
async fn a_create_request_writes_its_definition() {
    let mut new = NewVolume::plain("v", 8 << 20);
    let plain = crate::libvirt::xml::VolumeXml::parse(&new.xml().expect("xml")).expect("parse");
    assert_eq!((plain.capacity, plain.allocation), (8 << 20, 8 << 20));
    new.sparse = true;
    assert_eq!(new.allocation(), 0);
    new.luks_secret = Some("675f09f9-ce67-4ba6-bc7f-4614de90d640".into());
    let luks = new.xml().expect("xml");
    assert!(
        luks.contains("<encryption format='luks'>") && luks.contains("675f09f9-ce67-4ba6-bc7f-4614de90d640")
    );
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    let e = c
        .create_volume("default-pool", &NewVolume::plain("a\nb", 1 << 20))
        .await
        .expect_err("refused");
    assert!(matches!(e, Error::Definition { .. }), "{e:?}");
    // A pool that is gone is told from one that is stopped.
    assert!(matches!(
        c.create_volume("no-such-pool", &NewVolume::plain("v", 1 << 20))
            .await
            .expect("create"),
        Created::NoPool
    ));
}

#[tokio::test]
async fn a_create_refused_for_space_says_what_the_pool_has() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    let huge = 1u64 << 50;
    match c
        .create_volume("default-pool", &NewVolume::plain("big", huge))
        .await
        .expect("create")
    {
        Created::NoSpace { available } => assert!(available > 0 && available < huge),
        other => panic!("{other:?}"),
    }
    assert!(c
        .find_volume("default-pool", "big")
        .await
        .expect("read")
        .is_none());
    // Without a size to check, the refusal is libvirt's own error.
    let e = c
        .create_volume_xml("default-pool", "big", volume_xml("big", huge, huge).expect("xml"))
        .await
        .expect_err("refused");
    assert!(!e.is_connection_lost(), "{e}");
}

/// A read finds the volume by its recorded name in one piece of work, and takes it for the
/// resource's only when the key and path agree; otherwise the key decides.
#[tokio::test]
async fn a_read_takes_the_named_volume_only_when_its_key_agrees() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    let v = make(&c, "a").await;
    let id = identity(&v);
    let runs = c.runs();
    match c.read_volume(&id).await.expect("read") {
        Some(Lookup::Found(found)) => assert_eq!(identity(&found), id),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.runs(), runs + 1, "one piece of blocking work per read");
    // Another key recorded under the name: the volume of that name is not this one.
    let mut other = id.clone();
    other.key = "/default-pool/not-there".into();
    assert!(matches!(
        c.read_volume(&other).await.expect("read"),
        Some(Lookup::Gone)
    ));
    // The key, recorded under a name another volume now has: elsewhere, not that volume.
    let b = make(&c, "b").await;
    let mut renamed = id.clone();
    renamed.name = "b".into();
    match c.read_volume(&renamed).await.expect("read") {
        Some(Lookup::Elsewhere(found)) => assert_eq!(found.key(), id.key),
        other => panic!("{other:?}"),
    }
    assert_ne!(b.key(), id.key);
    // Recorded in a pool that no longer exists: the key finds where it is.
    let mut moved = id.clone();
    moved.pool = "gone-pool".into();
    match c.read_volume(&moved).await.expect("read") {
        Some(Lookup::Elsewhere(found)) => assert_eq!(found.pool, "default-pool"),
        other => panic!("{other:?}"),
    }
    // A stopped pool: nothing can be said of its volumes.
    c.change("stop storage pool", "'default-pool'", |c, gate| {
        let p = lookup_pool(c, "default-pool")?;
        gate.send()?;
        p.destroy().map_err(during("stop storage pool", "'default-pool'"))
    })
    .await
    .expect("stop");
    assert!(c.read_volume(&id).await.expect("read").is_none());
}

/// After the walk's refresh a read starts from the pool handle the refresh found. A handle that
/// no longer answers is forgotten, and the fresh lookup decides as without it. (libvirt's
/// storage driver finds the pool of a handle by UUID, so a pool made again under the same name
/// does not answer to the old handle either; the test driver finds it by name, so a pool
/// stopped out of band stands for both here.)
#[tokio::test]
async fn a_read_after_the_refresh_starts_from_its_pool_handle() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    let v = make(&c, "a").await;
    let id = identity(&v);
    assert!(
        c.pool_handle("default-pool").is_some(),
        "the create's own refresh is kept: the volume change leaves libvirt's view current"
    );
    // Any other change makes that refresh stale.
    c.change("change nothing", "'default-pool'", |_, _| Ok(()))
        .await
        .expect("a change");
    assert!(c.pool_handle("default-pool").is_none(), "stale after a change");
    c.refresh_pool("default-pool").await.expect("refresh");
    assert!(
        c.pool_handle("default-pool").is_some(),
        "the refresh keeps its handle"
    );
    match c.read_volume(&id).await.expect("read") {
        Some(Lookup::Found(found)) => assert_eq!(identity(&found), id),
        other => panic!("{other:?}"),
    }
    assert!(
        c.pool_handle("default-pool").is_some(),
        "a read that found keeps it"
    );
    // Another key recorded under the name: the handle finds the name, not the key; by key
    // the recorded volume is gone. The handle stays: it answered.
    let mut other = id.clone();
    other.key = "/default-pool/not-there".into();
    assert!(matches!(
        c.read_volume(&other).await.expect("read"),
        Some(Lookup::Gone)
    ));
    assert!(c.pool_handle("default-pool").is_some());
    stop_the_pool(&c).await;
    assert!(
        c.read_volume(&id).await.expect("read").is_none(),
        "a stopped pool: nothing can be said of its volumes"
    );
    assert!(
        c.pool_handle("default-pool").is_none(),
        "the handle that failed is forgotten"
    );
}

/// Out of band (reads, so not changes of this provider, which keeps its pool handle): the
/// pool `default-pool` is stopped, undefined and defined again under its name with another
/// UUID and target directory, started, and given a volume `name`.
async fn make_the_pool_again(c: &Connection, name: &str) {
    let name = name.to_string();
    c.read("make the pool again", "'default-pool'", move |c| {
        let fail = |e| Error::libvirt("make the pool again", "'default-pool'", e);
        let old = lookup_pool(c, "default-pool")?;
        old.destroy().map_err(fail)?;
        old.undefine().map_err(fail)?;
        let new = c
            .define_storage_pool_xml(
                "<pool type='dir'><name>default-pool</name>\
             <uuid>0b0b1cde-0000-4000-8000-000000000001</uuid>\
             <target><path>/another-pool</path></target></pool>",
                0,
            )
            .map_err(fail)?;
        new.create(0).map_err(fail)?;
        let xml = volume_xml(&name, 1 << 20, 1 << 20).expect("xml");
        StorageVol::create_xml(&new, &xml, 0).map_err(fail)?;
        Ok(())
    })
    .await
    .expect("out of band");
}

#[tokio::test]
async fn only_volume_changes_leave_a_pool_refresh_good() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    c.refresh_pool("default-pool").await.expect("refresh");
    let runs = c.runs();
    let v = make(&c, "a").await;
    c.refresh_pool("default-pool").await.expect("refresh");
    assert_eq!(
        c.runs(),
        runs + 1,
        "after a create (libvirt applies it to its view of the pool) the refresh is still good"
    );
    match c.delete_volume(&identity(&v), false, None).await.expect("delete") {
        VolumeDelete::Deleted => {}
        other => panic!("{other:?}"),
    }
    c.refresh_pool("default-pool").await.expect("refresh");
    assert_eq!(c.runs(), runs + 2, "and after a delete");
    c.change("change nothing", "'default-pool'", |_, _| Ok(()))
        .await
        .expect("a change");
    c.refresh_pool("default-pool").await.expect("refresh");
    assert_eq!(
        c.runs(),
        runs + 4,
        "any other change makes the pool be refreshed again"
    );
}

#[tokio::test]
async fn a_create_after_its_pool_was_made_again_under_the_name_goes_to_the_new_pool() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    make(&c, "a").await;
    assert!(
        c.pool_handle("default-pool").is_some(),
        "the handle of the old pool"
    );
    make_the_pool_again(&c, "x").await;
    let b = make(&c, "b").await;
    assert_eq!(
        b.path(),
        "/another-pool/b",
        "created in the pool the name names now, not through the old pool's handle"
    );
    // The name the new pool already holds is refused and told as taken, nothing created.
    match c
        .create_volume_xml(
            "default-pool",
            "x",
            volume_xml("x", 2 << 20, 2 << 20).expect("xml"),
        )
        .await
        .expect("create")
    {
        Created::Exists(v) => {
            assert_eq!(v.path(), "/another-pool/x");
            assert_eq!(v.xml.capacity, 1 << 20, "the volume that was there, unchanged");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_delete_after_its_pool_was_made_again_under_the_name_deletes_nothing() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    let mine = make(&c, "mine").await;
    assert!(
        c.pool_handle("default-pool").is_some(),
        "the handle of the old pool"
    );
    // The new pool holds a volume of the same name (another key and path).
    make_the_pool_again(&c, "mine").await;
    match c
        .delete_volume(&identity(&mine), false, None)
        .await
        .expect("delete")
    {
        VolumeDelete::Gone => {}
        other => panic!("{other:?}"),
    }
    let left = c
        .find_volume("default-pool", "mine")
        .await
        .expect("read")
        .expect("the new pool's volume is still there");
    assert_eq!(left.path(), "/another-pool/mine");
}

#[tokio::test]
async fn delete_touches_only_the_volume_it_was_given() {
    let driver = TestDriver::new("");
    let c = driver.connect().await;
    let v = make(&c, "mine").await;
    let id = identity(&v);
    // Another record of the same key (another pool name): nothing is deleted.
    let mut wrong_pool = id.clone();
    wrong_pool.pool = "other-pool".into();
    assert!(matches!(
        c.delete_volume(&wrong_pool, false, None).await.expect("delete"),
        VolumeDelete::Elsewhere(_)
    ));
    assert!(c
        .find_volume("default-pool", "mine")
        .await
        .expect("read")
        .is_some());
    // Deleted once; the second delete finds nothing and deletes nothing.
    assert!(matches!(
        c.delete_volume(&id, false, None).await.expect("delete"),
        VolumeDelete::Deleted
    ));
    assert!(c
        .find_volume("default-pool", "mine")
        .await
        .expect("read")
        .is_none());
    // A new volume under the old name has another key: the old identity is gone, the new
    // volume stays.
    let again = make(&c, "mine").await;
    let mut stale = id.clone();
    stale.key = format!("{}-old", again.key());
    assert!(matches!(
        c.delete_volume(&stale, false, None).await.expect("delete"),
        VolumeDelete::Gone
    ));
    assert!(c
        .find_volume("default-pool", "mine")
        .await
        .expect("read")
        .is_some());
}
