//! libvirtd's clients ([`Clients`]: which transports reached the daemon), now or at each
//! `lvcreate` ([`ClientRecorder`]).

use std::collections::BTreeMap;

use crate::fault::Fault;
use crate::lab::{number, Lab};

impl Lab {
    /// The clients connected to the guest's libvirtd right now (`virt-admin client-list` and
    /// `client-info`, through libvirtd-admin.socket), with the process behind each Unix-socket
    /// client.
    #[track_caller]
    pub fn clients(&self) -> Clients {
        let out = self.ssh_ok(CLIENTS_SCRIPT);
        Clients::parse(&out).unwrap_or_else(|e| panic!("{e}\n(virt-admin printed:\n{out})"))
    }

    /// Wraps the guest's `lvcreate` so that every call also records libvirtd's clients at that
    /// moment: the client whose vol-create runs it is connected then, so the records say which
    /// transport each volume was created through. Undone (and checked) by the returned guard.
    #[track_caller]
    pub fn record_clients_at_lvcreate(&self) -> ClientRecorder<'_> {
        let fault = Fault::guest(
            self,
            "lvcreate records libvirtd's clients",
            &format!(
                "set -e; rm -rf {RECORDS}; mkdir -p {RECORDS}; cat > {RECORDS}.sh <<'SCRIPT'\n{CLIENTS_SCRIPT}SCRIPT\n\
                 test -L /usr/sbin/lvcreate; mv /usr/sbin/lvcreate /usr/sbin/lvcreate.acc-orig; \
                 cat > /usr/sbin/lvcreate <<'EOF'\n#!/bin/sh\n/usr/sbin/lvm lvcreate \"$@\"\nrc=$?\n\
                 echo \"$*\" > {RECORDS}/$$.args\nbash {RECORDS}.sh > {RECORDS}/$$.clients 2>&1\nexit $rc\nEOF\n\
                 chmod 755 /usr/sbin/lvcreate"
            ),
            &format!(
                "if [ -L /usr/sbin/lvcreate.acc-orig ]; then mv -f /usr/sbin/lvcreate.acc-orig /usr/sbin/lvcreate; fi; \
                 rm -rf {RECORDS} {RECORDS}.sh; \
                 test -L /usr/sbin/lvcreate && test ! -e /usr/sbin/lvcreate.acc-orig && /usr/sbin/lvcreate --version >/dev/null"
            ),
        );
        ClientRecorder { lab: self, fault }
    }
}

/// For each client of the `libvirtd` server: `client ID TRANSPORT`, then its `client-info` lines,
/// and for a Unix-socket client the command line of the peer process and of each of its
/// ancestors (an ssh transport ends in `virt-ssh-helper` or `nc`, started by a shell of an sshd
/// session, which connects to the local socket).
const CLIENTS_SCRIPT: &str = r#"set -eo pipefail
a() { virt-admin -q -c libvirtd:///system "$@"; }
a client-list libvirtd | while read -r id transport rest; do
  [ -n "$id" ] || continue
  info=$(a client-info libvirtd "$id" 2>/dev/null) || continue   # gone since the list
  echo "client $id $transport"
  echo "$info" | sed 's/^/  /'
  pid=$(echo "$info" | sed -n 's/^unix_process_id *: *//p')
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; then
    echo "  process: $(tr '\0' ' ' < /proc/$pid/cmdline)"
    p=$(awk '{print $4}' /proc/$pid/stat 2>/dev/null || echo 1)
    while [ -n "$p" ] && [ "$p" -gt 1 ]; do
      echo "  ancestor: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null || echo gone)"
      p=$(awk '{print $4}' /proc/$p/stat 2>/dev/null || echo 1)
    done
  fi
done
"#;

/// Where [`Lab::record_clients_at_lvcreate`] keeps its records in the guest.
const RECORDS: &str = "/run/acc-lvcreate-clients";

/// The `lvcreate` wrapper of [`Lab::record_clients_at_lvcreate`]; undone when dropped.
pub struct ClientRecorder<'l> {
    lab: &'l Lab,
    fault: Fault<'l>,
}

impl ClientRecorder<'_> {
    /// Each `lvcreate` call so far: its arguments and libvirtd's clients while it ran.
    #[track_caller]
    pub fn records(&self) -> Vec<(String, Clients)> {
        let out = self.lab.ssh_ok(&format!(
            "for f in {RECORDS}/*.args; do [ -e \"$f\" ] || continue; echo \"== $(cat \"$f\")\"; cat \"${{f%.args}}.clients\"; done"
        ));
        let mut records = Vec::new();
        for block in out.split("== ").filter(|b| !b.trim().is_empty()) {
            let (args, clients) = block.split_once('\n').unwrap_or((block, ""));
            let parsed = Clients::parse(clients)
                .unwrap_or_else(|e| panic!("clients recorded at `lvcreate {args}`: {e}\n{clients}"));
            records.push((args.trim().to_string(), parsed));
        }
        records
    }

    /// Puts the original `lvcreate` back (checked; see [`Fault::undo`]).
    #[track_caller]
    pub fn undo(self) {
        self.fault.undo();
    }
}

