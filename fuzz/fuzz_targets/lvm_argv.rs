//! The commands run on the hypervisor (`lvm::command`), built from arbitrary names, devices,
//! UUIDs and sizes, as a configuration or a state file could carry them.
//!
//! Nothing may panic. A command whose arguments validate has a remote command line that a POSIX
//! shell splits back into exactly its argument vector (no word of user input can become two, or
//! run anything), and no input word can be read as an option: the words before `--` that start
//! with `-` are the same as the command writes for harmless names.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use terraform_provider_libvirt::lvm::command::{remote_line, Command};
use terraform_provider_libvirt::lvm::transport::wrapped;

#[derive(Arbitrary, Debug)]
struct Input {
    which: u8,
    vg: String,
    lv: String,
    uuid: String,
    devices: Vec<String>,
    bytes: u64,
    flag: bool,
}

/// The command `i` selects, with its words.
fn command(i: &Input) -> Command {
    match i.which % 15 {
        0 => Command::Lvs { vg: i.vg.clone() },
        1 => Command::Vgs {
            vg: i.flag.then(|| i.vg.clone()),
        },
        2 => Command::Pvs {
            devices: i.devices.clone(),
        },
        3 => Command::Extend {
            vg: i.vg.clone(),
            lv: i.lv.clone(),
            bytes: i.bytes,
        },
        4 => Command::Reduce {
            vg: i.vg.clone(),
            lv: i.lv.clone(),
            bytes: i.bytes,
        },
        5 => Command::RemoveByUuid {
            vg: i.vg.clone(),
            lv: i.lv.clone(),
            uuid: i.uuid.clone(),
        },
        6 => Command::VgExtend {
            vg: i.vg.clone(),
            devices: i.devices.clone(),
            wipe: i.flag,
        },
        7 => Command::VgReduce {
            vg: i.vg.clone(),
            devices: i.devices.clone(),
        },
        9 => Command::ThinPoolCreate {
            vg: i.vg.clone(),
            name: i.lv.clone(),
            bytes: i.bytes,
            chunk_size: i.flag.then_some(i.bytes),
            metadata_size: i.flag.then_some(i.bytes),
        },
        10 => Command::ThinCreate {
            vg: i.vg.clone(),
            thin_pool: i.uuid.clone(),
            name: i.lv.clone(),
            bytes: i.bytes,
        },
        11 => Command::ThinSnapshot {
            vg: i.vg.clone(),
            origin: i.uuid.clone(),
            name: i.lv.clone(),
        },
        12 => Command::ThickSnapshot {
            vg: i.vg.clone(),
            origin: i.uuid.clone(),
            name: i.lv.clone(),
            bytes: i.bytes,
        },
        13 => Command::Merge {
            vg: i.vg.clone(),
            lv: i.lv.clone(),
        },
        14 => Command::RemoveEmptyThinPool {
            vg: i.vg.clone(),
            lv: i.lv.clone(),
            uuid: i.uuid.clone(),
        },
        _ => Command::PvRemove {
            devices: i.devices.clone(),
        },
    }
}

fuzz_target!(|i: Input| {
    let cmd = command(&i);
    let Ok(argv) = cmd.argv() else {
        return;
    };
    let full = wrapped("lvm", argv.clone(), std::time::Duration::from_secs(5), i.flag);
    let line = remote_line(&full);
    let split = shell_words::split(&line).expect("a remote line always splits");
    assert_eq!(split, full, "{line}");

    // No input word is read as an option: the words before `--` that start with `-` are exactly
    // those the same command writes for harmless names (the fixed options, in their order). An
    // input equal to a fixed option (`-o`) that the command does not use is no finding.
    let placeholder = Input {
        which: i.which,
        vg: "pvg".into(),
        lv: "plv".into(),
        uuid: "Abcdef".into(),
        devices: (0..i.devices.len()).map(|k| format!("/dev/p{k}")).collect(),
        bytes: i.bytes,
        flag: i.flag,
    };
    let options = |argv: &[String]| -> Vec<String> {
        argv.iter()
            .take_while(|a| *a != "--")
            .filter(|a| a.starts_with('-'))
            .cloned()
            .collect()
    };
    if let Ok(shape) = command(&placeholder).argv() {
        assert_eq!(
            options(&argv),
            options(&shape),
            "an input word could be read as an option: {argv:?}"
        );
    }
});
