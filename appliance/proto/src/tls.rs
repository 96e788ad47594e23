//! TLS 1.3 with raw public keys (RFC 7250) on both sides: no certificates,
//! no authorities — the box and each host are their Ed25519 keys, pinned
//! like SSH host keys.
//!
//! The box asks every client for its key and checks that the client holds
//! it (the handshake signature), but lets an unknown key finish the
//! handshake: the request layer then refuses and logs everything it asks,
//! which is how pairing shows a stranger's key without giving it anything.
//! The host accepts only the fingerprint it pinned at pairing (or, while
//! pairing, any key, which the operator then confirms).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    verify_tls13_signature_with_raw_key, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{
    CertificateDer, PrivatePkcs8KeyDer, ServerName, SubjectPublicKeyInfoDer, UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, Error, PeerIncompatible, SignatureScheme};

use crate::keys::{Fingerprint, Identity, PublicKey};

/// The one crypto provider both sides use: ring, with TLS 1.3's AES-128-GCM
/// preferred (128-bit security, and the cheapest per byte with AES-NI, which
/// matters when a 2 GB session crosses a 2-core box).
fn provider() -> Arc<CryptoProvider> {
    use rustls::crypto::ring::cipher_suite::{
        TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384, TLS13_CHACHA20_POLY1305_SHA256,
    };
    Arc::new(CryptoProvider {
        cipher_suites: vec![
            TLS13_AES_128_GCM_SHA256,
            TLS13_AES_256_GCM_SHA384,
            TLS13_CHACHA20_POLY1305_SHA256,
        ],
        ..rustls::crypto::ring::default_provider()
    })
}

/// `identity` as the raw-public-key "certificate" TLS sends.
fn certified(identity: &Identity) -> Result<Arc<CertifiedKey>, Error> {
    let der = PrivatePkcs8KeyDer::from(identity.pkcs8().to_vec());
    let key = rustls::crypto::ring::sign::any_eddsa_type(&der)?;
    Ok(Arc::new(CertifiedKey::new(
        vec![CertificateDer::from(identity.public().spki())],
        key,
    )))
}

/// The key a peer presented, from its raw-public-key "certificate".
pub fn peer_key(presented: &CertificateDer<'_>) -> Option<PublicKey> {
    PublicKey::from_spki(presented.as_ref())
}

/// Checks the TLS 1.3 handshake signature against the presented key: proof
/// that the peer holds the private half.
fn verify_signature(
    algorithms: &WebPkiSupportedAlgorithms,
    message: &[u8],
    presented: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, Error> {
    verify_tls13_signature_with_raw_key(
        message,
        &SubjectPublicKeyInfoDer::from(presented.as_ref()),
        dss,
        algorithms,
    )
}

fn not_ed25519() -> Error {
    Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
}

/// The box's TLS configuration: its key, TLS 1.3 only, every client must
/// present an Ed25519 key it holds.
pub fn server_config(identity: &Identity) -> Result<Arc<rustls::ServerConfig>, Error> {
    let provider = provider();
    let verifier = Arc::new(AnyClientKey {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(
            rustls::server::AlwaysResolvesServerRawPublicKeys::new(certified(identity)?),
        ));
    Ok(Arc::new(config))
}

/// What the host expects of the box's key.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Exactly this fingerprint (a paired box).
    Pinned(Fingerprint),
    /// Either of these (the two units of a main/backup pair, at its control
    /// address: whichever unit is main answers there).
    EitherOf(Fingerprint, Fingerprint),
    /// Any key (pairing): the operator confirms the one the connection
    /// reports ([`crate::Welcome::box_key`]).
    Any,
}

/// A host's TLS configuration: its key, TLS 1.3 only, the box's key as
/// `expect` says.
pub fn client_config(
    identity: &Identity,
    expect: Expect,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = provider();
    let verifier = Arc::new(PinnedBox {
        expect,
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(
            rustls::client::AlwaysResolvesClientRawPublicKeys::new(certified(identity)?),
        ));
    Ok(Arc::new(config))
}

/// The name the host gives TLS: raw public keys carry no names, so any
/// fixed one does.
pub fn server_name() -> ServerName<'static> {
    ServerName::try_from("cuebox").expect("a valid DNS name")
}

/// The signature half both verifiers share: TLS 1.3 only, Ed25519 only,
/// checked against the raw key presented (a `self.algorithms` field).
macro_rules! raw_key_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            Err(PeerIncompatible::Tls12NotOffered.into())
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_signature(&self.algorithms, message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            vec![SignatureScheme::ED25519]
        }

        fn requires_raw_public_keys(&self) -> bool {
            true
        }
    };
}

#[derive(Debug)]
struct AnyClientKey {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientKey {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        // Who it is decides what it may do, later; here only that it is a key.
        peer_key(end_entity).ok_or_else(not_ed25519)?;
        Ok(ClientCertVerified::assertion())
    }

    raw_key_signatures!();
}

#[derive(Debug)]
struct PinnedBox {
    expect: Expect,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedBox {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let key = peer_key(end_entity).ok_or_else(not_ed25519)?;
        match &self.expect {
            Expect::Pinned(fp) if key.fingerprint() == *fp => {}
            Expect::EitherOf(a, b) if [a, b].contains(&&key.fingerprint()) => {}
            Expect::Pinned(_) | Expect::EitherOf(..) => {
                return Err(Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ))
            }
            Expect::Any => {}
        }
        Ok(ServerCertVerified::assertion())
    }

    raw_key_signatures!();
}
