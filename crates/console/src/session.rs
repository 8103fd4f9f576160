//! Console sessions: a signed, expiring cookie, and the CSRF tokens bound to it.
//!
//! A session is `<access key id>.<Region>.<expiry>.<nonce>.<mac>`, where the MAC is HMAC-SHA256
//! under a key derived from the keyring's master key. Nothing is stored per session, so any hub
//! instance that shares the database (and so, necessarily, the master key that opens the stored
//! secrets) accepts a session that another instance issued. The access key is looked up again on
//! every request: revoking the key ends its sessions.

use findinghub_api::sigv4::hmac_sha256;
use subtle::ConstantTimeEq;

/// The session cookie.
pub const SESSION_COOKIE: &str = "fh_console";
/// The pre-session cookie that binds the sign-in form's CSRF token.
pub const SIGNIN_COOKIE: &str = "fh_console_signin";
/// How long a session lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub access_key_id: String,
    pub region: String,
    pub expires: i64,
    pub nonce: String,
}

/// Signs and checks sessions and CSRF tokens.
pub struct SessionKeys {
    key: [u8; 32],
}

fn mac(key: &[u8; 32], purpose: &str, data: &str) -> String {
    let message = format!("{purpose}\0{data}");
    hex::encode(hmac_sha256(key, message.as_bytes()).expect("HMAC takes keys of any length"))
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A random hex string (session and sign-in nonces).
pub fn random_nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// Access key ids and Regions travel inside the cookie: only characters that need no quoting.
fn cookie_safe(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl SessionKeys {
    pub fn new(key: [u8; 32]) -> SessionKeys {
        SessionKeys { key }
    }

    /// The cookie value of a session; `None` when the id or Region cannot travel in a cookie.
    pub fn issue(&self, session: &Session) -> Option<String> {
        if !cookie_safe(&session.access_key_id) || !cookie_safe(&session.region) || !cookie_safe(&session.nonce) {
            return None;
        }
        let payload = format!("{}.{}.{}.{}", session.access_key_id, session.region, session.expires, session.nonce);
        let tag = mac(&self.key, "session", &payload);
        Some(format!("{payload}.{tag}"))
    }

    /// The session of a cookie value, if its MAC is right and it has not expired at `now`.
    pub fn verify(&self, value: &str, now: i64) -> Option<Session> {
        let (payload, tag) = value.rsplit_once('.')?;
        if !equal(&mac(&self.key, "session", payload), tag) {
            return None;
        }
        let mut parts = payload.split('.');
        let (access_key_id, region, expires, nonce) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let expires: i64 = expires.parse().ok()?;
        if parts.next().is_some() || expires <= now {
            return None;
        }
        Some(Session {
            access_key_id: access_key_id.to_owned(),
            region: region.to_owned(),
            expires,
            nonce: nonce.to_owned(),
        })
    }

    /// The CSRF token of a session's forms.
    pub fn csrf_token(&self, session: &Session) -> String {
        mac(&self.key, "csrf", &session.nonce)
    }

    /// The CSRF token of the sign-in form, bound to the pre-session cookie's nonce.
    pub fn signin_token(&self, nonce: &str) -> String {
        mac(&self.key, "signin", nonce)
    }

    pub fn check_csrf(&self, session: &Session, token: &str) -> bool {
        equal(&self.csrf_token(session), token)
    }

    pub fn check_signin(&self, nonce: &str, token: &str) -> bool {
        !nonce.is_empty() && equal(&self.signin_token(nonce), token)
    }
}

/// Compares a secret given at sign-in with the stored one, in constant time.
pub fn secrets_match(given: &str, stored: &str) -> bool {
    equal(given, stored)
}

/// The value of a cookie in a `Cookie` header.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, scoped to the console, Secure over TLS.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            access_key_id: "AKIAEXAMPLE".into(),
            region: "eu-west-1".into(),
            expires: 2_000,
            nonce: "00ff".into(),
        }
    }

    #[test]
    fn a_session_verifies_until_it_expires_and_only_with_its_key() {
        let keys = SessionKeys::new([1; 32]);
        let value = keys.issue(&session()).expect("cookie-safe");
        assert_eq!(keys.verify(&value, 1_000), Some(session()));
        assert_eq!(keys.verify(&value, 2_000), None);
        assert_eq!(SessionKeys::new([2; 32]).verify(&value, 1_000), None);
    }

    #[test]
    fn a_changed_session_is_refused() {
        let keys = SessionKeys::new([1; 32]);
        let value = keys.issue(&session()).expect("cookie-safe");
        let forged = value.replace("eu-west-1", "us-east-1");
        assert_eq!(keys.verify(&forged, 1_000), None);
        let longer = value.replace(".2000.", ".9999.");
        assert_eq!(keys.verify(&longer, 1_000), None);
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let keys = SessionKeys::new([1; 32]);
        let token = keys.csrf_token(&session());
        assert!(keys.check_csrf(&session(), &token));
        let other = Session { nonce: "0100".into(), ..session() };
        assert!(!keys.check_csrf(&other, &token));
        assert!(!keys.check_csrf(&session(), ""));
        assert!(!keys.check_signin("", &keys.signin_token("")));
    }

    #[test]
    fn ids_that_cannot_travel_in_a_cookie_are_refused() {
        let keys = SessionKeys::new([1; 32]);
        assert_eq!(keys.issue(&Session { access_key_id: "a;b".into(), ..session() }), None);
        assert_eq!(keys.issue(&Session { region: "".into(), ..session() }), None);
    }

    #[test]
    fn cookies_are_read_from_the_header() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, "a=1; fh_console=xyz; b=2".parse().expect("header"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "c"), None);
        assert!(set_cookie("n", "v", 5, true).contains("HttpOnly; SameSite=Strict; Secure"));
    }
}
