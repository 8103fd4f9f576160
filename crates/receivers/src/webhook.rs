//! Signed webhooks: the event as JSON, with an HMAC-SHA256 signature over a timestamp and the body.
//!
//! **Our proposal** (Security Hub has no webhook target of its own; EventBridge API destinations
//! send whatever headers the user configures): the scheme that Stripe and Slack made familiar.
//! A delivery carries
//! - `x-findinghub-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
//!   during a secret rotation the sender may add one `v1=` per secret, and a receiver accepts
//!   the request when any of them verifies;
//! - `x-findinghub-event-id: <the EventBridge event id>`, the same on every retry of a delivery,
//!   so that a receiver drops duplicates (delivery is at least once);
//! - `content-type: application/json`.
//!
//! A receiver recomputes the HMAC over the raw body it received (before any JSON parsing),
//! compares in constant time, and refuses a timestamp further than its tolerance from its clock
//! (five minutes is the usual choice), which bounds replays.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "x-findinghub-signature";
pub const EVENT_ID_HEADER: &str = "x-findinghub-event-id";
/// The tolerance a receiver should use when it has no reason to choose another.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// Why a signature header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature timestamp is {age_secs} s away from now, more than the tolerance")]
    Stale { age_secs: u64 },
    #[error("no signature matches the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex HMAC-SHA256 of `<timestamp>.<body>`.
pub fn signature_hex(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// The value of the `x-findinghub-signature` header for a body sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature_hex(secret, timestamp, body))
}

/// The headers of one delivery of an event's JSON `body`, sent at `timestamp` (Unix seconds).
pub fn delivery_headers(secret: &[u8], timestamp: i64, event_id: &str, body: &[u8]) -> [(&'static str, String); 3] {
    [
        ("content-type", "application/json".to_owned()),
        (SIGNATURE_HEADER, sign(secret, timestamp, body)),
        (EVENT_ID_HEADER, event_id.to_owned()),
    ]
}

/// Checks a `x-findinghub-signature` header against the body received, at `now` (Unix seconds).
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance_secs: u64) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(VerifyError::Malformed("an item without '='"))?;
        match key {
            "t" => {
                let t = value.parse::<i64>().map_err(|_| VerifyError::Malformed("t is not a number of seconds"))?;
                if timestamp.replace(t).is_some() {
                    return Err(VerifyError::Malformed("t given twice"));
                }
            }
            "v1" => signatures.push(hex::decode(value).map_err(|_| VerifyError::Malformed("v1 is not hex"))?),
            _ => {} // other schemes: ignored, so that a new one can be added beside v1
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed("no t"))?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed("no v1 signature"));
    }
    let age_secs = now.abs_diff(timestamp);
    if age_secs > tolerance_secs {
        return Err(VerifyError::Stale { age_secs });
    }
    let expected = mac(secret, timestamp, body).finalize().into_bytes();
    let mut matched = subtle::Choice::from(0);
    for s in &signatures {
        matched |= expected.as_slice().ct_eq(s.as_slice());
    }
    if bool::from(matched) { Ok(()) } else { Err(VerifyError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"id":"8e5622f9","detail-type":"Security Hub Findings - Imported"}"#;
    const T: i64 = 1_714_644_006;

    #[test]
    fn matches_an_independent_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        // The signed message is "<t>.<body>", so t = "what do ya want for nothing?" cannot be
        // given; instead check the construction with the RFC's primitive on our message form.
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").expect("key");
        m.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(m.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let header = sign(SECRET, T, BODY);
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET).expect("key");
        m.update(format!("{T}.").as_bytes());
        m.update(BODY);
        assert_eq!(header, format!("t={T},v1={}", hex::encode(m.finalize().into_bytes())));
        assert_eq!(header.len(), "t=1714644006,v1=".len() + 64);
    }

    #[test]
    fn delivery_headers_carry_the_signature_and_the_event_id() {
        let h = delivery_headers(SECRET, T, "8e5622f9", BODY);
        assert_eq!(h[0], ("content-type", "application/json".to_owned()));
        assert_eq!(h[1].0, "x-findinghub-signature");
        assert_eq!(verify(SECRET, &h[1].1, BODY, T, 300), Ok(()));
        assert_eq!(h[2], ("x-findinghub-event-id", "8e5622f9".to_owned()));
    }

    #[test]
    fn a_fresh_signature_verifies() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T, DEFAULT_TOLERANCE_SECS), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, T + 300, DEFAULT_TOLERANCE_SECS), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, T - 300, DEFAULT_TOLERANCE_SECS), Ok(()), "clock skew both ways");
    }

    #[test]
    fn a_tampered_body_or_a_wrong_secret_is_a_mismatch() {
        let header = sign(SECRET, T, BODY);
        let mut tampered = BODY.to_vec();
        tampered[2] ^= 1;
        assert_eq!(verify(SECRET, &header, &tampered, T, 300), Err(VerifyError::Mismatch));
        assert_eq!(verify(b"whsec_other", &header, BODY, T, 300), Err(VerifyError::Mismatch));
        // Moving the timestamp changes the signed message.
        let moved = header.replacen(&format!("t={T}"), &format!("t={}", T + 1), 1);
        assert_eq!(verify(SECRET, &moved, BODY, T, 300), Err(VerifyError::Mismatch));
    }

    #[test]
    fn a_stale_timestamp_is_refused_even_with_a_good_signature() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T + 301, 300), Err(VerifyError::Stale { age_secs: 301 }));
        assert_eq!(verify(SECRET, &header, BODY, T - 3600, 300), Err(VerifyError::Stale { age_secs: 3600 }));
    }

    #[test]
    fn any_of_several_signatures_may_match_during_a_rotation() {
        let old = signature_hex(b"old", T, BODY);
        let new = signature_hex(SECRET, T, BODY);
        let header = format!("t={T},v1={old},v0=ignored,v1={new}");
        assert_eq!(verify(SECRET, &header, BODY, T, 300), Ok(()));
        assert_eq!(verify(b"old", &header, BODY, T, 300), Ok(()));
        assert_eq!(verify(b"third", &header, BODY, T, 300), Err(VerifyError::Mismatch));
    }

    #[test]
    fn malformed_headers() {
        let sig = signature_hex(SECRET, T, BODY);
        for (header, what) in [
            (format!("v1={sig}"), "no t"),
            (format!("t={T}"), "no v1"),
            (format!("t=soon,v1={sig}"), "number"),
            (format!("t={T},v1=zz"), "hex"),
            (format!("t={T},t={T},v1={sig}"), "twice"),
            ("garbage".to_owned(), "without"),
        ] {
            match verify(SECRET, &header, BODY, T, 300) {
                Err(VerifyError::Malformed(m)) => assert!(m.contains(what), "{header}: {m}"),
                other => panic!("{header}: {other:?}"),
            }
        }
        assert_eq!(verify(SECRET, &format!("t={T},v1=abcd"), BODY, T, 300), Err(VerifyError::Mismatch), "short hex");
    }
}
