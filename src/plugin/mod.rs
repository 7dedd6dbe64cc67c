//! go-plugin's side of the contract: handshake, AutoMTLS, health, controller.
//!
//! [`serve`] runs a `tfplugin5.Provider` the way Terraform expects a plugin
//! to: a unix socket in a private temporary directory, the handshake line on
//! stdout, mutual TLS when Terraform asks for it (AutoMTLS), the health,
//! controller and stdio services beside the provider, SIGINT ignored (Ctrl-C
//! reaches us as the Stop RPC) and a prompt exit on the controller's Shutdown
//! or SIGTERM.

pub mod controller;
pub mod handshake;
pub mod tls;

use std::io::Write as _;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use crate::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::proto::tfplugin5::provider_server::{Provider, ProviderServer};
use controller::{Controller, ShutdownSignal, Stdio};

/// The provider's addresses, as `TF_REATTACH_PROVIDERS` names them:
/// `privatelink/privatelink` means the first under Terraform and the second
/// under OpenTofu, which each match the address exactly.
pub const PROVIDER_ADDRESSES: [&str; 2] = [
    "registry.terraform.io/privatelink/privatelink",
    "registry.opentofu.org/privatelink/privatelink",
];

/// Largest gRPC message accepted or sent (what Go plugin servers allow).
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// The health service name go-plugin clients ask about.
pub const HEALTH_SERVICE: &str = "plugin";

/// How long a client gets to complete its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long in-flight calls get to finish once shutdown is asked for
/// (Terraform kills the process after two seconds).
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Serves `provider` until the host calls `plugin.GRPCController/Shutdown`
/// or the process gets SIGTERM (or, with `debug`, SIGINT).
///
/// Without `debug` the caller has checked the magic cookie; the protocol is
/// negotiated from `PLUGIN_PROTOCOL_VERSIONS` and AutoMTLS is on when
/// `PLUGIN_CLIENT_CERT` is set. With `debug` the server is plaintext and
/// prints the `TF_REATTACH_PROVIDERS` value that attaches Terraform to it.
pub async fn serve<P, F>(make_provider: F, debug: bool) -> anyhow::Result<()>
where
    P: Provider,
    F: FnOnce() -> P + Send + 'static,
{
    // Building the provider (every schema) runs on another core while the
    // socket, the TLS identity and the handshake line are made: Terraform
    // is told where to connect sooner, and its first calls wait only for
    // what is left.
    let provider = tokio::task::spawn_blocking(make_provider);

    let protocol = if debug {
        handshake::PROTOCOL_VERSION
    } else {
        handshake::negotiate_protocol_from_env()?
    };

    // A private (0700) directory, removed when `dir` drops.
    let dir = tempfile::Builder::new()
        .prefix("plugin")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .context("creating the plugin socket directory")?;
    let socket = dir.path().join("plugin.sock");
    let listener = UnixListener::bind(&socket)
        .with_context(|| format!("listening on {}", socket.display()))?;

    let tls = if debug {
        None
    } else {
        tls::AutoMtls::from_env()?
    };

    let shutdown = ShutdownSignal::new();
    watch_signals(shutdown.clone(), debug)?;

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(HEALTH_SERVICE, tonic_health::ServingStatus::Serving)
        .await;

    let (conns_tx, conns_rx) = mpsc::channel::<PluginConn>(16);
    let acceptor = tls
        .as_ref()
        .map(|t| TlsAcceptor::from(Arc::clone(&t.config)));
    tokio::spawn(accept_loop(listener, acceptor, conns_tx));

    if debug {
        print_stdout(&debug_message(&socket))?;
    } else {
        let cert = tls.as_ref().map(|t| t.server_cert_der.as_ref());
        print_stdout(&format!(
            "{}\n",
            handshake::handshake_line(protocol, &socket, cert)
        ))?;
    }
    let provider = provider.await.context("building the provider")?;
    let router = tonic::transport::Server::builder()
        .add_service(
            ProviderServer::new(provider)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
        )
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(Controller::new(shutdown.clone())))
        .add_service(GrpcStdioServer::new(Stdio));

    tracing::debug!(
        socket = %socket.display(),
        tls = tls.is_some(),
        protocol,
        "plugin server listening"
    );

    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(conns_rx),
        Ok::<_, std::io::Error>,
    );
    let stop = shutdown.clone();
    let server = router.serve_with_incoming_shutdown(incoming, async move { stop.wait().await });
    tokio::pin!(server);
    let grace = async {
        shutdown.wait().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        res = &mut server => res.context("serving gRPC")?,
        () = grace => tracing::warn!("in-flight calls did not finish in time; exiting anyway"),
    }
    tracing::debug!("plugin server stopped");
    drop(dir);
    Ok(())
}

/// The text printed in debug mode.
fn debug_message(socket: &Path) -> String {
    let reattach = handshake::reattach_config(&PROVIDER_ADDRESSES, std::process::id(), socket);
    format!(
        "Provider started in debug mode. To attach Terraform to it, run in another shell:\n\
         \n\
         \texport TF_REATTACH_PROVIDERS='{reattach}'\n\
         \n\
         then run terraform (or tofu) there as usual. Press Ctrl-C here to stop the provider.\n"
    )
}

fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing the handshake to stdout")
}

/// SIGTERM stops the server; SIGINT does too in debug mode, and is ignored
/// otherwise (Terraform forwards Ctrl-C as the Stop RPC).
fn watch_signals(shutdown: ShutdownSignal, debug: bool) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => {
                    tracing::debug!("SIGTERM: stopping");
                    shutdown.trigger();
                }
                _ = int.recv() => {
                    if debug {
                        tracing::debug!("SIGINT: stopping");
                        shutdown.trigger();
                    } else {
                        tracing::trace!("SIGINT ignored: Terraform sends the Stop RPC instead");
                    }
                }
            }
        }
    });
    Ok(())
}

/// Accepts unix connections; with TLS, completes each handshake in its own
/// task so one bad or slow client never holds up or stops the others.
async fn accept_loop(
    listener: UnixListener,
    acceptor: Option<TlsAcceptor>,
    conns: mpsc::Sender<PluginConn>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // E.g. out of file descriptors: back off, keep serving.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        match &acceptor {
            None => {
                if conns.send(PluginConn::Plain(stream)).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let conns = conns.clone();
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    match handshake {
                        Ok(Ok(tls)) => {
                            let _ = conns.send(PluginConn::Tls(Box::new(tls))).await;
                        }
                        // A client that hangs up mid-handshake (Terraform 1.0's
                        // gRPC client redialling as the plugin exits) is no
                        // refusal worth a warning.
                        Ok(Err(e))
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::BrokenPipe
                                    | std::io::ErrorKind::ConnectionReset
                                    | std::io::ErrorKind::UnexpectedEof
                            ) =>
                        {
                            tracing::debug!(error = %e, "client left during the TLS handshake")
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "TLS handshake refused; connection dropped")
                        }
                        Err(_) => tracing::warn!("TLS handshake timed out; connection dropped"),
                    }
                });
            }
        }
    }
}

/// A client connection, plaintext (debug mode) or TLS (AutoMTLS).
enum PluginConn {
    Plain(UnixStream),
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

impl tonic::transport::server::Connected for PluginConn {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for PluginConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PluginConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            PluginConn::Plain(s) => s.is_write_vectored(),
            PluginConn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_flush(cx),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
