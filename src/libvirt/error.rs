//! Errors of the libvirt layer: every variant names what we were doing, and the questions the
//! resources ask of an error ("not found?", "busy?", "hotplug unsupported?") are answered here, so
//! no libvirt message text is matched anywhere else.

use virt::error::ErrorNumber;

/// Result of a libvirt-layer operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong talking to libvirt.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libvirt refused or failed an operation.
    #[error("{op} {object}: {message}")]
    Libvirt {
        /// What we asked libvirt to do ("define storage pool").
        op: &'static str,
        /// Which object ("'vg0'").
        object: String,
        /// libvirt's error code, classified.
        code: Code,
        /// libvirt's own message (credentials removed).
        message: String,
    },
    /// Opening the connection did not finish in time.
    #[error("connecting to {uri} did not finish within {seconds} s (connect_timeout): the hypervisor is unreachable or not answering")]
    ConnectTimeout {
        /// The URI, without credentials.
        uri: String,
        /// The timeout that passed.
        seconds: u64,
    },
    /// The libvirt client library is not installed (it is loaded at the first connection).
    #[error(transparent)]
    Library(#[from] super::loader::LoadError),
    /// A definition for libvirt could not be written from what was asked (never sent).
    #[error("writing the definition of {object}: {source}; nothing was changed")]
    Definition {
        /// Which object's definition.
        object: String,
        /// Why it cannot be written.
        #[source]
        source: super::xml::XmlError,
    },
    /// A document libvirt returned could not be understood.
    #[error("reading the XML of {object}: {source}")]
    Xml {
        /// Which object's XML.
        object: String,
        /// The parse error.
        #[source]
        source: super::xml::XmlError,
    },
    /// Terraform asked the provider to stop; no new libvirt work is started.
    #[error("the provider is stopping (Terraform sent StopProvider); {op} {object} was not started")]
    Stopped {
        /// The operation refused.
        op: &'static str,
        /// Its object.
        object: String,
    },
    /// A blocking libvirt call panicked or was cancelled (a bug in this provider).
    #[error("internal error during {op} {object}: {message}")]
    Internal {
        /// The operation.
        op: &'static str,
        /// Its object.
        object: String,
        /// What happened.
        message: String,
    },
}

/// The classes of libvirt error codes that the provider acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The object does not exist (no pool, volume or domain with that name/key/uuid).
    NotFound,
    /// The object is in a state where the operation is not allowed.
    OperationInvalid,
    /// The driver does not support the operation.
    Unsupported,
    /// Connection-level failure (RPC, system error, auth). A change that fails this way before
    /// its request was sent did nothing.
    Connection,
    /// The connection died after a change's request was sent and before its reply came: whether
    /// it took effect on the hypervisor is unknown (set by [`super::Connection`]'s `change`).
    ConnectionLost,
    /// Anything else.
    Other,
}

impl Code {
    fn of(e: &virt::error::Error) -> Code {
        use virt::enumutil::Enum;
        match e.code() {
            Enum::Known(
                ErrorNumber::NoStoragePool
                | ErrorNumber::NoStorageVolume
                | ErrorNumber::NoDomain
                | ErrorNumber::NoSecret
                | ErrorNumber::NoStorage,
            ) => Code::NotFound,
            Enum::Known(ErrorNumber::OperationInvalid) => Code::OperationInvalid,
            Enum::Known(ErrorNumber::NoSupport | ErrorNumber::OperationUnsupported) => Code::Unsupported,
            Enum::Known(
                ErrorNumber::Rpc
                | ErrorNumber::SystemError
                | ErrorNumber::AuthFailed
                | ErrorNumber::AuthCancelled
                | ErrorNumber::AuthUnavailable
                | ErrorNumber::NoConnect
                | ErrorNumber::InvalidConn
                | ErrorNumber::OperationTimeout,
            ) => Code::Connection,
            _ => Code::Other,
        }
    }
}

impl Error {
    /// Wraps a libvirt error with what we were doing.
    pub fn libvirt(op: &'static str, object: impl Into<String>, e: virt::error::Error) -> Self {
        Error::Libvirt {
            op,
            object: object.into(),
            code: Code::of(&e),
            message: e.message().to_string(),
        }
    }

