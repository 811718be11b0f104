//! Fixture domains: diskless `type='qemu'` domains made with virsh (not with the provider), and
//! the proof that a domain never restarted.

use crate::lab::Lab;
use crate::xml::{disk_block, disk_targets};

/// How a fixture domain is made.
#[derive(Clone, Copy, Debug)]
pub struct DomainOpts {
    /// Started after definition.
    pub running: bool,
    /// `<features><acpi/></features>` (needed for PCI hotplug).
    pub acpi: bool,
    /// `<controller type='scsi' model='virtio-scsi'/>`.
    pub scsi: bool,
}

impl DomainOpts {
    /// Running, with ACPI and a virtio-scsi controller.
    pub fn running() -> DomainOpts {
        DomainOpts {
            running: true,
            acpi: true,
            scsi: true,
        }
    }

    /// Shut off (defined only), with ACPI and a virtio-scsi controller.
    pub fn shut_off() -> DomainOpts {
        DomainOpts {
            running: false,
            ..DomainOpts::running()
        }
    }

    /// Without ACPI.
    pub fn no_acpi(self) -> DomainOpts {
        DomainOpts { acpi: false, ..self }
    }

    /// Without a SCSI controller.
    pub fn no_scsi(self) -> DomainOpts {
        DomainOpts { scsi: false, ..self }
    }
}

/// A diskless `type='qemu'` domain made with virsh; undefined by the scenario's cleanup.
pub struct Domain {
    /// Its name.
    pub name: String,
    lab: &'static Lab,
}

/// What identifies one run of a domain: libvirt's id and the QEMU process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// `virsh domid`.
    pub id: u32,
    /// PID of its QEMU process in the guest.
    pub pid: u32,
    /// Seconds that QEMU process has been running.
    pub uptime: u64,
}

/// The XML of a fixture domain.
pub fn domain_xml_def(name: &str, opts: DomainOpts) -> String {
    domain_xml_with("qemu", name, opts, &[])
}

/// Where the lab keeps the firmware of its fixture domains ([`HALT_ROM_SCRIPT`] writes it).
pub const HALT_ROM: &str = "/var/lib/libvirt/boot/acceptance-halt.rom";

/// Writes [`HALT_ROM`] in the guest unless it is there, then prints the four bytes at its reset
/// vector (`fa f4 eb fd`: `cli; hlt; jmp $-1`). A fixture domain needs no guest OS, only a QEMU
/// process that holds its disks, so it boots this 64 KiB ROM instead of SeaBIOS: the vCPU halts
/// with interrupts off at its first instruction. Under the lab's nested TCG a running diskless
/// domain idling in SeaBIOS costs about 14 % of a host core, one halted here about 5.5 % (measured
/// on an idle lab from the lab QEMU's CPU ticks over 20 s), and the suite runs many such domains
/// on three labs that share two cores. Libvirt, QEMU and the provider see the same domain: hotplug,
/// live XML, ids and PIDs do not depend on what the vCPU executes.
pub const HALT_ROM_SCRIPT: &str = "f=/var/lib/libvirt/boot/acceptance-halt.rom; \
    test -s $f || { mkdir -p /var/lib/libvirt/boot && \
    { head -c 65520 /dev/zero; printf '\\372\\364\\353\\375'; head -c 12 /dev/zero; } >$f.tmp && mv $f.tmp $f; } && \
    test $(stat -c %s $f) = 65536 && od -An -tx1 -j65520 -N4 $f";

/// The XML of a diskless-but-for-`disks` domain of type `kind` (`qemu` on the lab, booting
/// [`HALT_ROM`]; `test` for libvirt's test driver); `disks` are `<disk>` elements
/// ([`crate::disk_element`]).
pub fn domain_xml_with(kind: &str, name: &str, opts: DomainOpts, disks: &[String]) -> String {
    let loader = if kind == "qemu" {
        format!("<loader readonly='yes' type='rom'>{HALT_ROM}</loader>")
    } else {
        String::new()
    };
    format!(
        "<domain type='{kind}'>\n  <name>{name}</name>\n  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n  \
         <os><type arch='x86_64' machine='pc'>hvm</type>{loader}</os>\n{}  <devices>\n{}{}  </devices>\n</domain>\n",
        if opts.acpi {
            "  <features><acpi/></features>\n"
        } else {
            ""
        },
        if opts.scsi {
            "    <controller type='scsi' model='virtio-scsi'/>\n"
        } else {
            ""
        },
        disks.iter().map(|d| format!("    {d}\n")).collect::<String>(),
    )
}

