//! Errors of the libvirt layer: every variant names what we were doing.

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
        /// libvirt's error code.
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
    /// Connection-level failure (RPC, system error, auth).
    Connection,
    /// The connection died while the call was under way: whether it took
    /// effect on the hypervisor is unknown (set by [`super::Connection::run`]).
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

    /// Whether this says the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::Libvirt {
                code: Code::NotFound,
                ..
            }
        )
    }

    /// Whether the connection died while this operation was under way, so
    /// that it may or may not have taken effect on the hypervisor.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            Error::Libvirt {
                code: Code::ConnectionLost,
                ..
            }
        )
    }

    /// libvirt's message, when this is a libvirt error.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Libvirt { message, .. } => Some(message),
            _ => None,
        }
    }

    /// libvirt refused because another job on the same pool is running
    /// ("pool 'x' has asynchronous jobs running"): nothing was done, so the
    /// call may be repeated.
    pub fn is_busy(&self) -> bool {
        self.message().is_some_and(|m| {
            m.contains("asynchronous jobs running") || m.contains("is still being allocated")
        })
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
            Error::Xml { object, .. } | Error::Stopped { object, .. } => scrub(object),
            Error::Library(_) => {}
        }
        self
    }
}

/// `map_err` helper: `pool.create(0).map_err(lv("start storage pool", &name))?`.
pub fn lv(op: &'static str, object: impl Into<String>) -> impl FnOnce(virt::error::Error) -> Error {
    let object = object.into();
    move |e| Error::libvirt(op, object, e)
}
