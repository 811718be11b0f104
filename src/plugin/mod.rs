//! Being a go-plugin: handshake, private Unix socket, AutoMTLS, gRPC services.

pub mod convert;
pub mod log;
pub mod server;
pub mod tls;

use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::proto::plugin as gp;
use crate::proto::tfplugin6::provider_server::ProviderServer;

/// The cookie Terraform sets so a plugin knows it was started by Terraform.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Its value for Terraform providers.
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// The plugin protocol version we serve.
pub const PROTOCOL_VERSION: u32 = 6;
/// The provider address used in reattach lines.
pub const DEFAULT_ADDRESS: &str = "registry.terraform.io/libvirt-lvm/libvirt";

/// Why serving failed before or during the handshake.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Terraform offered only protocol versions we do not speak.
    #[error("Terraform offered plugin protocol versions {0:?}; this provider speaks protocol 6 only (Terraform 1.0 or newer)")]
    Protocol(String),
    /// Socket or directory trouble.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// TLS setup.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> PluginError {
    move |source| PluginError::Io { what, source }
}

/// How to serve.
pub enum Mode {
    /// Started by Terraform: handshake line on stdout, AutoMTLS if asked.
    Terraform,
    /// Started by a developer: no TLS, print a TF_REATTACH_PROVIDERS line.
    Debug {
        /// The provider source address to put in the line.
        address: String,
    },
}

/// Checks the protocol versions Terraform offers (`PLUGIN_PROTOCOL_VERSIONS`).
pub fn negotiate(offered: Option<&str>) -> Result<u32, PluginError> {
    match offered {
        // go-plugin without the variable means the app's default: ours.
        None => Ok(PROTOCOL_VERSION),
        Some(list) if list.split(',').any(|v| v.trim() == PROTOCOL_VERSION.to_string()) => {
            Ok(PROTOCOL_VERSION)
        }
        Some(list) => Err(PluginError::Protocol(list.to_string())),
    }
}

/// The async runtime to serve on: one thread. Terraform sends at most `-parallelism` requests at
/// a time, each needing a fraction of a millisecond of CPU here, and libvirt's blocking calls run
/// on tokio's blocking pool, off this thread. A multi-thread runtime spent a third more CPU per
/// request, in wakeups and work stealing between its threads, on the same two cores Terraform
/// needs (plan of 1000 on the benchmarks' plugin floor: 400 ms against 280 ms, twice the context
/// switches), and starting its worker threads cost start-up time.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Serves until Terraform calls GRPCController.Shutdown (or, in debug mode, Ctrl-C).
pub async fn serve(mode: Mode) -> Result<(), PluginError> {
    serve_resources(mode, crate::resources::all()).await
}

/// [`serve`], with `resources` in place of the provider's own resource types (see
/// [`server::ProviderService::with_resources`]): the benchmarks' plugin floor.
// Over 100 lines on purpose: one arm per protocol call, forwarding to the framework.
pub async fn serve_resources(
    mode: Mode,
    resources: Vec<Box<dyn crate::framework::resource::AnyResource<crate::provider::Ctx>>>,
) -> Result<(), PluginError> {
    let version = match mode {
        Mode::Terraform => negotiate(std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok().as_deref())?,
        Mode::Debug { .. } => PROTOCOL_VERSION,
    };

    // A fresh private directory (0700) holds the socket; it goes away on exit.
    let dir = tempfile::Builder::new()
        .prefix("tf-libvirt-")
        .tempdir()
        .map_err(io("creating the socket directory"))?;
    set_private(dir.path())?;
    let socket: PathBuf = dir.path().join("plugin.sock");
    let listener = UnixListener::bind(&socket).map_err(io("binding the plugin socket"))?;
    // The directory already keeps others out; the socket itself is closed to them too
    // (bind leaves it at 0777 minus the umask, typically 0755).
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
            .map_err(io("securing the plugin socket"))?;
    }

    let tls = match (&mode, std::env::var("PLUGIN_CLIENT_CERT")) {
        (Mode::Terraform, Ok(pem)) if !pem.trim().is_empty() => Some(tls::server_config(&pem)?),
        _ => None,
    };
    let cert_b64 = tls
        .as_ref()
        .map(|t| base64::engine::general_purpose::STANDARD_NO_PAD.encode(&t.cert_der))
        .unwrap_or_default();

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let provider = server::ProviderService::with_resources(resources);
    let incoming = accept_loop(listener, tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config)));

    match &mode {
        Mode::Terraform => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "1|{version}|unix|{}|grpc|{cert_b64}", socket.display())
                .and_then(|_| out.flush())
                .map_err(io("writing the handshake line"))?;
        }
        Mode::Debug { address } => {
            let reattach = serde_json::json!({
                address.as_str(): {
                    "Protocol": "grpc",
                    "ProtocolVersion": version,
                    "Pid": std::process::id(),
                    "Test": true,
                    "Addr": {"Network": "unix", "String": socket.display().to_string()},
                }
            });
            println!("Provider started in debug mode. To attach Terraform, set this in the shell you run terraform from:\n");
            println!("\tTF_REATTACH_PROVIDERS='{reattach}'\n");
            println!("Stop it with Ctrl-C.");
        }
    }
    tracing::debug!(socket = %socket.display(), tls = !cert_b64.is_empty(), "serving");

    let debug = matches!(mode, Mode::Debug { .. });
    let signals = async move {
        // Terraform forwards Ctrl-C to the whole process group; a provider
        // keeps running and lets Terraform stop it (StopProvider, Shutdown).
        let Ok(mut int) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) else {
            return std::future::pending().await;
        };
        loop {
            int.recv().await;
            if debug {
                return;
            }
            tracing::debug!("ignoring SIGINT; Terraform will stop the provider");
        }
    };
    let requested = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let server = tonic::transport::Server::builder()
        .add_service(ProviderServer::new(provider).max_decoding_message_size(256 << 20))
        .add_service(gp::grpc_controller_server::GrpcControllerServer::new(Controller(
            shutdown_tx,
        )))
        .add_service(gp::grpc_stdio_server::GrpcStdioServer::new(Stdio))
        .add_service(gp::grpc_broker_server::GrpcBrokerServer::new(Broker))
        .serve_with_incoming_shutdown(incoming, {
            let rx = shutdown_rx.clone();
            async move {
                tokio::select! {
                    _ = requested(rx) => {}
                    _ = signals => {}
                }
            }
        });
    // A graceful shutdown waits for clients to close their connections;
    // Terraform may keep its own open, so give them a moment, then exit.
    tokio::select! {
        result = server => result?,
        _ = async {
            requested(shutdown_rx).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        } => tracing::debug!("clients still connected after Shutdown; exiting anyway"),
    }
    drop(dir);
    Ok(())
}

