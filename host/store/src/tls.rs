//! TLS to a PostgreSQL server (rustls), with `sslmode` read as libpq reads it:
//!
//! - `disable`: plain TCP; `prefer` (the default): TLS when the server offers it; `require`: TLS
//!   or no connection. In these modes the server's certificate is not checked (libpq's meaning:
//!   encrypted, not authenticated), unless a root certificate is given, which makes `require`
//!   `verify-ca` as in libpq.
//! - `verify-ca`: the certificate must chain to the root certificate (`sslrootcert`, or
//!   `~/.postgresql/root.crt`); `verify-full`: and name the host.

use crate::error::{Result, StoreError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;

/// What the URL and the environment ask of the connection's security.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub mode: TlsMode,
    pub root_cert: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    pub(crate) fn parse(text: &str) -> Option<TlsMode> {
        Some(match text {
            "disable" => TlsMode::Disable,
            "prefer" | "allow" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => return None,
        })
    }

    /// The mode the driver negotiates with (it knows no verification modes: those are ours).
    pub(crate) fn driver_mode(self) -> postgres::config::SslMode {
        match self {
            TlsMode::Disable => postgres::config::SslMode::Disable,
            TlsMode::Prefer => postgres::config::SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => postgres::config::SslMode::Require,
        }
    }
}

/// ring, although rustls marks it deprecated for lacking post-quantum key exchange: the other
/// provider, aws-lc-rs, needs cmake and a much longer build.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The connector for a connection with these settings.
pub(crate) fn connector(settings: &TlsSettings, shown: &std::path::Path) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let bad = |reason: String| StoreError::BadLocation { location: shown.display().to_string(), reason };
    let default_root = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".postgresql/root.crt")).filter(|p| p.exists());
    let root = settings.root_cert.clone().or(default_root);
    let mode = match (settings.mode, &root) {
        (TlsMode::Require, Some(_)) => TlsMode::VerifyCa,
        (mode, _) => mode,
    };
    let provider = provider();
    let builder =
        rustls::ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().map_err(|e| bad(format!("TLS: {e}")))?;
    let config = match mode {
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Unverified(provider))).with_no_client_auth()
        }
        TlsMode::VerifyCa | TlsMode::VerifyFull => {
            let Some(root) = root else {
                return Err(bad(format!(
                    "sslmode={} needs the server's root certificate: sslrootcert=FILE in the URL, PGSSLROOTCERT, or ~/.postgresql/root.crt",
                    if mode == TlsMode::VerifyCa { "verify-ca" } else { "verify-full" }
                )));
            };
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(&root).map_err(|e| bad(format!("cannot read {}: {e}", root.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| bad(format!("cannot read {}: {e}", root.display())))?;
                roots.add(cert).map_err(|e| bad(format!("{}: {e}", root.display())))?;
            }
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| bad(format!("{}: {e}", root.display())))?;
            let verifier: Arc<dyn ServerCertVerifier> = if mode == TlsMode::VerifyCa { Arc::new(AnyName(verifier)) } else { verifier };
            builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Accepts any certificate (the handshake's signatures are still checked): libpq's `require`.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A full verification that lets a certificate for another name pass: libpq's `verify-ca`.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
