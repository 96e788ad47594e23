//! Keys, fingerprints and who may do what: the box's and each host's
//! Ed25519 identity, SSH-style fingerprints, the box's authorized hosts
//! with their roles, and the boxes a host has paired with.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

/// Why a key, an authorized-hosts file or a known-boxes file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file could not be read or written.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A key file does not hold an Ed25519 PKCS#8 key.
    #[error("{} is not an Ed25519 private key (PKCS#8); move it away and a new key is made", path.display())]
    BadPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// The system's random source failed.
    #[error("cannot generate a key: the system random source failed")]
    Random,
    /// A public key in text form is malformed.
    #[error("{0:?} is not a public key: write it as 'ed25519:' followed by 44 base64 characters (hostctl key prints it)")]
    BadPublicKey(String),
    /// A role name is unknown.
    #[error("{0:?} is not a role: use view, control or edit")]
    BadRole(String),
    /// A line of the authorized-hosts file is malformed.
    #[error("{}:{line}: {reason}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A known-boxes file is not valid JSON of the expected shape.
    #[error("{}: {reason}; fix or remove it and pair again", path.display())]
    BadKnownBoxes {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A long-term Ed25519 key pair: a box's or a host's identity.
pub struct Identity {
    pkcs8: Vec<u8>,
    public: PublicKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the private key.
        f.debug_struct("Identity")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Random)?;
        Self::from_pkcs8(pkcs8.as_ref().to_vec()).ok_or(KeyError::Random)
    }

    fn from_pkcs8(pkcs8: Vec<u8>) -> Option<Self> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).ok()?;
        let public = PublicKey(pair.public_key().as_ref().try_into().ok()?);
        Some(Identity { pkcs8, public })
    }

    /// Reads the key at `path`, or makes one there (readable by its owner
    /// only) if there is none. The flag says whether it was made now.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        let io = |what| {
            move |source| KeyError::Io {
                what,
                path: path.to_owned(),
                source,
            }
        };
        match std::fs::read(path) {
            Ok(bytes) => Self::from_pkcs8(bytes)
                .map(|id| (id, false))
                .ok_or_else(|| KeyError::BadPrivateKey {
                    path: path.to_owned(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = Self::generate()?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io("create the folder of"))?;
                }
                // Written to a temporary file and renamed, so a crash never
                // leaves half a key; create_new so a racing writer fails.
                let tmp = path.with_extension("new");
                let _ = std::fs::remove_file(&tmp);
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&tmp)
                    .map_err(io("create"))?;
                f.write_all(&id.pkcs8).map_err(io("write"))?;
                f.sync_all().map_err(io("sync"))?;
                std::fs::rename(&tmp, path).map_err(io("install"))?;
                Ok((id, true))
            }
            Err(e) => Err(io("read")(e)),
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// The private key as PKCS#8 DER, for the TLS signer.
    pub(crate) fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }
}

/// An Ed25519 public key. Written `ed25519:<base64>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicKey([u8; 32]);

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the key's
/// 32 bytes follow it.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl PublicKey {
    /// The key as a DER SubjectPublicKeyInfo: what TLS raw public keys carry.
    pub fn spki(&self) -> Vec<u8> {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        der
    }

    /// The key in a DER SubjectPublicKeyInfo, if it is an Ed25519 one.
    pub fn from_spki(der: &[u8]) -> Option<Self> {
        let key = der.strip_prefix(&SPKI_PREFIX[..])?;
        Some(PublicKey(key.try_into().ok()?))
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.spki());
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Fingerprint(bytes)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ed25519:{}", STANDARD.encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::BadPublicKey(s.to_owned());
        let b64 = s.strip_prefix("ed25519:").ok_or_else(bad)?;
        let bytes = STANDARD.decode(b64).map_err(|_| bad())?;
        Ok(PublicKey(bytes.try_into().map_err(|_| bad())?))
    }
}

impl TryFrom<String> for PublicKey {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        s.parse()
    }
}

impl From<PublicKey> for String {
    fn from(k: PublicKey) -> String {
        k.to_string()
    }
}

