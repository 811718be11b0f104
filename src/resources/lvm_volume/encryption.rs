//! Encryption at rest: a LUKS volume made by libvirt (`<encryption format='luks'>`, formatted
//! with `qemu-img` on the hypervisor) whose passphrase is a libvirt secret, either one this
//! resource defines from the write-only `passphrase_wo` or an existing one (`secret_uuid`).
//!
//! The passphrase reaches the provider only at apply, in the configuration (the framework keeps
//! write-only values out of plans and state), goes to libvirt once as the secret's value, and is
//! never logged. Everything about the encryption is fixed at creation: a change replaces the
//! volume, except a new `passphrase_wo_version` and a `passphrase_wo` for a volume opened with an
//! existing secret, which are refused (see [`plan_change`]).

use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::schema::{Attribute, Block, Validator};
use crate::framework::{AttrPath, Diagnostic, Diagnostics, Value};
use crate::libvirt::Connection;

/// What a LUKS volume's LV holds besides its capacity: the LUKS1 header and key material libvirt
/// has `qemu-img` write before the payload, rounded up (`cryptsetup luksDump` on the lab: payload
/// offset 4040 sectors, 28 KiB under 2 MiB; QEMU shows the guest all of the LV past it).
pub(super) const LUKS_HEADER: u64 = 2 << 20;

/// What the volume's LV must hold for a guest to see `capacity` bytes: the LUKS header besides
/// the payload when it is encrypted.
pub(super) fn lv_bytes(capacity: u64, encrypted: bool) -> u64 {
    capacity + if encrypted { LUKS_HEADER } else { 0 }
}

/// The size running domains are told for an LV of `lv` bytes: the LUKS payload (the LV less its
/// header) when it is encrypted. `virDomainBlockResize` sizes the disk's format layer, which for a
/// LUKS volume is the payload: told the LV's own size, QEMU would have to grow the device past its
/// end and the resize fails. (QEMU then shows the guest all of the LV past the real payload
/// offset, a few KiB more than this.)
pub(super) fn guest_bytes(lv: u64, encrypted: bool) -> u64 {
    lv.saturating_sub(if encrypted { LUKS_HEADER } else { 0 })
}

/// The `encryption` block.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Encryption {
    pub(super) format: String,
    pub(super) passphrase_wo: Option<String>,
    pub(super) passphrase_wo_version: Option<i64>,
    pub(super) secret_uuid: Option<String>,
}

/// Never shows the passphrase, wherever a state is printed.
impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryption")
            .field("format", &self.format)
            .field("passphrase_wo", &self.passphrase_wo.as_ref().map(|_| "<hidden>"))
            .field("passphrase_wo_version", &self.passphrase_wo_version)
            .field("secret_uuid", &self.secret_uuid)
            .finish()
    }
}

impl Encryption {
    /// Whether this resource defined the secret (from `passphrase_wo`), and so undefines it with
    /// the volume. A `secret_uuid` given in the configuration is the user's and is left alone.
    pub(super) fn owns_secret(&self) -> bool {
        self.passphrase_wo_version.is_some()
    }
}

pub(super) fn attr(name: &str) -> AttrPath {
    AttrPath::attr("encryption").then_attr(name)
}

