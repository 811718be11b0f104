//! Faults injected into the shared lab (a wrapped LVM command, an immutable directory, a frozen
//! QEMU) with an undo that is checked. Every later scenario of the run uses the same lab, so an
//! undo that fails is never ignored: it fails the test that injected the fault and marks the lab
//! unusable ([`Lab::mark_unusable`]: later scenarios of the process fail at once saying why, and
//! the lab is stopped so the next test process boots a clean one).

use std::process::Command;
use std::time::Duration;

use crate::lab::Lab;
use crate::{log, run_command};

type Undo<'l> = Box<dyn FnOnce(&Lab) -> Result<(), String> + 'l>;

/// An injected fault; undone when dropped or by [`Fault::undo`].
pub struct Fault<'l> {
    lab: &'l Lab,
    what: String,
    undo: Option<Undo<'l>>,
}

impl<'l> Fault<'l> {
    /// Runs `inject`; `undo` must put the lab back and return an error unless it verified that it
    /// did. When `inject` fails, `undo` runs at once (the injection may be half made) and the test
    /// fails.
    #[track_caller]
    pub fn inject(
        lab: &'l Lab,
        what: &str,
        inject: impl FnOnce(&Lab) -> Result<(), String>,
        undo: impl FnOnce(&Lab) -> Result<(), String> + 'l,
    ) -> Fault<'l> {
        let mut fault = Fault {
            lab,
            what: what.to_string(),
            undo: Some(Box::new(undo)),
        };
        if let Err(e) = inject(lab) {
            let undone = fault.run_undo();
            panic!(
                "injecting the fault \"{what}\" failed: {e}{}",
                match undone {
                    Ok(()) => " (undone)".to_string(),
                    Err(u) => format!("\nand undoing it failed too: {u}"),
                }
            );
        }
        log(format!("fault injected: {what}"));
        fault
    }

    /// A fault made and undone by guest shell scripts (run by `scripts/lab ssh`). `undo_script`
    /// must exit non-zero unless the lab is as before (check, do not assume).
    #[track_caller]
    pub fn guest(lab: &'l Lab, what: &str, inject_script: &str, undo_script: &str) -> Fault<'l> {
        let undo_script = undo_script.to_string();
        Fault::inject(
            lab,
            what,
            |lab| guest_script(lab, inject_script),
            move |lab| guest_script(lab, &undo_script),
        )
    }

    /// Undoes the fault now; panics when that fails (the lab is then marked unusable).
    #[track_caller]
    pub fn undo(mut self) {
        if let Err(e) = self.run_undo() {
            panic!("{e}");
        }
    }

    fn run_undo(&mut self) -> Result<(), String> {
        let Some(undo) = self.undo.take() else {
            return Ok(());
        };
        match undo(self.lab) {
            Ok(()) => {
                log(format!("fault undone: {}", self.what));
                Ok(())
            }
            Err(e) => {
                let why = format!("undoing the fault \"{}\" failed: {e}", self.what);
                self.lab.mark_unusable(&why);
                Err(format!("{why}\n(the lab is marked unusable and stopped)"))
            }
        }
    }
}

impl Drop for Fault<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.run_undo() {
            if std::thread::panicking() {
                // The test is failing already; a second panic would abort the whole run.
                log(e);
            } else {
                panic!("{e}");
            }
        }
    }
}

fn guest_script(lab: &Lab, script: &str) -> Result<(), String> {
    let r = lab.ssh_run(script);
    if r.ok() {
        Ok(())
    } else {
        Err(format!("in the guest:\n{r}"))
    }
}

// ------------------------------------------------------------------------------------------------
// Freezing the lab

