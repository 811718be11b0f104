//! The libvirt XML readers (`libvirt::xml`): pool, volume, domain, standalone
//! disk and pool-source documents, all fed the same input.
//!
//! Parsing must never panic whatever the input; what parses must survive the
//! provider's own writers: a parsed logical pool, a parsed volume and every
//! parsed disk the provider could have attached are written again with
//! `logical_pool_xml`, `volume_xml` and `DiskSpec::to_xml` and read back to the
//! same values (a writer may refuse a value only for a control character).
//! The rewritten disks, each under its own target, are put into one domain
//! document: it must parse with the disks in order, and every disk must be
//! found by its target with its own source. Addresses format with their type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_libvirt::libvirt::xml::{
    logical_pool_xml, parse_pool_sources, volume_xml, DiskSpec, DiskSpecSource, DiskXml, DomainXml, PoolXml,
    VolumeXml,
};
use terraform_provider_libvirt::names::Bus;

fn has_control<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    values.into_iter().any(|s| s.chars().any(char::is_control))
}

/// The attach request the provider would write for `disk`, when it could have written one
/// (a block device, a path written as a file or a pool volume, on a bus it knows).
fn as_spec(disk: &DiskXml) -> Option<DiskSpec> {
    let source = match disk.disk_type.as_str() {
        "block" => DiskSpecSource::Block(disk.source.dev.clone()?),
        "file" => DiskSpecSource::File(disk.source.file.clone()?),
        "volume" => DiskSpecSource::Volume {
            pool: disk.source.pool.clone()?,
            volume: disk.source.volume.clone()?,
        },
        _ => return None,
    };
    Some(DiskSpec {
        source,
        target_dev: disk.target_dev.clone(),
        bus: disk.target_bus.as_deref()?.parse::<Bus>().ok()?,
        read_only: disk.readonly,
        shareable: disk.shareable,
        serial: disk.serial.clone(),
        cache: disk.driver.cache.clone(),
        io: disk.driver.io.clone(),
        discard: disk.driver.discard.clone(),
        encryption: None,
    })
}

/// Every string a disk spec writes.
fn spec_strings(spec: &DiskSpec) -> Vec<&str> {
    let mut all = vec![spec.target_dev.as_str()];
    match &spec.source {
        DiskSpecSource::Block(dev) | DiskSpecSource::File(dev) => all.push(dev),
        DiskSpecSource::Volume { pool, volume } => all.extend([pool.as_str(), volume.as_str()]),
    }
    all.extend(
        [&spec.serial, &spec.cache, &spec.io, &spec.discard]
            .into_iter()
            .flatten()
            .map(String::as_str),
    );
    all
}

/// Asserts `read` (a disk read back) says what `spec` wrote.
fn assert_disk_is(read: &DiskXml, spec: &DiskSpec, xml: &str) {
    match &spec.source {
        DiskSpecSource::Block(dev) => {
            assert_eq!(read.disk_type, "block", "{xml}");
            assert_eq!(read.source.dev.as_ref(), Some(dev), "{xml}");
        }
        DiskSpecSource::File(path) => {
            assert_eq!(read.disk_type, "file", "{xml}");
            assert_eq!(read.source.file.as_ref(), Some(path), "{xml}");
        }
        DiskSpecSource::Volume { pool, volume } => {
            assert_eq!(read.disk_type, "volume", "{xml}");
            assert_eq!(read.source.pool.as_ref(), Some(pool), "{xml}");
            assert_eq!(read.source.volume.as_ref(), Some(volume), "{xml}");
        }
    }
    assert_eq!(read.target_dev, spec.target_dev, "{xml}");
    assert_eq!(read.target_bus.as_deref(), Some(spec.bus.as_str()), "{xml}");
    assert_eq!(
        (read.readonly, read.shareable),
        (spec.read_only, spec.shareable),
        "{xml}"
    );
    assert_eq!(read.serial, spec.serial, "{xml}");
    assert_eq!(
        (&read.driver.cache, &read.driver.io, &read.driver.discard),
        (&spec.cache, &spec.io, &spec.discard),
        "{xml}"
    );
}