/// The `encryption` block's schema.
pub(super) fn encryption_block() -> Block {
    Block {
        name: "encryption",
        description: "Encrypt the volume at rest with LUKS, through libvirt: libvirt formats the LV with \
            `qemu-img` on the hypervisor (which needs `qemu-img`, package `qemu-utils` on Debian), and a \
            `libvirt_disk_attachment` of the volume tells the domain the secret that opens it. The passphrase \
            is a libvirt secret: set `passphrase_wo` (with `passphrase_wo_version`) and the provider defines \
            one for the volume and undefines it when the volume is destroyed, or give an existing secret's \
            `secret_uuid`. Fixed at creation: adding, removing or changing this block replaces the volume \
            (its data is lost), except that a new `passphrase_wo_version`, or a `passphrase_wo` for a volume \
            opened with an existing secret (made with `secret_uuid`, or imported: import records \
            `secret_uuid`), is refused. The LV is larger than `capacity` by the LUKS header (2 MiB, rounded up to an \
            extent); `capacity` is what the guest sees, and a grow (with `lvm_tools`) grows the LV to the new capacity \
            and the header and tells running domains the new capacity. Cannot be combined with `source` or \
            `clone_from`."
            .into(),
        attributes: vec![
            Attribute::string("format")
                .required()
                .one_of(&["luks"])
                .describe("The encryption format. Only `luks` (LUKS1, what libvirt's storage driver makes)."),
            Attribute::string("passphrase_wo")
                .optional()
                .sensitive()
                .write_only()
                .validate(Validator::Str(|p| {
                    if p.is_empty() {
                        Err("encryption.passphrase_wo is empty: give a passphrase.".into())
                    } else {
                        Ok(())
                    }
                }))
                .describe(
                    "The passphrase, write-only (Terraform 1.11 or later): sent to libvirt once, as the value of \
                     the secret the provider defines for the volume, and never stored in state or shown in \
                     plans. Requires `passphrase_wo_version`. Conflicts with `secret_uuid`.",
                ),
            Attribute::number("passphrase_wo_version")
                .optional()
                .validate(Validator::Int(|v| {
                    if v < 0 {
                        Err(format!("{v} is negative: use a whole number of 0 or more."))
                    } else {
                        Ok(())
                    }
                }))
                .describe(
                    "A number recorded with `passphrase_wo` (Terraform cannot see a write-only value change). \
                     libvirt cannot re-key the LUKS header of an existing volume, so changing it on an existing \
                     volume is refused at apply (warned at plan) rather than setting a secret that would no \
                     longer open the volume. To re-encrypt with a new passphrase, replace the volume on purpose \
                     (`terraform apply -replace=...`; its data is lost) with the new version.",
                ),
            Attribute::string("secret_uuid")
                .optional()
                .computed()
                .validate(Validator::Str(validate_uuid))
                .describe(
                    "The UUID of the libvirt secret holding the passphrase: an existing secret of usage type \
                     `volume` (`virsh secret-list`), or, with `passphrase_wo`, the one the provider defined.",
                ),
        ],
    }
}

fn validate_uuid(s: &str) -> Result<(), String> {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a UUID: use the UUID of a libvirt secret as `virsh secret-list` shows it, such as \
             \"675f09f9-ce67-4ba6-bc7f-4614de90d640\"."
        ))
    }
}

/// Checks of the configuration alone: one source of passphrase, and no content to write.
pub(super) fn validate(config: &Value, diags: &mut Diagnostics) {
    let enc = config.attr("encryption").unwrap_or(&Value::Null);
    if enc.is_null() {
        return;
    }
    for content in ["source", "clone_from"] {
        if config.attr(content).is_some_and(|v| !v.is_null()) {
            diags.push(content_refused(content));
        }
    }
    if !enc.is_known() {
        return;
    }
    let set = |name: &str| enc.attr(name).is_some_and(|v| !v.is_null());
    match (set("passphrase_wo"), set("secret_uuid")) {
        (true, true) => diags.push(
            Diagnostic::error(
                "Conflicting Passphrase Sources",
                "encryption takes either passphrase_wo (the provider defines a libvirt secret for the volume) or \
                 secret_uuid (an existing libvirt secret), not both.",
            )
            .at(attr("secret_uuid")),
        ),
        (false, false) => diags.push(
            Diagnostic::error(
                "Missing Passphrase",
                "encryption needs its passphrase: set passphrase_wo (with passphrase_wo_version) for a secret the \
                 provider defines, or secret_uuid for an existing libvirt secret.",
            )
            .at(attr("passphrase_wo")),
        ),
        _ => {}
    }
    match (set("passphrase_wo"), set("passphrase_wo_version")) {
        (true, false) => diags.push(
            Diagnostic::error(
                "Missing passphrase_wo_version",
                "encryption.passphrase_wo needs encryption.passphrase_wo_version, a number such as 1: Terraform \
                 never shows the provider a change of a write-only value, so the version says which passphrase \
                 the volume was made with.",
            )
            .at(attr("passphrase_wo_version")),
        ),
        (false, true) => diags.push(
            Diagnostic::error(
                "Version Without A Passphrase",
                "encryption.passphrase_wo_version goes with encryption.passphrase_wo; with secret_uuid, leave it \
                 unset.",
            )
            .at(attr("passphrase_wo_version")),
        ),
        _ => {}
    }
}

