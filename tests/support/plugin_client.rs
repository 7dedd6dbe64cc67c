//! A go-plugin client in miniature, for tests and the handshake benchmark:
//! a Terraform-like client certificate, spawning the provider and reading
//! its handshake line, and a gRPC channel over the unix socket with mutual
//! TLS. Include it with `#[path = ".../support/plugin_client.rs"] mod ...;`.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use rustls::crypto::aws_lc_rs;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tonic::transport::{Channel, Endpoint, Uri};

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client identity like the one Terraform generates for AutoMTLS: ECDSA
/// P-521, self-signed, CA:TRUE, CN/SAN localhost, clientAuth+serverAuth.
pub struct ClientIdentity {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key_der: PrivatePkcs8KeyDer<'static>,
}

impl ClientIdentity {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_der.clone_key())
    }
}

pub fn terraform_like_client_cert() -> ClientIdentity {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P521_SHA512,
    };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "HashiCorp");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::seconds(30);
    params.not_after = now + time::Duration::days(30);
    let cert = params.self_signed(&key).expect("self-signed cert");
    ClientIdentity {
        cert_pem: cert.pem(),
        cert_der: cert.der().clone(),
        key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

/// The handshake line's fields.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub core_version: u32,
    pub protocol_version: u32,
    pub network: String,
    pub address: PathBuf,
    pub protocol: String,
    pub server_cert_der: Option<Vec<u8>>,
}

pub fn parse_handshake(line: &str) -> Result<Handshake, String> {
    let parts: Vec<&str> = line.trim_end_matches(['\r', '\n']).splitn(6, '|').collect();
    if parts.len() != 6 {
        return Err(format!(
            "handshake line has {} fields: {line:?}",
            parts.len()
        ));
    }
    let number = |s: &str| s.parse::<u32>().map_err(|e| format!("{s:?}: {e}"));
    let server_cert_der = if parts[5].is_empty() {
        None
    } else {
        Some(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(parts[5])
                .map_err(|e| format!("cert field is not base64 std no-pad: {e}"))?,
        )
    };
    Ok(Handshake {
        core_version: number(parts[0])?,
        protocol_version: number(parts[1])?,
        network: parts[2].to_owned(),
        address: PathBuf::from(parts[3]),
        protocol: parts[4].to_owned(),
        server_cert_der,
    })
}

/// The provider binary under test: `PROVIDER_BIN` wins, else the one Cargo
/// built for this test run.
pub fn provider_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PROVIDER_BIN") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-privatelink"))
}

/// A running provider process whose handshake line has been read.
pub struct Plugin {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
    pub line: String,
    pub handshake: Handshake,
    /// From just before spawn to the handshake line being read.
    pub startup: Duration,
}

/// How a test wants the provider started.
pub struct Launch<'a> {
    pub bin: PathBuf,
    pub client: Option<&'a ClientIdentity>,
    pub protocol_versions: Option<&'a str>,
    pub env: Vec<(&'a str, &'a str)>,
    pub stderr: Stdio,
}

impl<'a> Launch<'a> {
    /// Like Terraform: cookie, PLUGIN_PROTOCOL_VERSIONS=5 and, with a
    /// client identity, PLUGIN_CLIENT_CERT. Logs off, stderr discarded.
    pub fn new(bin: PathBuf, client: Option<&'a ClientIdentity>) -> Self {
        Self {
            bin,
            client,
            protocol_versions: Some("5"),
            env: Vec::new(),
            stderr: Stdio::null(),
        }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .env_remove("PLUGIN_CLIENT_CERT")
            .env_remove("PLUGIN_PROTOCOL_VERSIONS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(v) = self.protocol_versions {
            cmd.env("PLUGIN_PROTOCOL_VERSIONS", v);
        }
        if let Some(c) = self.client {
            cmd.env("PLUGIN_CLIENT_CERT", &c.cert_pem);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Spawns the provider and reads its handshake line.
    pub fn spawn(mut self) -> Result<Plugin, String> {
        let mut cmd = self.command();
        cmd.stderr(std::mem::replace(&mut self.stderr, Stdio::null()));
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", self.bin.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let startup = started.elapsed();
        match read {
            Ok(n) if n > 0 => {}
            other => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no handshake line: {other:?}"));
            }
        }
        let handshake = parse_handshake(&line)?;
        Ok(Plugin {
            child,
            stdout,
            line,
            handshake,
            startup,
        })
    }
}

impl Plugin {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A TLS channel presenting `client` (or no certificate).
    pub async fn tls_channel(&self, client: Option<&ClientIdentity>) -> Result<Channel, BoxError> {
        let cert = self
            .handshake
            .server_cert_der
            .as_deref()
            .ok_or("the handshake line carries no server certificate")?;
        tls_unix_channel(&self.handshake.address, cert, client).await
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // A killed plugin cannot remove its private socket directory
        // (`plugin*` in the temp dir); one that exited cleanly already did.
        if let Some(dir) = self.handshake.address.parent() {
            if dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("plugin"))
            {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

/// Resident memory of `pid` in KiB (VmRSS from /proc).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A client TLS configuration like go-plugin's: trusts exactly
/// `server_cert_der`, TLS 1.2+, ALPN h2, presenting `client` if given.
pub fn tls_client_config(
    server_cert_der: &[u8],
    client: Option<&ClientIdentity>,
) -> Result<Arc<rustls::ClientConfig>, BoxError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedServerCert {
        pinned: server_cert_der.to_vec(),
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client {
        Some(c) => builder.with_client_auth_cert(vec![c.cert_der.clone()], c.key())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Trusts exactly the certificate of the handshake line, as go-plugin's
/// client does, and checks the handshake signatures. Go SDK providers send
/// a CA:TRUE certificate, which webpki refuses as an end entity, so the
/// stock verifier cannot talk to them.
#[derive(Debug)]
struct PinnedServerCert {
    pinned: Vec<u8>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for PinnedServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_slice() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A gRPC channel to the unix socket at `socket`, over mutual TLS.
pub async fn tls_unix_channel(
    socket: &Path,
    server_cert_der: &[u8],
    client: Option<&ClientIdentity>,
) -> Result<Channel, BoxError> {
    let config = tls_client_config(server_cert_der, client)?;
    let socket = socket.to_path_buf();
    let connector = tower::service_fn(move |_: Uri| {
        let config = Arc::clone(&config);
        let socket = socket.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(&socket).await?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(ServerName::try_from("localhost")?, stream)
                .await?;
            Ok::<_, BoxError>(TokioIo::new(tls))
        }
    });
    let channel = Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect_with_connector(connector)
        .await?;
    Ok(channel)
}

/// A plaintext gRPC channel to the unix socket at `socket` (debug mode).
pub async fn plain_unix_channel(socket: &Path) -> Result<Channel, BoxError> {
    let socket = socket.to_path_buf();
    let connector = tower::service_fn(move |_: Uri| {
        let socket = socket.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(&socket).await?;
            Ok::<_, BoxError>(TokioIo::new(stream))
        }
    });
    Ok(Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect_with_connector(connector)
        .await?)
}
