//! libvirt secrets holding the passphrases of LUKS-encrypted volumes.
//!
//! A secret the provider defines is private (libvirt never hands its value back), persistent,
//! and used for the volume at one path (`<usage type='volume'>`): libvirt allows one such secret
//! per path, and a domain's disk finds it by UUID. The value is sent once, right after the
//! definition, in the same piece of work; it is never logged (libvirt's own debug output prints
//! only its size, and the value is registered with [`super::debuglog`] besides).

use std::sync::Arc;

use virt::connect::Connect;

use super::conn::{Connection, Gate};
use super::debuglog;
use super::error::{during, not_found_to_none, Code, Error, Result};
use super::xml;

/// `VIR_SECRET_USAGE_TYPE_VOLUME`.
const USAGE_VOLUME: i32 = 1;

/// A secret as libvirt reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretInfo {
    /// Its UUID.
    pub uuid: String,
    /// `VIR_SECRET_USAGE_TYPE_*` (1 for a volume's passphrase).
    pub usage_type: u32,
    /// What it is used for: for a volume secret, the volume's path.
    pub usage_id: String,
}

impl SecretInfo {
    /// Whether this is a volume secret, the kind libvirt accepts for a LUKS volume.
    pub fn is_volume_secret(&self) -> bool {
        self.usage_type == USAGE_VOLUME as u32
    }
}

fn info(s: &virt::secret::Secret, object: &str) -> Result<SecretInfo> {
    let op = "read secret";
    Ok(SecretInfo {
        uuid: s.uuid_string().map_err(during(op, object))?,
        usage_type: s.usage_type().map_err(during(op, object))?,
        usage_id: usage_id(s).map_err(during(op, object))?,
    })
}

/// `virSecretGetUsageID`, copied. Not virt 0.5's `Secret::usage_id`: it frees the string, which
/// libvirt owns (the function returns `const char *`, freed with the secret), so the secret's own
/// free then freed it a second time and glibc aborted the provider ("free(): double free detected
/// in tcache 2", on the lab: the import of an encrypted volume, and any read of a `secret_uuid`).
fn usage_id(s: &virt::secret::Secret) -> std::result::Result<String, virt::error::Error> {
    // SAFETY: `s` is a live secret we hold a reference to; the returned string belongs to it and
    // stays valid while it does, and is copied before this function returns. Never freed here.
    let p = unsafe { virt_sys::virSecretGetUsageID(s.as_ptr()) };
    if p.is_null() {
        return Err(virt::error::Error::last_error());
    }
    // SAFETY: libvirt returns a NUL-terminated string (checked non-null above).
    Ok(unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned())
}

fn lookup(c: &Connect, uuid: &str) -> Result<Option<virt::secret::Secret>> {
    not_found_to_none(
        c.lookup_secret_by_uuid_string(uuid)
            .map_err(during("look up secret", uuid.to_string())),
    )
}

impl Connection {
    /// The secret with this UUID, or None when there is none.
    pub async fn secret(&self, uuid: &str) -> Result<Option<SecretInfo>> {
        let uuid = uuid.to_string();
        self.read("look up secret", &uuid.clone(), move |c| {
            lookup(c, &uuid)?.map(|s| info(&s, &uuid)).transpose()
        })
        .await
    }

    /// The volume secret libvirt holds for the volume at `path`, or None.
    pub async fn volume_secret(&self, path: &str) -> Result<Option<SecretInfo>> {
        let path = path.to_string();
        self.read("look up secret", &format!("for volume {path}"), move |c| {
            let found = not_found_to_none(
                c.lookup_secret_by_usage(USAGE_VOLUME, &path)
                    .map_err(during("look up secret", path.clone())),
            )?;
            found.map(|s| info(&s, &path)).transpose()
        })
        .await
    }

    /// The passphrase secret of the LUKS volume at `path`, or None for a volume that is not one,
    /// in one piece of work: the one the volume's XML names or, since libvirt's logical backend
    /// forgets the encryption of its volumes at every pool refresh, the volume secret libvirt
    /// holds for the path (the usage of the secrets a libvirt_lvm_volume defines).
    pub async fn volume_encryption_secret(&self, path: &str) -> Result<Option<String>> {
        let path = path.to_string();
        self.read("read volume encryption", &path.clone(), move |c| {
            let op = "read volume encryption";
            let vol = not_found_to_none(
                c.lookup_storage_vol_by_path(&path)
                    .map_err(during(op, path.clone())),
            )?;
            if let Some(v) = vol {
                let doc = v.xml_desc(0).map_err(during(op, path.clone()))?;
                let named = xml::volume_encryption_secret(&doc).map_err(|source| Error::Xml {
                    object: format!("volume {path}"),
                    source,
                })?;
                if named.is_some() {
                    return Ok(named);
                }
            }
            let found = match c
                .lookup_secret_by_usage(USAGE_VOLUME, &path)
                .map_err(during("look up secret", path.clone()))
            {
                // A connection without a secret driver (libvirt's test driver) holds no secret.
                Err(e) if e.code() == Some(Code::Unsupported) => return Ok(None),
                other => not_found_to_none(other)?,
            };
            Ok(found
                .map(|s| info(&s, &path))
                .transpose()?
                .filter(SecretInfo::is_volume_secret)
                .map(|s| s.uuid))
        })
        .await
    }

    /// Defines a private, persistent secret for the volume at `path` and sets its value to
    /// `passphrase`; returns its UUID. When the value cannot be set, the secret just defined is
    /// undefined again, so a failure leaves nothing behind. Refused by libvirt when a secret for
    /// that path exists already.
    pub async fn define_volume_secret(&self, path: &str, passphrase: &str) -> Result<String> {
        debuglog::register(&[passphrase.to_string()]);
        let doc = xml::volume_secret_xml(path).map_err(|source| Error::Xml {
            object: format!("secret for {path}"),
            source,
        })?;
        let value: Arc<Vec<u8>> = Arc::new(passphrase.as_bytes().to_vec());
        let object = format!("for volume {path}");
        self.change("define secret", &object.clone(), move |c, gate: &Gate| {
            gate.send()?;
            let s = c
                .define_secret_xml(&doc, 0)
                .map_err(during("define secret", object.clone()))?;
            let uuid = s.uuid_string().map_err(during("define secret", object.clone()))?;
            if let Err(e) = s.set_value(&value, 0) {
                let e = Error::libvirt("set secret value", uuid.clone(), e);
                // Best effort: the secret holds no value, and the error says what failed.
                let _ = s.undefine();
                return Err(e);
            }
            Ok(uuid)
        })
        .await
    }

    /// Undefines the secret with this UUID; false when it was already gone.
    pub async fn undefine_secret(&self, uuid: &str) -> Result<bool> {
        let uuid = uuid.to_string();
        self.change("undefine secret", &uuid.clone(), move |c, gate: &Gate| {
            let Some(s) = lookup(c, &uuid)? else {
                return Ok(false);
            };
            gate.send()?;
            s.undefine().map_err(during("undefine secret", uuid.clone()))?;
            Ok(true)
        })
        .await
    }
}
