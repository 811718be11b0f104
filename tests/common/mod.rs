//! A plugin client that starts the built provider exactly as Terraform does:
//! magic cookie, protocol versions, a P-521 client certificate (Terraform's
//! kind), the handshake line on stdout, then gRPC over TLS on the Unix socket.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use terraform_provider_libvirt::framework::{msgpack, Type, Value};
use terraform_provider_libvirt::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_libvirt::proto::tfplugin6 as pb;
use terraform_provider_libvirt::proto::tfplugin6::provider_client::ProviderClient;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint};

/// A client certificate and its key, as Terraform makes them (ECDSA P-521, SHA-512).
pub struct ClientIdentity {
    pub pem: String,
    pub der: Vec<u8>,
    pub key_der: Vec<u8>,
}

pub fn client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).expect("cert");
    ClientIdentity {
        pem: cert.pem(),
        der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// A running provider process.
pub struct Plugin {
    pub child: Child,
    pub socket: String,
    pub server_cert: Vec<u8>,
    pub handshake: String,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A killed provider cannot remove its private socket directory; it would stay in /tmp.
        remove_socket_dir(&self.socket);
    }
}

/// Removes the directory holding a killed provider's socket (`/tmp/tf-libvirt-*/plugin.sock`),
/// and nothing else.
pub fn remove_socket_dir(socket: &str) {
    let Some(dir) = std::path::Path::new(socket).parent() else {
        return;
    };
    let ours = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("tf-libvirt-"));
    if ours {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The provider binary Cargo built for this crate's tests. Only the provider crate's own tests have
/// one; other crates (acceptance-tests) start a binary they found with [`start_binary`].
pub fn binary() -> &'static str {
    option_env!("CARGO_BIN_EXE_terraform-provider-libvirt").unwrap_or_else(|| {
        panic!(
            "no CARGO_BIN_EXE_terraform-provider-libvirt: only the provider crate's tests have it; \
             start another binary with common::start_binary"
        )
    })
}

/// Starts the provider with Terraform's environment.
pub fn start(identity: &ClientIdentity) -> Plugin {
    start_with(identity, &[], Stdio::inherit())
}

/// Starts the provider with Terraform's environment plus `env`, its stderr going to `stderr`.
pub fn start_with(identity: &ClientIdentity, env: &[(&str, &str)], stderr: Stdio) -> Plugin {
    start_binary(binary(), identity, env, stderr)
}

/// Starts the provider binary at `path` with Terraform's environment plus `env`.
pub fn start_binary(
    path: impl AsRef<std::ffi::OsStr>,
    identity: &ClientIdentity,
    env: &[(&str, &str)],
    stderr: Stdio,
) -> Plugin {
    let mut child = Command::new(path)
        .envs(env.iter().copied())
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", &identity.pem)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("provider starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("handshake line");
    let handshake = line.trim_end().to_string();
    let parts: Vec<&str> = handshake.split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line {handshake:?}");
    assert_eq!(&parts[..3], ["1", "6", "unix"], "handshake line {handshake:?}");
    assert_eq!(parts[4], "grpc");
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(parts[5])
        .expect("base64 cert");
    Plugin {
        child,
        socket: parts[3].to_string(),
        server_cert,
        handshake,
    }
}

/// Trusts exactly one server certificate, as go-plugin does.
#[derive(Debug)]
struct PinnedServer(Vec<u8>, rustls::crypto::WebPkiSupportedAlgorithms);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("unexpected server certificate".into()))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.1)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.1)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.1.supported_schemes()
    }
}

/// TLS client settings: with a client certificate or without one.
pub fn tls_config(server_cert: &[u8], identity: Option<&ClientIdentity>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let algs = provider.signature_verification_algorithms;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(server_cert.to_vec(), algs)));
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(id.der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
            )
            .expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// A gRPC channel over TLS on the plugin's Unix socket.
pub async fn channel(
    socket: &str,
    tls: Arc<rustls::ClientConfig>,
) -> Result<Channel, tonic::transport::Error> {
    let socket = socket.to_string();
    Endpoint::try_from("http://localhost")?
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            let tls = tls.clone();
            async move {
                let stream = UnixStream::connect(&socket).await?;
                let connector = tokio_rustls::TlsConnector::from(tls);
                let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                let tls_stream = connector.connect(name, stream).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls_stream))
            }
        }))
        .await
}

pub async fn provider_client(p: &Plugin, id: &ClientIdentity) -> ProviderClient<Channel> {
    ProviderClient::new(
        channel(&p.socket, tls_config(&p.server_cert, Some(id)))
            .await
            .expect("channel"),
    )
}

pub async fn controller_client(p: &Plugin, id: &ClientIdentity) -> GrpcControllerClient<Channel> {
    GrpcControllerClient::new(
        channel(&p.socket, tls_config(&p.server_cert, Some(id)))
            .await
            .expect("channel"),
    )
}

// ------------------------------------------------------------------------------------------------
// Values on the wire

/// `v` as the msgpack DynamicValue Terraform sends.
pub fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: msgpack::encode(v, ty).expect("encode"),
        json: vec![],
    })
}

/// The value in a DynamicValue the provider sent.
pub fn undv(d: Option<&pb::DynamicValue>, ty: &Type) -> Value {
    msgpack::decode(&d.expect("a value").msgpack, ty).expect("decode")
}

/// An object of type `ty`: the attributes in `set`, every other one null.
pub fn obj(ty: &Type, set: &[(&str, Value)]) -> Value {
    let Type::Object(fields) = ty else {
        panic!("object type")
    };
    Value::object(fields.keys().map(|k| {
        let v = set
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null);
        (k.clone(), v)
    }))
}

/// The error diagnostics, as "summary: detail".
pub fn errors(d: &[pb::Diagnostic]) -> Vec<String> {
    d.iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}

/// The cty type of a schema block: its attributes, and each nested block as an object.
pub fn block_type(block: &pb::schema::Block) -> Type {
    let attrs = |b: &pb::schema::Block| -> Vec<(String, Type)> {
        b.attributes
            .iter()
            .map(|a| (a.name.clone(), Type::from_json_bytes(&a.r#type).expect("type")))
            .collect()
    };
    let mut fields = attrs(block);
    for b in &block.block_types {
        fields.push((
            b.type_name.clone(),
            Type::object(attrs(b.block.as_ref().expect("block"))),
        ));
    }
    Type::object(fields)
}

/// The state type of the resource `name`, from GetProviderSchema's answer.
pub fn schema_type(resp: &pb::get_provider_schema::Response, name: &str) -> Type {
    block_type(resp.resource_schemas[name].block.as_ref().expect("block"))
}