/// One client of libvirtd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// libvirtd's id of the client.
    pub id: u64,
    /// `tcp`, `unix`, `tls`.
    pub transport: String,
    /// `client-info`'s fields (`sock_addr`, `unix_process_id`, `readonly` …).
    pub info: BTreeMap<String, String>,
    /// For a Unix-socket client: the command line of the connecting process.
    pub process: Option<String>,
    /// Its ancestors' command lines, parent first.
    pub ancestors: Vec<String>,
}

impl Client {
    /// A client that came through ssh: a Unix-socket client whose peer is libvirt's ssh helper
    /// (`virt-ssh-helper`, or `nc` on older daemons) started within an sshd session.
    pub fn through_ssh(&self) -> bool {
        self.transport == "unix"
            && self
                .process
                .as_deref()
                .is_some_and(|p| p.contains("virt-ssh-helper") || p.starts_with("nc "))
            && self.ancestors.iter().any(|a| a.starts_with("sshd"))
    }
}

/// libvirtd's clients at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clients(pub Vec<Client>);

impl Clients {
    /// Reads the output of [`CLIENTS_SCRIPT`].
    pub fn parse(out: &str) -> Result<Clients, String> {
        let mut clients: Vec<Client> = Vec::new();
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("client ") {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let [id, transport] = f.as_slice() else {
                    return Err(format!("client line {line:?} is not \"client ID TRANSPORT\""));
                };
                clients.push(Client {
                    id: number(line, "client id", id)?,
                    transport: transport.to_string(),
                    info: BTreeMap::new(),
                    process: None,
                    ancestors: Vec::new(),
                });
                continue;
            }
            let c = clients
                .last_mut()
                .ok_or_else(|| format!("line {line:?} before any client"))?;
            let l = line.trim();
            if let Some(p) = l.strip_prefix("process: ") {
                c.process = Some(p.trim().to_string());
            } else if let Some(p) = l.strip_prefix("ancestor: ") {
                c.ancestors.push(p.trim().to_string());
            } else if let Some((k, v)) = l.split_once(':') {
                c.info.insert(k.trim().to_string(), v.trim().to_string());
            } else {
                return Err(format!("client-info line {line:?} is not \"key : value\""));
            }
        }
        Ok(Clients(clients))
    }

    /// The distinct ways clients reached the daemon: `tcp`, `tls`, `ssh` (a Unix-socket client
    /// started within an sshd session), `unix` (a local one).
    pub fn transports(&self) -> std::collections::BTreeSet<String> {
        self.0
            .iter()
            .map(|c| {
                if c.through_ssh() {
                    "ssh".to_string()
                } else {
                    c.transport.clone()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_and_their_transports() {
        // As the lab's libvirt 9.0 prints them.
        let out = "client 7 tcp\n  id             : 7\n  connection_time: 2026-12-02 21:06:28+0000\n\
                   \x20 transport      : tcp\n  readonly       : no\n  sock_addr      : [::ffff:10.0.2.2]:38770\n\
                   client 8 unix\n  id : 8\n  unix_user_id : 0\n  unix_process_id: 354\n\
                   \x20 process: virt-ssh-helper qemu:///system \n  ancestor: sh -c if virt-ssh-helper -V ... \n\
                   \x20 ancestor: sshd: root@notty \n  ancestor: sshd: /usr/sbin/sshd -D [listener]\n\
                   client 9 unix\n  unix_process_id : 900\n  process: virsh list\n  ancestor: -bash\n  ancestor: sshd: root@pts/0\n";
        let c = Clients::parse(out).expect("parses");
        assert_eq!(c.0.len(), 3);
        assert_eq!(c.0[0].info["sock_addr"], "[::ffff:10.0.2.2]:38770");
        assert_eq!(c.0[1].ancestors.len(), 3);
        assert!(!c.0[0].through_ssh() && c.0[1].through_ssh() && !c.0[2].through_ssh());
        assert_eq!(
            c.transports().into_iter().collect::<Vec<_>>(),
            ["ssh", "tcp", "unix"]
        );
        assert_eq!(Clients::parse("").expect("none"), Clients::default());
        assert!(Clients::parse("  id : 1\n").is_err());
        assert!(Clients::parse("client x tcp\n")
            .expect_err("id")
            .contains("\"x\""));
        assert!(Clients::parse("client 1 tcp\n  gibberish\n").is_err());
    }
}