/// Domains: each expressible disk written again and read back; then all of them, under distinct
/// targets, in one domain document that must find each by its target.
fn domain_round_trip(dom: &DomainXml) {
    let mut written: Vec<(DiskSpec, String)> = Vec::new();
    for disk in &dom.disks {
        if let Some(a) = &disk.address {
            assert!(a.to_string().starts_with(a.atype.as_str()), "{a:?}");
        }
        let Some(spec) = as_spec(disk) else {
            continue;
        };
        let Ok(xml) = spec.to_xml() else {
            assert!(
                has_control(spec_strings(&spec)),
                "disk XML refused without a control character: {spec:?}"
            );
            continue;
        };
        let read = DiskXml::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert_disk_is(&read, &spec, &xml);
        // The reader's values are what the domain said: writing them changes nothing.
        assert_eq!(as_spec(&read).as_ref(), Some(&spec), "{xml}");
        if !written.iter().any(|(s, _)| s.target_dev == spec.target_dev) {
            written.push((spec, xml));
        }
    }
    let doc = format!(
        "<domain type='qemu'>\n  <name>fuzz</name>\n  <devices>\n{}  </devices>\n</domain>\n",
        written.iter().map(|(_, xml)| xml.as_str()).collect::<String>()
    );
    let again = DomainXml::parse(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
    assert_eq!(again.disks.len(), written.len(), "{doc}");
    for ((spec, _), read) in written.iter().zip(&again.disks) {
        assert_disk_is(read, spec, &doc);
        let found = again
            .find_disk(&spec.target_dev)
            .unwrap_or_else(|| panic!("disk {} not found by its target: {doc}", spec.target_dev));
        assert_disk_is(found, spec, &doc);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = PoolXml::parse(xml) {
        assert!(xml.contains("<pool"), "a pool without <pool: {p:?}");
        if let (true, Some(vg)) = (p.pool_type == "logical", &p.source.vg_name) {
            // The provider writes UUIDs it generated; the parsed one may be anything.
            const UUID: &str = "3f1e0c52-8d9a-4a7e-9b1e-6f0d2a1c4b7e";
            match logical_pool_xml(&p.name, UUID, vg, &p.source.devices) {
                Ok(w) => {
                    let q = PoolXml::parse(&w).unwrap_or_else(|e| panic!("{e}: {w}"));
                    assert_eq!(q.uuid.as_deref(), Some(UUID), "{w}");
                    assert_eq!(
                        (&q.name, &q.source.vg_name, &q.source.devices),
                        (&p.name, &p.source.vg_name, &p.source.devices),
                        "{w}"
                    );
                }
                Err(_) => {
                    let all = [p.name.as_str(), vg.as_str()]
                        .into_iter()
                        .chain(p.source.devices.iter().map(String::as_str));
                    assert!(
                        has_control(all),
                        "pool XML refused without a control character: {p:?}"
                    );
                }
            }
        }
    }
    if let Ok(v) = VolumeXml::parse(xml) {
        match volume_xml(&v.name, v.capacity, v.allocation) {
            Ok(w) => {
                let q = VolumeXml::parse(&w).unwrap_or_else(|e| panic!("{e}: {w}"));
                assert_eq!(
                    (&q.name, q.capacity, q.allocation),
                    (&v.name, v.capacity, v.allocation),
                    "{w}"
                );
            }
            Err(_) => assert!(has_control([v.name.as_str()]), "volume XML refused: {v:?}"),
        }
    }
    let _ = parse_pool_sources(xml);
    if let Ok(d) = DiskXml::parse(xml) {
        if let Some(a) = &d.address {
            assert!(a.to_string().starts_with(a.atype.as_str()), "{a:?}");
        }
        domain_round_trip(&DomainXml {
            name: "fuzz".into(),
            uuid: None,
            id: None,
            domain_type: "qemu".into(),
            has_acpi: false,
            disks: vec![d],
            controllers: Vec::new(),
            devices: Vec::new(),
        });
    }
    if let Ok(dom) = DomainXml::parse(xml) {
        domain_round_trip(&dom);
    }
});
