//! The page's TLS certificate: self-signed, made by the box at its first
//! start and kept (certificate and key, PEM, mode 0600) beside the API key
//! in `<root>/api/web.pem`, so its fingerprint stays the one the operator
//! checked once. Its SHA-256 fingerprint is printed when the page listens.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Reading or writing its file failed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a certificate and key this box made.
    #[error("{path} does not hold a certificate and its key ({detail}); move it away and the box makes a new one (its fingerprint changes)")]
    Bad {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// Making a certificate failed.
    #[error("cannot make the page's certificate: {0}")]
    Make(#[from] rcgen::Error),
}

/// The page's certificate, ready to serve.
pub struct Certificate {
    /// The TLS configuration serving it (HTTP/1.1).
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the certificate, as browsers show it (`AB:CD:…`).
    pub fingerprint: String,
    /// Whether it was made now.
    pub created: bool,
}

/// The names a box's certificate is made for: the box's `name` and the
/// loopback names (a browser warns of a self-signed certificate whatever
/// it names: the operator compares its fingerprint).
pub fn names(name: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
    ]
}

/// The certificate's file under the data root.
pub fn cert_path(root: &cuebox_session::store::DataRoot) -> PathBuf {
    root.path().join("api/web.pem")
}

/// Loads the certificate at `path`, or makes one (naming `names`: the box's
/// name and the addresses it answers on) and keeps it there.
pub fn load_or_create(path: &Path, names: Vec<String>) -> Result<Certificate, CertError> {
    let io = |what| {
        move |source| CertError::Io {
            what,
            path: path.to_owned(),
            source,
        }
    };
    let (pem, created) = match std::fs::read(path) {
        Ok(pem) => (pem, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let made = rcgen::generate_simple_self_signed(names)?;
            let pem = format!("{}{}", made.cert.pem(), made.key_pair.serialize_pem());
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io("create the folder of"))?;
            }
            let mut file = atomic_write_file::AtomicWriteFile::open(path).map_err(io("create"))?;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io("protect"))?;
            file.write_all(pem.as_bytes()).map_err(io("write"))?;
            file.commit().map_err(io("save"))?;
            (pem.into_bytes(), true)
        }
        Err(e) => return Err(io("read")(e)),
    };
    let bad = |detail: String| CertError::Bad {
        path: path.to_owned(),
        detail,
    };
    let cert = CertificateDer::from_pem_slice(&pem).map_err(|e| bad(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| bad(e.to_string()))?;
    let fingerprint = fingerprint(&cert);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
        .map_err(|e| bad(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Certificate {
        config: Arc::new(config),
        fingerprint,
        created,
    })
}

/// SHA-256 of a certificate, upper-case hex pairs joined by colons.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_made_once_kept_private_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api/web.pem");
        let made = load_or_create(&path, vec!["cuebox".into(), "127.0.0.1".into()]).unwrap();
        assert!(made.created);
        assert_eq!(made.fingerprint.len(), 32 * 3 - 1, "{}", made.fingerprint);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is the box's alone");
        let again = load_or_create(&path, vec!["other".into()]).unwrap();
        assert!(!again.created);
        assert_eq!(again.fingerprint, made.fingerprint);
        std::fs::write(&path, "not a certificate").unwrap();
        let e = load_or_create(&path, vec![]).err().unwrap().to_string();
        assert!(e.contains("move it away"), "{e}");
    }
}
