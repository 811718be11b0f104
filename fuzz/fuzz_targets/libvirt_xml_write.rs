//! The libvirt XML writers (`logical_pool_xml`, `volume_xml`,
//! `DiskSpec::to_xml`) against the readers, on structured inputs.
//!
//! Every document a writer produces must parse, and the reader must give back
//! exactly what was written (names and paths are escaped, never mangled).
//! Writers may refuse a value only for a control character in it.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use terraform_provider_libvirt::libvirt::xml::{
    logical_pool_xml, volume_xml, DiskSpec, DiskSpecSource, DiskXml, PoolXml, VolumeXml,
};
use terraform_provider_libvirt::names::Bus;

#[derive(Arbitrary, Debug)]
enum Input {
    Pool {
        name: String,
        vg: String,
        devices: Vec<String>,
    },
    Volume {
        name: String,
        capacity: u64,
        allocation: u64,
    },
    Disk {
        block: Option<String>,
        pool: String,
        volume: String,
        target: String,
        bus: u8,
        read_only: bool,
        shareable: bool,
        serial: Option<String>,
        cache: Option<String>,
        io: Option<String>,
        discard: Option<String>,
    },
}

fn has_control<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    values.into_iter().any(|s| s.chars().any(char::is_control))
}

fuzz_target!(|input: Input| match input {
    Input::Pool { name, vg, devices } => {
        const UUID: &str = "3f1e0c52-8d9a-4a7e-9b1e-6f0d2a1c4b7e";
        let Ok(xml) = logical_pool_xml(&name, UUID, &vg, &devices) else {
            let all = [name.as_str(), vg.as_str()]
                .into_iter()
                .chain(devices.iter().map(String::as_str));
            assert!(has_control(all), "pool XML refused without a control character");
            return;
        };
        let p = PoolXml::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert_eq!(p.pool_type, "logical");
        assert_eq!(p.name, name);
        assert_eq!(p.uuid.as_deref(), Some(UUID));
        assert_eq!(p.source.vg_name.as_deref(), Some(vg.as_str()));
        assert_eq!(p.source.devices, devices);
        assert_eq!(p.source.format.as_deref(), Some("lvm2"));
        assert_eq!(p.target_path, Some(format!("/dev/{vg}")));
    }
    Input::Volume {
        name,
        capacity,
        allocation,
    } => {
        let Ok(xml) = volume_xml(&name, capacity, allocation) else {
            assert!(
                has_control([name.as_str()]),
                "volume XML refused without a control character"
            );
            return;
        };
        let v = VolumeXml::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert_eq!((v.name, v.capacity, v.allocation), (name, capacity, allocation));
    }
    Input::Disk {
        block,
        pool,
        volume,
        target,
        bus,
        read_only,
        shareable,
        serial,
        cache,
        io,
        discard,
    } => {
        let bus = Bus::ALL[usize::from(bus) % Bus::ALL.len()];
        let source = match block {
            Some(dev) => DiskSpecSource::Block(dev),
            None => DiskSpecSource::Volume { pool, volume },
        };
        let spec = DiskSpec {
            source,
            target_dev: target,
            bus,
            read_only,
            shareable,
            serial,
            cache,
            io,
            discard,
            encryption: None,
        };
        let Ok(xml) = spec.to_xml() else {
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
            assert!(has_control(all), "disk XML refused without a control character");
            return;
        };
        let d = DiskXml::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert_eq!(d.device, "disk");
        match &spec.source {
            DiskSpecSource::Block(dev) => {
                assert_eq!(d.disk_type, "block");
                assert_eq!(d.source.dev.as_ref(), Some(dev));
            }
            DiskSpecSource::File(path) => {
                assert_eq!(d.disk_type, "file");
                assert_eq!(d.source.file.as_ref(), Some(path));
            }
            DiskSpecSource::Volume { pool, volume } => {
                assert_eq!(d.disk_type, "volume");
                assert_eq!(d.source.pool.as_ref(), Some(pool));
                assert_eq!(d.source.volume.as_ref(), Some(volume));
            }
        }
        assert_eq!(d.target_dev, spec.target_dev);
        assert_eq!(d.target_bus.as_deref(), Some(bus.as_str()));
        assert_eq!((d.readonly, d.shareable), (read_only, shareable));
        assert_eq!(d.serial, spec.serial);
        assert_eq!(d.driver.name.as_deref(), Some("qemu"));
        assert_eq!(d.driver.dtype.as_deref(), Some("raw"));
        assert_eq!(
            (&d.driver.cache, &d.driver.io, &d.driver.discard),
            (&spec.cache, &spec.io, &spec.discard)
        );
    }
});