/// The SHA-256 of a public key's SubjectPublicKeyInfo, written like
/// OpenSSH's: `SHA256:<base64 without padding>`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint([u8; 32]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHA256:{}", STANDARD_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl FromStr for Fingerprint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("{s:?} is not a fingerprint: write it as 'SHA256:' followed by 43 base64 characters")
        };
        let b64 = s.strip_prefix("SHA256:").ok_or_else(bad)?;
        let bytes = STANDARD_NO_PAD.decode(b64).map_err(|_| bad())?;
        Ok(Fingerprint(bytes.try_into().map_err(|_| bad())?))
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.to_string()
    }
}

/// What an authorized host may do. Each role includes the ones before it,
/// like QLab's passcode levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read status, sessions and logs.
    View,
    /// Also run the show: go, stop, fade, panic, pages.
    Control,
    /// Also change the box: push and activate sessions, lock, authorize hosts.
    Edit,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::View => "view",
            Role::Control => "control",
            Role::Edit => "edit",
        })
    }
}

impl FromStr for Role {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        match s {
            "view" => Ok(Role::View),
            "control" => Ok(Role::Control),
            "edit" => Ok(Role::Edit),
            _ => Err(KeyError::BadRole(s.to_owned())),
        }
    }
}

/// One host the box lets in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorizedHost {
    /// Its role.
    pub role: Role,
    /// Its key.
    pub key: PublicKey,
    /// A name for people (the rest of the line).
    pub comment: String,
}

/// The box's authorized hosts: a text file like SSH's `authorized_keys`,
/// one `ROLE KEY [COMMENT]` per line, `#` starting a comment line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizedHosts {
    /// The hosts, in file order.
    pub hosts: Vec<AuthorizedHost>,
}

impl AuthorizedHosts {
    /// Reads the file; a missing file authorizes nobody.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(KeyError::Io {
                what: "read",
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses the file's text; errors name the line.
    pub fn parse(text: &str, path: &Path) -> Result<Self, KeyError> {
        let mut hosts = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: String| KeyError::BadLine {
                path: path.to_owned(),
                line: i + 1,
                reason,
            };
            let mut words = line.splitn(3, char::is_whitespace);
            let role = words.next().unwrap_or_default();
            let role: Role = role.parse().map_err(|e: KeyError| bad(e.to_string()))?;
            let key = words
                .next()
                .ok_or_else(|| bad("a key must follow the role".into()))?;
            let key: PublicKey = key.parse().map_err(|e: KeyError| bad(e.to_string()))?;
            let comment = words.next().unwrap_or_default().trim().to_owned();
            hosts.push(AuthorizedHost { role, key, comment });
        }
        Ok(AuthorizedHosts { hosts })
    }

    /// The role of `key`, if it is authorized.
    pub fn role(&self, key: &PublicKey) -> Option<Role> {
        self.hosts.iter().find(|h| h.key == *key).map(|h| h.role)
    }

    /// Adds or updates a host (a known key gets the new role and comment).
    pub fn set(&mut self, host: AuthorizedHost) {
        match self.hosts.iter_mut().find(|h| h.key == host.key) {
            Some(h) => *h = host,
            None => self.hosts.push(host),
        }
    }

    /// Removes a host; says whether it was there.
    pub fn remove(&mut self, key: &PublicKey) -> bool {
        let before = self.hosts.len();
        self.hosts.retain(|h| h.key != *key);
        self.hosts.len() != before
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut text = String::from(
            "# cuebox authorized hosts: ROLE KEY [COMMENT]; roles view, control, edit\n",
        );
        for h in &self.hosts {
            text.push_str(&format!("{} {} {}\n", h.role, h.key, h.comment));
        }
        text
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        write_atomic(path, self.to_text().as_bytes())
    }
}

/// A box a host has paired with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownBox {
    /// The name the host calls it by.
    pub name: String,
    /// Where it listens (`host:port`).
    pub address: String,
    /// The fingerprint confirmed at pairing.
    pub fingerprint: Fingerprint,
    /// When the address is a main/backup pair's control address: the other
    /// unit's fingerprint (whichever unit is main answers there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub or_fingerprint: Option<Fingerprint>,
}

