//! The serving certificate: the operator's files, or a self-signed certificate made on first
//! start and kept in the data dir, whose SHA-256 fingerprint agents pin.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no usable PEM private key: {message}")]
    BadKey { path: PathBuf, message: String },
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not form a usable TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// What the server presents, ready for axum-server.
#[derive(Debug)]
pub struct ServingCertificate {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the end-entity certificate's DER, as `AB:CD:...`.
    pub fingerprint: String,
    /// Where the certificate came from, for the start-up message.
    pub certificate_path: PathBuf,
}

/// The files under the data dir that hold the self-signed certificate.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("collector.crt"), dir.join("collector.key"))
}

/// Loads `cert`/`key` when given, else the self-signed pair in `data_dir`, making it first if
/// it does not exist yet.
pub fn serving_certificate(
    data_dir: &Path,
    files: Option<(&Path, &Path)>,
) -> Result<ServingCertificate, TlsError> {
    let (cert_path, key_path) = match files {
        Some((cert, key)) => (cert.to_path_buf(), key.to_path_buf()),
        None => {
            let (cert, key) = self_signed_paths(data_dir);
            if !cert.exists() || !key.exists() {
                write_self_signed(&cert, &key)?;
            }
            (cert, key)
        }
    };
    let chain = read_chain(&cert_path)?;
    let key = read_key(&key_path)?;
    let fingerprint = fingerprint(&chain[0]);
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServingCertificate {
        config: Arc::new(config),
        fingerprint,
        certificate_path: cert_path,
    })
}

/// `AB:CD:...`: the SHA-256 of a certificate's DER, the form agents pin.
pub fn fingerprint(certificate: &CertificateDer<'_>) -> String {
    let digest = Sha256::digest(certificate.as_ref());
    let mut out = String::with_capacity(95);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{byte:02X}");
    }
    out
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&text)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|error| TlsError::BadKey {
        path: path.to_path_buf(),
        message: error.to_string(),
    })
}

/// A certificate for the names a collector on this host is reached by: its host name,
/// `localhost` and the loopback addresses. Agents pin its fingerprint, so the names matter less
/// than with a public CA, but rustls still checks them.
fn write_self_signed(cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Ok(host) = fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_string());
        }
    }
    let certified = rcgen::generate_simple_self_signed(names)?;
    let dir = cert_path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    write_private(key_path, certified.signing_key.serialize_pem().as_bytes())?;
    fs::write(cert_path, certified.cert.pem()).map_err(|source| TlsError::Write {
        path: cert_path.to_path_buf(),
        source,
    })?;
    tracing::info!(certificate = %cert_path.display(), "made a self-signed certificate");
    Ok(())
}

/// Writes a secret readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let write_error = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(write_error)?;
    io::Write::write_all(&mut file, bytes).map_err(write_error)?;
    file.sync_all().map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_is_made_once_and_reused() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tempdir");
        let first = serving_certificate(dir.path(), None).expect("made");
        let second = serving_certificate(dir.path(), None).expect("loaded");
        assert_eq!(first.fingerprint, second.fingerprint);
        assert_eq!(first.fingerprint.len(), 95, "{}", first.fingerprint);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let (_, key) = self_signed_paths(dir.path());
            let mode = fs::metadata(key).expect("key").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_files_are_named() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("c.pem");
        let key = dir.path().join("k.pem");
        fs::write(&cert, "not a certificate").expect("write");
        fs::write(&key, "not a key").expect("write");
        let error = serving_certificate(dir.path(), Some((&cert, &key))).expect_err("refused");
        assert!(
            error.to_string().contains("c.pem holds no PEM certificate"),
            "{error}"
        );
        let missing = serving_certificate(dir.path(), Some((&dir.path().join("none.pem"), &key)))
            .expect_err("refused");
        assert!(missing.to_string().starts_with("cannot read"), "{missing}");
    }
}