impl Lab {
    /// Freezes the whole lab (SIGSTOP to its QEMU): the hypervisor stops answering, as a host
    /// that hangs or whose network is cut. It runs again when the guard is dropped or
    /// [`Paused::resume`]d (SIGCONT, checked: a lab that stays stopped is marked unusable and the
    /// test fails).
    #[track_caller]
    pub fn pause(&self) -> Paused<'_> {
        let pid = self
            .qemu_pid()
            .unwrap_or_else(|e| panic!("cannot pause the lab: {e}"));
        let fault = Fault::inject(
            self,
            &format!("lab frozen (SIGSTOP to QEMU pid {pid})"),
            |_| signal(pid, "-STOP"),
            move |_| {
                signal(pid, "-CONT")?;
                // The kernel acts on SIGCONT before kill(1) returns; the state says whether it did.
                match process_state(pid)? {
                    'T' | 't' => Err(format!("QEMU pid {pid} is still stopped after SIGCONT")),
                    _ => Ok(()),
                }
            },
        );
        Paused { fault }
    }
}

/// The lab frozen by [`Lab::pause`]; resumed when dropped.
pub struct Paused<'l> {
    fault: Fault<'l>,
}

impl Paused<'_> {
    /// Lets the lab run again (SIGCONT); panics (and marks the lab unusable) if it does not.
    #[track_caller]
    pub fn resume(self) {
        self.fault.undo();
    }
}

/// `kill SIGNAL PID` (our lab's QEMU, found through its pid file and checked by its cmdline).
fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let mut c = Command::new("kill");
    c.args([sig, &pid.to_string()]);
    let r = run_command(c, Duration::from_secs(10));
    if r.ok() {
        Ok(())
    } else {
        Err(format!("kill {sig} {pid} failed:\n{r}"))
    }
}

/// The state letter of a process (`R`, `S`, `T` …) from `/proc/PID/stat`.
fn process_state(pid: u32) -> Result<char, String> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name may hold spaces and parentheses; the state follows its last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .ok_or_else(|| format!("cannot read the state from /proc/{pid}/stat: {stat:?}"))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;

    #[test]
    fn an_undo_that_works_leaves_the_lab_usable() {
        let lab = Lab::for_tests();
        let undone = Cell::new(0);
        let f = Fault::inject(
            &lab,
            "ok",
            |_| Ok(()),
            |_| {
                undone.set(undone.get() + 1);
                Ok(())
            },
        );
        f.undo();
        let f = Fault::inject(
            &lab,
            "ok on drop",
            |_| Ok(()),
            |_| {
                undone.set(undone.get() + 1);
                Ok(())
            },
        );
        drop(f);
        assert_eq!(undone.get(), 2);
        assert_eq!(lab.unusable(), None);
    }

    #[test]
    fn a_failed_undo_fails_the_test_and_marks_the_lab_unusable() {
        let lab = Lab::for_tests();
        let f = Fault::inject(
            &lab,
            "chattr +i",
            |_| Ok(()),
            |_| Err("chattr -i: not permitted".into()),
        );
        let e = catch_unwind(AssertUnwindSafe(|| f.undo())).expect_err("the undo failed");
        let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("chattr -i: not permitted") && msg.contains("unusable"),
            "{msg}"
        );
        let why = lab.unusable().expect("marked unusable");
        assert!(
            why.contains("\"chattr +i\"") && why.contains("not permitted"),
            "{why}"
        );
    }

    #[test]
    fn a_failed_undo_on_drop_fails_the_test_too() {
        let lab = Lab::for_tests();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            let _f = Fault::inject(
                &lab,
                "wrapped lvcreate",
                |_| Ok(()),
                |_| Err("still wrapped".into()),
            );
        }));
        assert!(caught.is_err(), "dropping a fault whose undo failed must panic");
        assert!(lab.unusable().is_some());
    }

    #[test]
    fn a_failed_injection_is_undone_and_fails() {
        let lab = Lab::for_tests();
        let undone = Cell::new(false);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            Fault::inject(
                &lab,
                "half made",
                |_| Err("mv failed".into()),
                |_| {
                    undone.set(true);
                    Ok(())
                },
            );
        }));
        let msg = caught
            .expect_err("failed injection")
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(msg.contains("mv failed") && msg.contains("(undone)"), "{msg}");
        assert!(undone.get());
        assert_eq!(lab.unusable(), None);
    }

    #[test]
    fn process_states() {
        assert!(matches!(process_state(std::process::id()), Ok('R' | 'S')));
        assert!(process_state(u32::MAX).is_err());
    }
}
