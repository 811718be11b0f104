//! Unit tests of the disk_attachment resource.

use super::*;
use crate::libvirt::testing::{domain, TestDriver};

const UUID: &str = "6695eb01-f6a4-8304-79aa-97f2502e193f";

#[test]
fn only_a_pci_hotplug_refusal_blames_acpi() {
    let refusal = |bus: &str| {
        Error::Libvirt {
        op: "attach disk",
        object: "'vm'".into(),
        code: crate::libvirt::error::Code::Other,
        message: format!("internal error: unable to execute QEMU command 'device_add': Bus '{bus}' does not support hotplugging"),
    }
    };
    let d = hotplug_error(refusal("pci.0"), "vm");
    assert_eq!(d.summary, "Domain Cannot Hotplug Disks");
    let d = hotplug_error(refusal("ide.0"), "vm");
    assert_eq!(d.summary, "Disk Bus Cannot Be Hot-Plugged");
    assert!(!d.detail.contains("ACPI"), "{}", d.detail);
    assert!(
        d.detail.contains("live = false") && d.detail.contains("'ide.0'"),
        "{}",
        d.detail
    );
}

fn driver() -> TestDriver {
    let disks = "<disk type='block' device='disk'><source dev='/dev/vg0/theirs'/>\
                 <target dev='sda' bus='scsi'/></disk>";
    TestDriver::new(&domain("vm", UUID, disks))
}

fn state(uuid: &str, path: &str) -> State {
    State {
        id: Some(format!("{uuid}/sda")),
        domain: "vm".into(),
        path: Some(path.into()),
        target: "sda".into(),
        live: Some(true),
        persistent: Some(true),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_missing_domain_reads_as_gone_and_deletes_nothing() {
    let d = driver();
    let ctx = Ctx::for_tests(&d.uri);
    let gone = state("00000000-0000-4000-8000-000000000001", "/dev/vg0/theirs");
    let mut notes = Diagnostics::new();
    assert!(DiskAttachment
        .read(&ctx, gone.clone(), &mut notes)
        .await
        .expect("read")
        .is_none());
    DiskAttachment
        .delete(&ctx, gone, &mut notes)
        .await
        .expect("nothing to detach");
    assert_eq!(notes.0[0].summary, "Disk Already Detached");
    let conn = ctx.conn().await.expect("conn");
    let vm = conn.domain(UUID).await.expect("read").expect("vm");
    assert!(
        vm.live.find_disk("sda").is_some(),
        "a disk of the domain of that name was detached"
    );
}

/// The domain of the recorded UUID has another disk at the target: not this attachment's.
#[tokio::test]
async fn another_disk_at_the_target_is_never_detached() {
    let d = driver();
    let ctx = Ctx::for_tests(&d.uri);
    let mine = state(UUID, "/dev/vg0/mine");
    let mut notes = Diagnostics::new();
    assert!(DiskAttachment
        .read(&ctx, mine.clone(), &mut notes)
        .await
        .expect("read")
        .is_none());
    assert!(format!("{notes:?}").contains("/dev/vg0/theirs"), "{notes:?}");
    let mut notes = Diagnostics::new();
    DiskAttachment
        .delete(&ctx, mine, &mut notes)
        .await
        .expect("detaches nothing");
    assert_eq!(notes.0[0].summary, "Disk Not Detached");
    let conn = ctx.conn().await.expect("conn");
    let vm = conn.domain(UUID).await.expect("read").expect("vm");
    assert_eq!(
        vm.live
            .find_disk("sda")
            .and_then(|d| d.source.dev.clone())
            .as_deref(),
        Some("/dev/vg0/theirs")
    );
    // The disk that is there, recorded as this attachment's, reads as found.
    let theirs = state(UUID, "/dev/vg0/theirs");
    let found = DiskAttachment
        .read(&ctx, theirs, &mut Diagnostics::new())
        .await
        .expect("read");
    assert!(found.is_some_and(|s| s.live == Some(true)));
}

#[test]
fn validation() {
    let config = |pairs: &[(&str, Value)]| {
        let mut v: Vec<(&str, Value)> = vec![("volume_id", Value::Null), ("path", Value::Null)];
        v.extend(pairs.iter().cloned());
        Value::object(v)
    };
    type Case<'a> = (Vec<(&'a str, Value)>, Option<&'a str>);
    let cases: &[Case] = &[
        (vec![("path", Value::from("/dev/a/b"))], None),
        (vec![], Some("Missing Disk Source")),
        (
            vec![("path", Value::from("/dev/a/b")), ("volume_id", Value::from("k"))],
            Some("Conflicting Disk Sources"),
        ),
        (
            vec![
                ("path", Value::from("/dev/a/b")),
                ("live", Value::Bool(false)),
                ("persistent", Value::Bool(false)),
            ],
            Some("Nothing To Attach"),
        ),
    ];
    for (pairs, want) in cases {
        let mut diags = Diagnostics::new();
        DiskAttachment::validate(&config(pairs), &mut diags);
        assert_eq!(diags.0.first().map(|d| d.summary.as_str()), *want, "{pairs:?}");
    }
}
