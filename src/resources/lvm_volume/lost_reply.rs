//! The lost-reply rule of a volume create: the connection died after the create's request went
//! out, so whether the LV exists is unknown.

use crate::framework::resource::Failed;
use crate::framework::{Diagnostic, Diagnostics};
use crate::libvirt::facts::volume::VolInfo;
use crate::libvirt::{Connection, Error};

use super::{already_holds, State};

/// What the lost-reply rule finds of a create in its pool.
pub(super) enum LostLookup {
    /// An LV of the name, with what proves it is this create's work (nothing, without a tag the
    /// create carried and LVM's report to read it).
    Found(VolInfo, Proof),
    /// No LV of the name (or no pool).
    Absent,
    /// The pool is stopped: its volumes cannot be looked for.
    PoolStopped,
}

/// Whether an LV found after a lost reply is proven to be the create's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Proof {
    /// Nothing proves it: an operator, or another workspace, may have made an LV of that name
    /// and size after the request left.
    None,
}

/// The create's reply was lost after its request went out (the connection died under it): the
/// volume may or may not exist. An LV of this name found now is this create's only with proof;
/// without proof it is never recorded (not even as tainted, which would have the next apply
/// delete it): the error names it, with its UUID and size and the import command, and nothing is
/// left in the state. When the hypervisor cannot be asked now, the resource is recorded without
/// an LV UUID, so that the next read looks again and says what it finds.
pub(super) async fn lost_create(conn: &Connection, planned: State, capacity: u64, e: Error) -> Failed<State> {
    let s = planned;
    let mut unchecked = false;
    let detail = match look_for_lost_create(conn, &s).await {
        Ok(LostLookup::Found(v, Proof::None)) => not_claimed(&s, &v, capacity),
        Ok(LostLookup::Absent) => format!(
            "The volume {}/{} does not exist now. The next plan reads it again and creates it.",
            s.pool, s.name
        ),
        other => {
            let again = match other {
                Err(e) => e.to_string(),
                _ => format!("pool {:?} is stopped", s.pool),
            };
            unchecked = true;
            format!(
                "Whether the volume {}/{} exists could not be checked ({again}). It is recorded without an LV UUID: \
                 the next plan looks for it and says what it finds; an LV it cannot prove to be this create's is \
                 never taken over.",
                s.pool, s.name
            )
        }
    };
    let mut d = Diagnostic::from(e);
    d.summary = "Volume Creation Interrupted".into();
    d.detail.push_str(&format!("\n\n{detail}"));
    if unchecked {
        Failed::with_partial(d, s)
    } else {
        d.into()
    }
}

/// Why an LV of the create's name is not taken over, and what to do.
fn not_claimed(s: &State, v: &VolInfo, capacity: u64) -> String {
    let size = if already_holds(capacity, v.xml.capacity, false) {
        "the size asked for"
    } else {
        "another size than asked for"
    };
    format!(
        "An LV {} exists now, with LV UUID {} and {} bytes ({size}). Nothing proves it is this create's work \
         (another workspace or an operator may have made it after the request left), so it is not taken into \
         the state and is left alone. If it is this create's, import it: `terraform import <address> {}/{}`; \
         otherwise remove it or choose another name.",
        v.describe(),
        v.key(),
        v.xml.capacity,
        s.pool,
        s.name
    )
}

/// Refreshes the pool and looks for the volume `s` names; used right after the reply was lost
/// ([`lost_create`]) and by the read of a create that could not look then ([`find_lost_create`]).
pub(super) async fn look_for_lost_create(conn: &Connection, s: &State) -> Result<LostLookup, Error> {
    conn.refresh_pool(&s.pool).await?;
    match conn.find_pool(&s.pool).await? {
        Some(p) if p.active => {}
        Some(_) => return Ok(LostLookup::PoolStopped),
        None => return Ok(LostLookup::Absent),
    }
    Ok(match conn.find_volume(&s.pool, &s.name).await? {
        Some(v) => LostLookup::Found(v, Proof::None),
        None => LostLookup::Absent,
    })
}

/// Reads a volume whose create lost its reply and could not be checked then (see
/// [`lost_create`]): the state has its name but no LV UUID. The resource leaves the state; an LV
/// of its name found now is named in a warning (UUID, size, the import command) and left alone.
/// In a stopped pool nothing can be looked for: the state stays as it is.
pub(super) async fn find_lost_create(
    conn: &Connection,
    s: State,
    notes: &mut Diagnostics,
) -> Result<Option<State>, Diagnostics> {
    let capacity = s.capacity_bytes_wanted().unwrap_or(0);
    match look_for_lost_create(conn, &s).await? {
        LostLookup::Found(v, Proof::None) => {
            notes.push(Diagnostic::warning(
                "Volume Not Claimed After A Lost Reply",
                format!(
                    "The create of volume {}/{} lost its reply and could not be checked then. {} The resource is \
                     removed from the state.",
                    s.pool,
                    s.name,
                    not_claimed(&s, &v, capacity)
                ),
            ));
            Ok(None)
        }
        LostLookup::Absent => Ok(None),
        LostLookup::PoolStopped => Ok(Some(s)),
    }
}
