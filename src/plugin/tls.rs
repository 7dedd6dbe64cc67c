//! AutoMTLS: go-plugin's mutual TLS between Terraform and the provider.
//!
//! Terraform passes its client certificate (ECDSA P-521, self-signed,
//! CA:TRUE) in `PLUGIN_CLIENT_CERT`; we answer with a fresh self-signed
//! server certificate whose DER goes into the handshake line. Only a client
//! presenting exactly Terraform's certificate, and proving it holds the key,
//! gets through.
//!
//! The client verifier is ours because webpki's stock verifier refuses a
//! CA:TRUE certificate as an end entity, and ring cannot verify P-521: the
//! signatures are checked with the aws-lc-rs provider.

use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{aws_lc_rs, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

/// Environment variable holding Terraform's client certificate (PEM).
pub const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// How far back the server certificate's validity starts, to tolerate a
/// client clock slightly behind ours.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);
/// The server certificate's lifetime (the process's lifetime is what counts).
const LIFETIME: time::Duration = time::Duration::days(365 * 10);

/// A freshly generated server identity.
pub struct ServerIdentity {
    /// The self-signed certificate, DER (what the handshake line carries).
    pub cert_der: CertificateDer<'static>,
    /// Its private key, PKCS#8 DER.
    pub key_der: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("cert_der", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

/// Generates an ECDSA P-256 key and a self-signed certificate for
/// "localhost" (CN and SAN), with the serverAuth and clientAuth EKUs.
pub fn generate_server_identity() -> anyhow::Result<ServerIdentity> {
    use rcgen::{
        CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
        PKCS_ECDSA_P256_SHA256,
    };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating server key")?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + LIFETIME;
    let cert = params
        .self_signed(&key)
        .context("self-signing server certificate")?;
    Ok(ServerIdentity {
        cert_der: cert.der().clone(),
        key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
    })
}

/// Parses the first certificate of a PEM text (Terraform's `PLUGIN_CLIENT_CERT`).
pub fn parse_client_cert(pem: &str) -> anyhow::Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| anyhow!("{CLIENT_CERT_KEY} holds no usable PEM certificate: {e}"))
}

/// Accepts exactly one client certificate (byte-for-byte) and checks the
/// handshake signatures made with its key through aws-lc-rs.
#[derive(Debug)]
pub struct PinnedClientCertVerifier {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCertVerifier {
    /// A verifier pinning `pinned`, checking signatures with `provider`'s
    /// algorithms.
    pub fn new(pinned: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        Self {
            pinned,
            algorithms: provider.signature_verification_algorithms,
        }
    }

    fn check_pinned(&self, cert: &CertificateDer<'_>) -> Result<(), Error> {
        if cert.as_ref() == self.pinned.as_ref() {
            Ok(())
        } else {
            Err(Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        // Terraform sends its self-signed certificate alone; anything else
        // is not Terraform.
        if !intermediates.is_empty() {
            return Err(Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ));
        }
        self.check_pinned(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.check_pinned(cert)?;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.check_pinned(cert)?;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The server side of AutoMTLS, ready to accept connections.
pub struct AutoMtls {
    /// The server configuration (TLS 1.2+, ALPN h2, pinned client cert).
    pub config: Arc<ServerConfig>,
    /// The server certificate DER, for the handshake line.
    pub server_cert_der: CertificateDer<'static>,
}

impl AutoMtls {
    /// Builds the server configuration for a host whose client certificate
    /// is `client_cert_pem`, with a freshly generated server identity.
    pub fn new(client_cert_pem: &str) -> anyhow::Result<Self> {
        let pinned = parse_client_cert(client_cert_pem)?;
        let identity = generate_server_identity()?;
        let provider = Arc::new(aws_lc_rs::default_provider());
        let verifier = Arc::new(PinnedClientCertVerifier::new(pinned, &provider));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .context("TLS protocol versions")?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![identity.cert_der.clone()],
                PrivateKeyDer::Pkcs8(identity.key_der),
            )
            .context("server certificate")?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            server_cert_der: identity.cert_der,
        })
    }

    /// [`AutoMtls::new`] from `PLUGIN_CLIENT_CERT`, or `None` when the host
    /// did not ask for TLS.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        match std::env::var(CLIENT_CERT_KEY) {
            Ok(pem) if !pem.trim().is_empty() => Self::new(&pem).map(Some),
            _ => Ok(None),
        }
    }
}

impl std::fmt::Debug for AutoMtls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoMtls").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_identity_is_localhost_ee() {
        let id = generate_server_identity().unwrap();
        // A self-signed leaf that webpki accepts as end entity for "localhost"
        // when it is its own trust anchor (what a Go client does).
        let mut roots = rustls::RootCertStore::empty();
        roots.add(id.cert_der.clone()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(aws_lc_rs::default_provider()),
        )
        .build()
        .unwrap();
        use rustls::client::danger::ServerCertVerifier as _;
        verifier
            .verify_server_cert(
                &id.cert_der,
                &[],
                &rustls_pki_types::ServerName::try_from("localhost").unwrap(),
                &[],
                UnixTime::now(),
            )
            .unwrap();
    }

    #[test]
    fn bad_pem_is_an_error() {
        assert!(AutoMtls::new("not a certificate").is_err());
    }

    #[test]
    fn pinning() {
        let a = generate_server_identity().unwrap().cert_der;
        let b = generate_server_identity().unwrap().cert_der;
        let v = PinnedClientCertVerifier::new(a.clone(), &aws_lc_rs::default_provider());
        assert!(v.client_auth_mandatory());
        assert!(v.offer_client_auth());
        assert!(v.verify_client_cert(&a, &[], UnixTime::now()).is_ok());
        assert!(v.verify_client_cert(&b, &[], UnixTime::now()).is_err());
        assert!(v
            .verify_client_cert(&a, std::slice::from_ref(&b), UnixTime::now())
            .is_err());
        assert!(v
            .supported_verify_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }
}