    /// The class of a libvirt error (None for the provider's own errors).
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Libvirt { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether this says the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound)
    }

    /// Whether the connection died while this change was under way, so that it may or may not
    /// have taken effect on the hypervisor.
    pub fn is_connection_lost(&self) -> bool {
        self.code() == Some(Code::ConnectionLost)
    }

    /// libvirt's message, when this is a libvirt error.
    fn message(&self) -> Option<&str> {
        match self {
            Error::Libvirt { message, .. } => Some(message),
            _ => None,
        }
    }

    fn says(&self, needles: &[&str]) -> bool {
        self.message()
            .is_some_and(|m| needles.iter().any(|n| m.contains(n)))
    }

    /// libvirt refused because another job on the same pool is running ("pool 'x' has
    /// asynchronous jobs running", "volume 'y' is still being allocated"): nothing was done, so
    /// the call may be repeated.
    pub fn is_busy(&self) -> bool {
        self.says(&["asynchronous jobs running", "is still being allocated"])
    }

    /// The object already exists (a volume create that lost a race with another of its name).
    pub fn is_already_exists(&self) -> bool {
        self.says(&["exists already", "already exists"])
    }

    /// QEMU cannot hot-plug into the domain: "Bus 'pci.0' does not support hotplugging" (no ACPI).
    pub fn is_hotplug_unsupported(&self) -> bool {
        self.says(&["does not support hotplugging"])
    }

    /// The storage backend cannot resize volumes (libvirt's logical backend, 9.0 to 11.x).
    pub fn is_resize_unsupported(&self) -> bool {
        self.code() == Some(Code::Unsupported) || self.says(&["does not support changing of volume capacity"])
    }

    /// libvirt's storage driver refuses a capacity below the volume's allocation ("can't shrink
    /// capacity below existing allocation"), before its backend is asked: a fully allocated
    /// (plain) LV can never be shrunk through libvirt.
    pub fn is_shrink_below_allocation(&self) -> bool {
        self.says(&["can't shrink capacity below existing allocation"])
    }

    /// The driver does not know the flags it was given (the test driver's pool build); it refuses
    /// before doing anything.
    pub(super) fn is_unsupported_flags(&self) -> bool {
        self.says(&["unsupported flags"])
    }

    /// Removes every occurrence of the given secrets from messages.
    pub(crate) fn redact(mut self, secrets: &[String]) -> Self {
        let scrub = |s: &mut String| {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), "***");
                }
            }
        };
        match &mut self {
            Error::Libvirt { object, message, .. } => {
                scrub(object);
                scrub(message);
            }
            Error::Internal { object, message, .. } => {
                scrub(object);
                scrub(message);
            }
            Error::ConnectTimeout { uri, .. } => scrub(uri),
            Error::Xml { object, .. } | Error::Definition { object, .. } | Error::Stopped { object, .. } => {
                scrub(object)
            }
            Error::Library(_) => {}
        }
        self
    }
}

/// `map_err` helper naming the operation: `pool.create(0).map_err(during("start storage pool", &name))?`.
pub fn during(op: &'static str, object: impl Into<String>) -> impl FnOnce(virt::error::Error) -> Error {
    let object = object.into();
    move |e| Error::libvirt(op, object, e)
}

/// `Ok(None)` for "not found", so a lookup can tell "gone" from "could not ask".
pub fn not_found_to_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn libvirt(code: Code, message: &str) -> Error {
        Error::Libvirt {
            op: "op",
            object: "'x'".into(),
            code,
            message: message.into(),
        }
    }

    #[test]
    fn classification() {
        let cases: &[(Error, [bool; 5])] = &[
            // not_found, busy, exists, hotplug, resize
            (
                libvirt(Code::NotFound, "no storage vol with matching key"),
                [true, false, false, false, false],
            ),
            (
                libvirt(Code::OperationInvalid, "pool 'p' has asynchronous jobs running."),
                [false, true, false, false, false],
            ),
            (
                libvirt(Code::OperationInvalid, "volume 'v' is still being allocated."),
                [false, true, false, false, false],
            ),
            (
                libvirt(Code::Other, "storage volume 'v' exists already"),
                [false, false, true, false, false],
            ),
            (
                libvirt(
                    Code::Other,
                    "internal error: Bus 'pci.0' does not support hotplugging.",
                ),
                [false, false, false, true, false],
            ),
            (
                libvirt(
                    Code::Other,
                    "storage pool does not support changing of volume capacity",
                ),
                [false, false, false, false, true],
            ),
            (
                libvirt(Code::Unsupported, "this function is not supported"),
                [false, false, false, false, true],
            ),
            (
                libvirt(Code::Other, "anything else"),
                [false, false, false, false, false],
            ),
        ];
        for (e, [nf, busy, exists, hotplug, resize]) in cases {
            assert_eq!(e.is_not_found(), *nf, "{e}");
            assert_eq!(e.is_busy(), *busy, "{e}");
            assert_eq!(e.is_already_exists(), *exists, "{e}");
            assert_eq!(e.is_hotplug_unsupported(), *hotplug, "{e}");
            assert_eq!(e.is_resize_unsupported(), *resize, "{e}");
        }
        let shrink = libvirt(
            Code::Other,
            "invalid argument: can't shrink capacity below existing allocation",
        );
        assert!(shrink.is_shrink_below_allocation() && !shrink.is_resize_unsupported());
        assert!(!libvirt(Code::Other, "anything else").is_shrink_below_allocation());
        let own = Error::Stopped {
            op: "delete storage volume",
            object: "'v'".into(),
        };
        assert!(!own.is_not_found() && !own.is_busy() && own.code().is_none());
    }

    #[test]
    fn redaction_reaches_every_text() {
        let e =
            libvirt(Code::Other, "cannot reach qemu+tcp://u:hunter2@h/system").redact(&["hunter2".into()]);
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = Error::ConnectTimeout {
            uri: "qemu+tcp://u:hunter2@h/system".into(),
            seconds: 1,
        }
        .redact(&["hunter2".into()]);
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