fn set_private(path: &std::path::Path) -> Result<(), PluginError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(io("securing the socket directory"))
}

/// How long to wait after a failed `accept` before the next: errors such as EMFILE (out of file
/// descriptors) persist until something else closes a descriptor, and retrying at once would spin
/// a core and flood the log. Doubles from 5 ms to 1 s; a successful accept resets it.
#[derive(Debug)]
struct AcceptBackoff(Option<std::time::Duration>);

impl AcceptBackoff {
    const FIRST: std::time::Duration = std::time::Duration::from_millis(5);
    const MAX: std::time::Duration = std::time::Duration::from_secs(1);

    /// The wait after one more failure.
    fn failed(&mut self) -> std::time::Duration {
        let next = self.0.map_or(Self::FIRST, |d| (d * 2).min(Self::MAX));
        self.0 = Some(next);
        next
    }

    fn succeeded(&mut self) {
        self.0 = None;
    }
}

/// Accepts connections; TLS handshakes run concurrently so a slow or hostile
/// client cannot block the next one. Refused handshakes are dropped here.
fn accept_loop(
    listener: UnixListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> ReceiverStream<Result<Conn, std::io::Error>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut backoff = AcceptBackoff(None);
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => {
                    backoff.succeeded();
                    s
                }
                Err(e) => {
                    let wait = backoff.failed();
                    tracing::warn!("accept on the plugin socket failed: {e}; trying again in {wait:?}");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            let tx = tx.clone();
            match &tls {
                None => {
                    if tx.send(Ok(Conn::Plain(stream))).await.is_err() {
                        return;
                    }
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        match acceptor.accept(stream).await {
                            Ok(s) => {
                                let _ = tx.send(Ok(Conn::Tls(Box::new(s)))).await;
                            }
                            Err(e) => tracing::warn!("refused a connection at the TLS layer: {e}"),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

/// A plugin connection, with or without TLS.
pub enum Conn {
    /// Debug mode.
    Plain(UnixStream),
    /// AutoMTLS.
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

struct Controller(watch::Sender<bool>);

#[tonic::async_trait]
impl gp::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(
        &self,
        _: tonic::Request<gp::Empty>,
    ) -> Result<tonic::Response<gp::Empty>, tonic::Status> {
        tracing::debug!("GRPCController.Shutdown: exiting");
        let _ = self.0.send(true);
        Ok(tonic::Response::new(gp::Empty {}))
    }
}

/// We never write to stdout after the handshake, so the stream stays empty
/// (and open, as go-plugin expects).
struct Stdio;

type Pending<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, tonic::Status>> + Send>>;

#[tonic::async_trait]
impl gp::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = Pending<gp::StdioData>;
    async fn stream_stdio(
        &self,
        _: tonic::Request<()>,
    ) -> Result<tonic::Response<Self::StreamStdioStream>, tonic::Status> {
        Ok(tonic::Response::new(Box::pin(tokio_stream::pending())))
    }
}

/// Terraform opens the broker stream; providers never broker connections.
struct Broker;

#[tonic::async_trait]
impl gp::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = Pending<gp::ConnInfo>;
    async fn start_stream(
        &self,
        _: tonic::Request<tonic::Streaming<gp::ConnInfo>>,
    ) -> Result<tonic::Response<Self::StartStreamStream>, tonic::Status> {
        Ok(tonic::Response::new(Box::pin(tokio_stream::pending())))
    }
}

#[cfg(test)]
mod tests {
    use super::AcceptBackoff;
    use std::time::Duration;

    #[test]
    fn accept_failures_back_off_and_recover() {
        let mut b = AcceptBackoff(None);
        let waits: Vec<Duration> = (0..10).map(|_| b.failed()).collect();
        assert_eq!(waits[0], Duration::from_millis(5));
        assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
        assert_eq!(*waits.last().unwrap_or(&Duration::ZERO), Duration::from_secs(1));
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(5));
    }
}