impl KnownBox {
    /// What a connection to it expects of the key that answers.
    pub fn expect(&self) -> crate::tls::Expect {
        match self.or_fingerprint {
            Some(other) => crate::tls::Expect::EitherOf(self.fingerprint, other),
            None => crate::tls::Expect::Pinned(self.fingerprint),
        }
    }
}

/// The boxes a host trusts: a JSON file in the host's configuration folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownBoxes {
    /// The boxes, by name.
    pub boxes: Vec<KnownBox>,
}

impl KnownBoxes {
    /// Reads the file; a missing file knows no boxes.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| KeyError::BadKnownBoxes {
                path: path.to_owned(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(KeyError::Io {
                what: "read",
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("known boxes serialize");
        bytes.push(b'\n');
        write_atomic(path, &bytes)
    }

    /// The box called `name`, or listening at `name` as an address.
    pub fn find(&self, name: &str) -> Option<&KnownBox> {
        self.boxes
            .iter()
            .find(|b| b.name == name)
            .or_else(|| self.boxes.iter().find(|b| b.address == name))
    }

    /// Adds a box or replaces the one of the same name.
    pub fn set(&mut self, known: KnownBox) {
        match self.boxes.iter_mut().find(|b| b.name == known.name) {
            Some(b) => *b = known,
            None => self.boxes.push(known),
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            what: "create the folder of",
            path: path.to_owned(),
            source,
        })?;
    }
    cuebox_session::store::write_atomic(path, bytes).map_err(|e| KeyError::Io {
        what: "write",
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_text_and_spki() {
        let id = Identity::generate().unwrap();
        let key = id.public();
        assert_eq!(key.to_string().parse::<PublicKey>().unwrap(), key);
        assert_eq!(PublicKey::from_spki(&key.spki()), Some(key));
        let fp = key.fingerprint();
        assert_eq!(fp.to_string().parse::<Fingerprint>().unwrap(), fp);
        assert!(fp.to_string().starts_with("SHA256:"));
        assert_eq!(fp.to_string().len(), 7 + 43);
        assert_ne!(Identity::generate().unwrap().public(), key);
    }

    #[test]
    fn a_key_is_made_once_and_read_back_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/box.key");
        let (a, made) = Identity::load_or_create(&path).unwrap();
        assert!(made);
        let (b, made) = Identity::load_or_create(&path).unwrap();
        assert!(!made);
        assert_eq!(a.public(), b.public());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the private key is readable by its owner only"
        );
        std::fs::write(&path, b"not a key").unwrap();
        let e = Identity::load_or_create(&path).unwrap_err();
        assert!(e.to_string().contains("not an Ed25519 private key"), "{e}");
    }

    #[test]
    fn authorized_hosts_parse_with_roles_and_precise_errors() {
        let a = Identity::generate().unwrap().public();
        let b = Identity::generate().unwrap().public();
        let text = format!("# comment\n\nedit {a} sound desk laptop\nview {b}\n");
        let hosts = AuthorizedHosts::parse(&text, Path::new("auth")).unwrap();
        assert_eq!(hosts.role(&a), Some(Role::Edit));
        assert_eq!(hosts.role(&b), Some(Role::View));
        assert_eq!(hosts.hosts[0].comment, "sound desk laptop");
        assert_eq!(
            AuthorizedHosts::parse(&hosts.to_text(), Path::new("x")).unwrap(),
            hosts
        );
        assert!(Role::Edit > Role::Control && Role::Control > Role::View);

        let e = AuthorizedHosts::parse(&format!("edit {a}\nadmin {b}\n"), Path::new("auth"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "auth:2: \"admin\" is not a role: use view, control or edit"
        );
        let e = AuthorizedHosts::parse("control ed25519:abc", Path::new("auth")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("auth:1: \"ed25519:abc\" is not a public key"),
            "{e}"
        );
    }
}
