//! Logged-in browsers: a random token in a Secure, HttpOnly, SameSite=Strict
//! cookie names a session holding its role and its CSRF token (which the
//! page sends back in a header with every request that changes anything).
//! Bounded: the least recently used session makes room for a new one, and
//! one idle for [`IDLE`] is gone.

use std::time::{Duration, Instant};

use hashlink::LinkedHashMap;
use ring::rand::{SecureRandom, SystemRandom};

use crate::api::keys::Role;

/// Sessions at once.
const MAX: usize = 256;
/// A session unused this long ends (a show day).
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// The cookie's name.
pub const COOKIE: &str = "cuebox";

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// What its passcode allows.
    pub role: Role,
    /// The token its state-changing requests carry.
    pub csrf: String,
    last: Instant,
}

/// The sessions, least recently used first.
#[derive(Debug, Default)]
pub struct Sessions {
    by_token: LinkedHashMap<String, Session>,
}

impl Sessions {
    /// A new session for `role`: its cookie token and itself.
    pub fn open(&mut self, role: Role, now: Instant) -> (String, Session) {
        while self.by_token.len() >= MAX {
            self.by_token.pop_front();
        }
        let token = random_token();
        let session = Session {
            role,
            csrf: random_token(),
            last: now,
        };
        self.by_token.insert(token.clone(), session.clone());
        (token, session)
    }

    /// The session `token` names, if it is live (and now used).
    pub fn get(&mut self, token: &str, now: Instant) -> Option<Session> {
        let session = self.by_token.to_back(token)?;
        if now.saturating_duration_since(session.last) > IDLE {
            self.by_token.remove(token);
            return None;
        }
        session.last = now;
        Some(session.clone())
    }

    /// Ends the session `token` names.
    pub fn close(&mut self, token: &str) {
        self.by_token.remove(token);
    }
}

/// 32 random bytes, hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `a` and `b` are equal, in a time that does not depend on where
/// they differ (passcodes, CSRF tokens).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The session token in a `Cookie` header, if any.
pub fn token_in(cookie: &str) -> Option<&str> {
    cookie
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The `Set-Cookie` value for `token` (empty: the cookie cleared).
pub fn set_cookie(token: &str) -> String {
    let age = if token.is_empty() { 0 } else { IDLE.as_secs() };
    format!("{COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={age}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_bounded_and_end_when_idle() {
        let mut s = Sessions::default();
        let t0 = Instant::now();
        let (first, session) = s.open(Role::Control, t0);
        assert_eq!(first.len(), 64);
        assert_ne!(first, session.csrf);
        assert_eq!(s.get(&first, t0).unwrap().role, Role::Control);
        for _ in 0..MAX {
            s.open(Role::View, t0);
        }
        assert!(s.get(&first, t0).is_none(), "the oldest made room");
        let (t, _) = s.open(Role::Edit, t0);
        assert!(s.get(&t, t0 + IDLE + Duration::from_secs(1)).is_none());
        assert!(s.get(&t, t0).is_none(), "an idle session is gone");
    }

    #[test]
    fn the_cookie_is_secure_and_found_among_others() {
        assert_eq!(token_in("a=1; cuebox=abc; b=2"), Some("abc"));
        assert_eq!(token_in("cueboxx=1"), None);
        let c = set_cookie("abc");
        assert!(c.contains("Secure; HttpOnly; SameSite=Strict"), "{c}");
        assert!(same(b"1234", b"1234") && !same(b"1234", b"1235") && !same(b"1", b"12"));
    }
}