/// Image fills and clones are refused: libvirt writes them to the LV as raw bytes, over the LUKS
/// header, not through the encryption.
fn content_refused(content: &str) -> Diagnostic {
    Diagnostic::error(
        "Content Cannot Be Written Into An Encrypted Volume",
        format!(
            "{content} cannot be combined with encryption: the provider writes images and clones to the LV as \
             raw bytes, which would overwrite the LUKS header instead of going through the encryption. Create \
             the encrypted volume empty and write the content from the guest, or leave encryption unset."
        ),
    )
    .at_attr(content)
}

/// What a plan does about the `encryption` block of an existing volume.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Change {
    /// Nothing that matters changed.
    None,
    /// Only `passphrase_wo_version`: refused (libvirt cannot re-key the volume).
    Version,
    /// Anything else: the volume is replaced.
    Replace,
}

/// Compares the prior and planned `encryption` blocks (write-only values are never compared:
/// Terraform does not keep them).
pub(super) fn change(prior: &Value, planned: &Value) -> Change {
    let get = |v: &Value, name: &str| v.attr(name).cloned().unwrap_or(Value::Null);
    if prior.is_null() != planned.is_null() {
        return Change::Replace;
    }
    if prior.is_null() {
        return Change::None;
    }
    let replaces = ["format", "secret_uuid"]
        .iter()
        .any(|a| get(prior, a) != get(planned, a))
        // From a provider-defined secret to none, or the other way: another passphrase source.
        || get(prior, "passphrase_wo_version").is_null() != get(planned, "passphrase_wo_version").is_null();
    if replaces {
        Change::Replace
    } else if get(prior, "passphrase_wo_version") != get(planned, "passphrase_wo_version") {
        Change::Version
    } else {
        Change::None
    }
}

/// Plans the `encryption` block: on a create, the secret UUID the provider defines is "known
/// after apply" and an existing secret is checked; on an update, any change replaces the volume
/// (warned: its data is lost) except a new version, which the apply refuses.
pub(super) async fn plan_change(conn: &Connection, plan: &mut Plan) -> Result<(), Diagnostics> {
    let planned = plan.planned("encryption").clone();
    if plan.is_create() {
        if planned.is_null() || !planned.is_known() {
            return Ok(());
        }
        let configured = plan
            .config("encryption")
            .attr("secret_uuid")
            .cloned()
            .unwrap_or(Value::Null);
        match configured.as_str() {
            None if configured.is_null() => {
                if let Some(slot) = plan
                    .planned
                    .attr_mut("encryption")
                    .and_then(|e| e.attr_mut("secret_uuid"))
                {
                    *slot = Value::Unknown;
                }
            }
            None => {}
            Some(uuid) => {
                if let Some(d) = secret_problem(conn, uuid).await? {
                    plan.warn_refusal(d);
                }
            }
        }
        return Ok(());
    }
    match change(plan.prior("encryption"), &planned) {
        Change::None => {}
        Change::Replace if keeps_its_secret(plan.prior("encryption"), &planned).is_some() => {
            let uuid = keeps_its_secret(plan.prior("encryption"), &planned).unwrap_or_default();
            plan.warn_refusal(secret_kept(&uuid));
        }
        Change::Replace => {
            plan.requires_replace.push(AttrPath::attr("encryption"));
            plan.warn(
                Diagnostic::warning(
                    "Volume Is Replaced For Its Encryption",
                    "The encryption of a volume is fixed when it is made: this change replaces the volume, and \
                     everything on it is lost.",
                )
                .at_attr("encryption"),
            );
        }
        Change::Version => plan.warn_refusal(rotation_refused(
            plan.prior("encryption").attr("passphrase_wo_version"),
            planned.attr("passphrase_wo_version"),
        )),
    }
    Ok(())
}

/// The secret of a volume opened with an existing secret (made with `secret_uuid`, or imported),
/// when the plan would give it a `passphrase_wo` instead: that replaces the volume, which is never
/// what declaring the encryption of a volume one has should do.
pub(super) fn keeps_its_secret(prior: &Value, planned: &Value) -> Option<String> {
    let get = |v: &Value, name: &str| v.attr(name).cloned().unwrap_or(Value::Null);
    let uuid = get(prior, "secret_uuid").as_str()?.to_string();
    (get(prior, "passphrase_wo_version").is_null() && !get(planned, "passphrase_wo_version").is_null())
        .then_some(uuid)
}