/// `PID ETIMES` as printed by `echo $p $(ps -o etimes= -p $p)`; an error quotes the text.
pub fn parse_pid_uptime(out: &str) -> Result<(u32, u64), String> {
    match out.split_whitespace().collect::<Vec<_>>().as_slice() {
        [pid, uptime] => match (pid.parse(), uptime.parse()) {
            (Ok(pid), Ok(uptime)) => Ok((pid, uptime)),
            _ => Err(format!("cannot parse \"PID SECONDS\" from {out:?}")),
        },
        _ => Err(format!(
            "expected \"PID SECONDS\", got {out:?} (is the process gone?)"
        )),
    }
}

impl Domain {
    pub(crate) fn create(lab: &'static Lab, name: &str, opts: DomainOpts) -> Domain {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), domain_xml_def(name, opts)).expect("write domain XML");
        lab.virsh_ok(&["define", &file.path().to_string_lossy()]);
        let d = Domain {
            name: name.to_string(),
            lab,
        };
        if opts.running {
            lab.virsh_ok(&["start", name]);
        }
        d
    }

    /// `virsh domstate`: `running`, `shut off`, ….
    pub fn state(&self) -> String {
        self.lab.virsh_ok(&["domstate", &self.name]).trim().to_string()
    }

    /// libvirt's id of the running domain.
    #[track_caller]
    pub fn id(&self) -> u32 {
        let out = self.lab.virsh_ok(&["domid", &self.name]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("domain {} has no id (not running?): {out:?}", self.name))
    }

    /// Id, QEMU pid and that process's uptime: equal id and pid and a grown uptime prove no restart.
    #[track_caller]
    pub fn runtime(&self) -> Runtime {
        let id = self.id();
        let out = self.lab.ssh_ok(&format!(
            "p=$(cat /run/libvirt/qemu/{0}.pid) && echo $p $(ps -o etimes= -p $p)",
            self.name
        ));
        let (pid, uptime) =
            parse_pid_uptime(&out).unwrap_or_else(|e| panic!("domain {}'s QEMU process: {e}", self.name));
        Runtime { id, pid, uptime }
    }

    /// Asserts the domain still runs the same QEMU process as in `before` (no restart).
    #[track_caller]
    pub fn assert_not_restarted(&self, before: &Runtime) {
        assert_eq!(
            self.state(),
            "running",
            "domain {} is no longer running",
            self.name
        );
        let now = self.runtime();
        assert_eq!(now.id, before.id, "domain {} got a new id: restarted", self.name);
        assert_eq!(
            now.pid, before.pid,
            "domain {} has a new QEMU process: restarted",
            self.name
        );
        assert!(
            now.uptime >= before.uptime,
            "domain {}'s QEMU uptime went down ({} -> {}): restarted",
            self.name,
            before.uptime,
            now.uptime
        );
    }

    /// Live XML (`inactive = false`) or saved definition (`inactive = true`).
    pub fn xml(&self, inactive: bool) -> String {
        self.lab.domain_xml(&self.name, inactive)
    }

    /// Disk targets in the live XML or the saved definition.
    pub fn disk_targets(&self, inactive: bool) -> Vec<String> {
        disk_targets(&self.xml(inactive))
    }

    /// The `<disk>` element with this target, if present.
    pub fn disk(&self, target: &str, inactive: bool) -> Option<String> {
        disk_block(&self.xml(inactive), target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_and_uptime_parse_or_say_what_they_got() {
        assert_eq!(parse_pid_uptime("1234 56\n"), Ok((1234, 56)));
        for bad in ["", "1234", "1234 ", "x 5", "12 -3", "12 5 6"] {
            let e = parse_pid_uptime(bad).expect_err(bad);
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn fixture_xml() {
        let x = domain_xml_def("d1", DomainOpts::running());
        assert!(x.contains("<name>d1</name>") && x.contains("<acpi/>") && x.contains("virtio-scsi"));
        assert!(
            x.contains(&format!(
                "<loader readonly='yes' type='rom'>{HALT_ROM}</loader></os>"
            )),
            "{x}"
        );
        assert!(HALT_ROM_SCRIPT.starts_with(&format!("f={HALT_ROM};")));
        let x = domain_xml_def("d1", DomainOpts::shut_off().no_acpi().no_scsi());
        assert!(!x.contains("<acpi/>") && !x.contains("controller"), "{x}");
        assert!(!DomainOpts::shut_off().running);
        let disk = crate::disk_element("sdb", &crate::DiskSource::Block("/dev/vg/lv".into()), "scsi");
        let x = domain_xml_with("test", "d2", DomainOpts::shut_off(), std::slice::from_ref(&disk));
        assert!(x.starts_with("<domain type='test'>") && x.contains(&disk), "{x}");
        assert!(!x.contains("<loader"), "the test driver has no firmware: {x}");
        assert_eq!(crate::disk_targets(&x), ["sdb"]);
    }
}
