//! The libvirt XML readers (`libvirt::xml`): pool, volume, domain, standalone
//! disk and pool-source documents, all fed the same input.
//!
//! Parsing must never panic whatever the input; what parses must make sense:
//! every parsed disk is found again by its target, and addresses format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_libvirt::libvirt::xml::{parse_pool_sources, DiskXml, DomainXml, PoolXml, VolumeXml};

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = PoolXml::parse(xml) {
        assert!(xml.contains("<pool"), "a pool without <pool: {p:?}");
    }
    let _ = VolumeXml::parse(xml);
    let _ = parse_pool_sources(xml);
    if let Ok(d) = DiskXml::parse(xml) {
        if let Some(a) = &d.address {
            let _ = a.to_string();
        }
    }
    if let Ok(dom) = DomainXml::parse(xml) {
        for disk in &dom.disks {
            let found = dom
                .find_disk(&disk.target_dev)
                .expect("a parsed disk is found by its target");
            assert_eq!(found.target_dev, disk.target_dev);
            if let Some(a) = &disk.address {
                assert!(a.to_string().starts_with(a.atype.as_str()));
            }
        }
    }
});