/// The refusal for [`keeps_its_secret`].
pub(super) fn secret_kept(uuid: &str) -> Diagnostic {
    Diagnostic::error(
        "Encrypted Volume Keeps Its Secret",
        format!(
            "This volume is opened with the existing libvirt secret {uuid} (it was made with secret_uuid, or \
             imported). A passphrase_wo would replace the volume, and everything on it would be lost. Nothing was \
             changed. To keep the volume, write `encryption {{ format = \"luks\", secret_uuid = \"{uuid}\" }}`; to \
             make it again, empty, with a new passphrase, replace it on purpose (`terraform apply \
             -replace=<address>`)."
        ),
    )
    .at(attr("passphrase_wo_version"))
}

/// The passphrase the configuration gave, which the framework puts in the planned state at apply.
pub(super) fn missing_passphrase() -> Diagnostic {
    Diagnostic::error(
        "Missing Passphrase",
        "encryption.passphrase_wo reached the apply without a value, so no secret was defined and nothing was \
         created. Write-only attributes need Terraform 1.11 or later.",
    )
    .at(attr("passphrase_wo"))
}

/// Why an existing secret cannot be the volume's passphrase, if it cannot.
pub(super) async fn secret_problem(conn: &Connection, uuid: &str) -> Result<Option<Diagnostic>, Diagnostics> {
    let problem = match conn.secret(uuid).await? {
        None => format!("No libvirt secret with UUID {uuid} exists on {}.", conn.display_uri()),
        Some(s) if !s.is_volume_secret() => format!(
            "libvirt secret {uuid} is not a volume secret (its usage type is {}): libvirt opens a LUKS volume \
             only with a secret of <usage type='volume'>.",
            s.usage_type
        ),
        Some(_) => return Ok(None),
    };
    Ok(Some(
        Diagnostic::error("Secret Not Usable", problem).at(attr("secret_uuid")),
    ))
}

/// A new `passphrase_wo_version` on an existing volume.
pub(super) fn rotation_refused(from: Option<&Value>, to: Option<&Value>) -> Diagnostic {
    let show = |v: Option<&Value>| {
        v.and_then(Value::as_i64)
            .map_or_else(|| "unset".to_string(), |n| n.to_string())
    };
    Diagnostic::error(
        "Passphrase Cannot Be Rotated In Place",
        format!(
            "encryption.passphrase_wo_version changes from {} to {}, but libvirt cannot change the passphrase of \
             an existing LUKS volume: it would only store the new passphrase in the secret, and the volume, still \
             locked with the old one, would no longer open. Nothing was changed. Put the version back; or, to \
             re-encrypt, replace the volume on purpose (`terraform apply -replace=<address>`: its data is lost); \
             or change the LUKS key slot yourself (`cryptsetup luksChangeKey` on the hypervisor) and then \
             `virsh secret-set-value` with the new passphrase before putting the version back.",
            show(from),
            show(to)
        ),
    )
    .at(attr("passphrase_wo_version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(version: Option<i64>, uuid: Option<&str>) -> Value {
        Value::object([
            ("format", Value::from("luks")),
            ("passphrase_wo", Value::Null),
            ("passphrase_wo_version", version.map_or(Value::Null, Value::from)),
            ("secret_uuid", uuid.map_or(Value::Null, Value::from)),
        ])
    }

    #[test]
    fn encryption_changes_replace_except_a_version_which_is_refused() {
        let u = Some("675f09f9-ce67-4ba6-bc7f-4614de90d640");
        let v = Some("775f09f9-ce67-4ba6-bc7f-4614de90d640");
        let cases = [
            (Value::Null, Value::Null, Change::None),
            (block(Some(1), u), block(Some(1), u), Change::None),
            (block(Some(1), u), block(Some(2), u), Change::Version),
            (Value::Null, block(Some(1), None), Change::Replace),
            (block(Some(1), u), Value::Null, Change::Replace),
            (block(None, u), block(None, v), Change::Replace),
            // From a provider-defined secret to the same UUID given as an existing secret.
            (block(Some(1), u), block(None, u), Change::Replace),
        ];
        for (prior, planned, want) in cases {
            assert_eq!(change(&prior, &planned), want, "{prior:?} -> {planned:?}");
        }
    }

    #[test]
    fn a_passphrase_for_a_volume_opened_with_an_existing_secret_is_refused_not_a_replacement() {
        let u = Some("675f09f9-ce67-4ba6-bc7f-4614de90d640");
        // Imported, or made with secret_uuid; the configuration now gives a passphrase.
        assert_eq!(
            keeps_its_secret(&block(None, u), &block(Some(1), None)).as_deref(),
            u
        );
        // The same secret declared: nothing to refuse (and nothing changes).
        assert_eq!(keeps_its_secret(&block(None, u), &block(None, u)), None);
        assert_eq!(change(&block(None, u), &block(None, u)), Change::None);
        // A provider-defined secret (a version recorded) is not kept this way.
        assert_eq!(keeps_its_secret(&block(Some(1), u), &block(Some(2), u)), None);
        // No encryption recorded: nothing to keep.
        assert_eq!(keeps_its_secret(&Value::Null, &block(Some(1), None)), None);
        let d = secret_kept("675f09f9-ce67-4ba6-bc7f-4614de90d640");
        assert!(
            d.detail
                .contains("secret_uuid = \"675f09f9-ce67-4ba6-bc7f-4614de90d640\""),
            "{d:?}"
        );
    }

    fn config(enc: Value, source: Value) -> Value {
        Value::object([
            ("encryption", enc),
            ("source", source),
            ("clone_from", Value::Null),
        ])
    }

    fn with(pass: Value, version: Option<i64>, uuid: Option<&str>) -> Value {
        Value::object([
            ("format", Value::from("luks")),
            ("passphrase_wo", pass),
            ("passphrase_wo_version", version.map_or(Value::Null, Value::from)),
            ("secret_uuid", uuid.map_or(Value::Null, Value::from)),
        ])
    }

    fn errors_at(config: &Value) -> Vec<String> {
        let mut d = Diagnostics::new();
        validate(config, &mut d);
        d.0.iter()
            .map(|d| d.attribute.as_ref().map(ToString::to_string).unwrap_or_default())
            .collect()
    }

    #[test]
    fn validation_names_the_attribute_to_fix() {
        let u = Some("675f09f9-ce67-4ba6-bc7f-4614de90d640");
        let pass = || Value::from("s3cret");
        assert!(errors_at(&config(with(pass(), Some(1), None), Value::Null)).is_empty());
        assert!(errors_at(&config(with(Value::Unknown, Some(1), None), Value::Null)).is_empty());
        assert!(errors_at(&config(with(Value::Null, None, u), Value::Null)).is_empty());
        assert!(errors_at(&config(Value::Null, Value::Null)).is_empty());
        assert_eq!(
            errors_at(&config(with(pass(), Some(1), u), Value::Null)),
            ["encryption.secret_uuid"]
        );
        assert_eq!(
            errors_at(&config(with(Value::Null, None, None), Value::Null)),
            ["encryption.passphrase_wo"]
        );
        assert_eq!(
            errors_at(&config(with(pass(), None, None), Value::Null)),
            ["encryption.passphrase_wo_version"]
        );
        assert_eq!(
            errors_at(&config(with(Value::Null, Some(1), u), Value::Null)),
            ["encryption.passphrase_wo_version"]
        );
        let image = Value::object([("path", Value::from("/tmp/x.img"))]);
        assert_eq!(errors_at(&config(with(pass(), Some(1), None), image)), ["source"]);
    }

    #[test]
    fn the_passphrase_is_never_shown_by_debug() {
        let e = Encryption {
            format: "luks".into(),
            passphrase_wo: Some("hunter2-s3cret".into()),
            passphrase_wo_version: Some(1),
            secret_uuid: None,
        };
        let shown = format!("{e:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<hidden>"), "{shown}");
    }

    #[test]
    fn secret_uuids_are_checked() {
        assert!(validate_uuid("675f09f9-ce67-4ba6-bc7f-4614de90d640").is_ok());
        assert!(validate_uuid("675f09f9ce674ba6bc7f4614de90d640").is_err());
        assert!(validate_uuid("675f09f9-ce67-4ba6-bc7f-4614de90d64g").is_err());
    }

    #[test]
    fn the_format_is_luks_only() {
        let b = encryption_block();
        let format = b.attributes.iter().find(|a| a.name == "format").expect("format");
        let mut d = Diagnostics::new();
        format.check(&attr("format"), &Value::from("qcow"), &mut d);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].attribute, Some(attr("format")));
        assert!(d.0[0].detail.contains("luks"), "{}", d.0[0].detail);
    }
}
