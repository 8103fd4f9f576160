//! AWS Signature Version 4 verification, as a pure, synchronous function of the request as received.
//!
//! This module knows nothing of routing or storage. The HTTP layer builds a [`SignedRequest`] from the
//! request **before** routing (raw path and query exactly as on the wire, the buffered body), calls
//! [`parse`], looks the secret up by [`ParsedSignature::access_key_id`] (unknown key →
//! [`AuthError::UnrecognizedClient`]), optionally checks the region with
//! [`ParsedSignature::check_region`], then calls [`verify`].
//!
//! ```text
//! Authorization: AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/securityhub/aws4_request,
//!                SignedHeaders=content-type;host;x-amz-date, Signature=<64 hex>
//! ```
//! or a presigned query string (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`
//! ≤ 604800, `X-Amz-SignedHeaders`, `X-Amz-Signature`).
//!
//! # What is checked, in this order
//! 1. [`parse`]: the syntax (one auth mechanism; algorithm `AWS4-HMAC-SHA256`; `Credential`, `SignedHeaders`
//!    and `Signature` present once; five credential elements; sorted lowercase signed header names;
//!    `X-Amz-Date` in ISO 8601 basic format; `X-Amz-Expires` a number ≤ 604800).
//! 2. [`verify`]: the credential scope (date = date of `X-Amz-Date`, service = the expected signing name,
//!    terminator `aws4_request`; all problems reported at once, as AWS does).
//! 3. The time: header authentication accepts `|now − X-Amz-Date| ≤ 15 min` (both ways, bounds included);
//!    a presigned request is valid from `X-Amz-Date − 15 min` to `X-Amz-Date + X-Amz-Expires`.
//! 4. The signed-header policy: `host` signed; `x-amz-date` signed (header authentication); every `x-amz-*`
//!    header present signed (this covers `x-amz-security-token` and `x-amz-content-sha256`).
//! 5. The payload hash: the SHA-256 of the body received, unless a (signed) `x-amz-content-sha256` says
//!    `UNSIGNED-PAYLOAD` (accepted) or `STREAMING-…` (rejected) or carries a hash (it must be the body's).
//!    A presigned request without that header may have been signed over the body's hash or over
//!    `UNSIGNED-PAYLOAD` (S3-style presigners): both are tried.
//! 6. The signature, recomputed and compared in constant time (`subtle`).
//!
//! # Hand-written canonicalisation, `aws-sigv4` as the test oracle
//! The canonical request is built here with `hmac`, `sha2`, `hex` and `percent-encoding` (~150 lines in
//! `canonical.rs`) instead of re-signing with `aws-sigv4`, because:
//! * a verifier must *parse* the `Authorization` header and the presigned query anyway, and enforce a
//!   policy on them (signed headers, scope, time, payload) that a signer doesn't have; `aws-sigv4` would
//!   only replace the canonicalisation, and would need the request rebuilt as `&str` headers (non-UTF-8
//!   header values can't be passed) and a re-parsed `Uri`;
//! * no `aws-smithy-*` crates in the server build, and every step is total (no `expect` inside);
//! * behaviour is pinned where `aws-sigv4` differs from the SigV4 specification: `aws-sigv4` decodes the
//!   query with `application/x-www-form-urlencoded` rules (a raw `+` becomes a space), we keep `+` a plus
//!   as the specification and botocore do. SDKs encode `+` as `%2B`, so no client is affected.
//!
//! `aws-sigv4` (Double percent-encoding mode, the mode that verified every aws-sdk-rust and botocore
//! request in our client measurements) is a dev-dependency: a property test signs random requests with it
//! and checks that [`verify`] accepts them and rejects any single mutation (`tests/sigv4.rs`).
//!
//! # Canonical URI: double encoding and normalisation
//! Every AWS service but S3 signs the *already percent-encoded* path encoded once more (`%3A` → `%253A`),
//! after removing empty and dot segments (`//a/./b/../c` → `/a/c`), exactly as aws-sdk-rust and botocore
//! do. The caller must pass the raw path, never a decoded or router-rewritten one. Note that the
//! normalisation means a signature for `/a/c` also covers `/a/b/../c` on the wire: the router must either
//! see the same normalised path or reject paths with dot or empty segments (Security Hub never needs them).
//!
//! # Not supported (rejected)
//! SigV4a, SigV2, `STREAMING-*` payloads (aws-chunked is S3's), the `Date` header instead of `X-Amz-Date`
//! (no SDK sends it for this service). HTTP/2 requests carry `:authority` instead of `Host`: the HTTP layer
//! must insert a `host` header from the URI authority before calling [`verify`].
//!
//! # Bounds
//! The `Authorization` header is limited to [`MAX_AUTHORIZATION_LEN`] bytes and [`MAX_SIGNED_HEADERS`]
//! names; other work is linear in the request size (plus sorting the query pairs). Secrets and signatures
//! are never formatted into errors; the body must be size-limited by the caller before buffering.

mod canonical;
mod error;

use std::fmt::Write as _;

use http::HeaderMap;
use subtle::ConstantTimeEq;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

pub use canonical::hmac_sha256;
pub use error::{AuthError, ECHO_LIMIT, ScopeProblem};

use canonical::{ALGORITHM, TERMINATOR, UNSIGNED_PAYLOAD};

/// Longest `Authorization` header accepted, in bytes.
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;
/// Most signed header names accepted.
pub const MAX_SIGNED_HEADERS: usize = 128;
/// Longest `X-Amz-Expires` of a presigned request: 7 days, in seconds.
pub const MAX_PRESIGNED_EXPIRES_SECS: u32 = 604_800;
/// Allowed difference between the request time and the server clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(15);

/// The parts of an HTTP request that SigV4 covers, borrowed from the request as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The path exactly as on the wire, still percent-encoded, without the query.
    pub raw_path: &'a str,
    /// The query string exactly as on the wire, without `?`.
    pub raw_query: Option<&'a str>,
    /// All headers (with `host` present, also for HTTP/2).
    pub headers: &'a HeaderMap,
    /// The whole body.
    pub body: &'a [u8],
}

/// Where the signature was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLocation {
    /// The `Authorization` header.
    Header,
    /// Presigned query parameters, valid `expires` after the request time.
    Presigned { expires: Duration },
}

/// A syntactically valid SigV4 signature, not yet verified. Its `Debug` output hides the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    location: AuthLocation,
    access_key_id: String,
    scope_date: String,
    region: String,
    service: String,
    terminator: String,
    signed_headers: Vec<String>,
    signature: String,
    amz_date: String,
    request_time: OffsetDateTime,
    security_token: Option<String>,
}

impl ParsedSignature {
    /// The access key id of the credential (look the secret up with it).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    /// The region of the credential scope.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The service (signing name) of the credential scope.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// The date of the credential scope, `YYYYMMDD`.
    pub fn scope_date(&self) -> &str {
        &self.scope_date
    }
    /// The request time (`X-Amz-Date`), UTC.
    pub fn request_time(&self) -> OffsetDateTime {
        self.request_time
    }
    /// The signed header names, lowercase and sorted.
    pub fn signed_headers(&self) -> &[String] {
        &self.signed_headers
    }
    /// Header or presigned query.
    pub fn location(&self) -> AuthLocation {
        self.location
    }
    /// `x-amz-security-token` (header or presigned query), to be matched against the stored credential.
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    /// Rejects a region of the credential scope that is not in `accepted`, with AWS's message.
    pub fn check_region(&self, accepted: &[&str]) -> Result<(), AuthError> {
        if accepted.contains(&self.region.as_str()) {
            Ok(())
        } else {
            Err(AuthError::InvalidScope { problems: vec![ScopeProblem::Region { region: self.region.clone() }] })
        }
    }
}

impl std::fmt::Debug for ParsedSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedSignature")
            .field("location", &self.location)
            .field("access_key_id", &self.access_key_id)
            .field("scope_date", &self.scope_date)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("terminator", &self.terminator)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &self.signature)
            .field("amz_date", &self.amz_date)
            .field("security_token", &self.security_token.as_ref().map(|_| "** redacted **"))
            .finish()
    }
}

const PRESIGN_ALGORITHM: &str = "X-Amz-Algorithm";
const PRESIGN_CREDENTIAL: &str = "X-Amz-Credential";
const PRESIGN_DATE: &str = "X-Amz-Date";
const PRESIGN_EXPIRES: &str = "X-Amz-Expires";
const PRESIGN_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
const PRESIGN_SIGNATURE: &str = "X-Amz-Signature";
const PRESIGN_SECURITY_TOKEN: &str = "X-Amz-Security-Token";

/// Reads the signature of a request (header or presigned query) without checking it.
pub fn parse(req: &SignedRequest<'_>) -> Result<ParsedSignature, AuthError> {
    let mut authorization = req.headers.get_all(http::header::AUTHORIZATION).iter();
    let header = authorization.next();
    if header.is_some() && authorization.next().is_some() {
        return Err(AuthError::malformed("Only one Authorization header is allowed."));
    }
    let presigned = presigned_params(req.raw_query);
    match (header, presigned) {
        (None, None) => Err(AuthError::MissingAuthenticationToken),
        (Some(_), Some(_)) => Err(AuthError::AmbiguousAuthentication),
        (Some(value), None) => parse_header(value.as_bytes(), req.headers),
        (None, Some(params)) => parse_presigned(params?),
    }
}

fn parse_header(value: &[u8], headers: &HeaderMap) -> Result<ParsedSignature, AuthError> {
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(AuthError::malformed(format!(
            "The Authorization header is longer than {MAX_AUTHORIZATION_LEN} bytes."
        )));
    }
    let Ok(value) = std::str::from_utf8(value) else {
        return Err(AuthError::malformed("The Authorization header is not valid ASCII."));
    };
    let value = value.trim_matches(' ');
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    let amz_date = single_header(headers, "x-amz-date");
    if algorithm != ALGORITHM {
        if algorithm.starts_with("AWS4-") {
            return Err(AuthError::UnsupportedAlgorithm { algorithm: algorithm.to_owned() });
        }
        // What AWS answers to `Bearer …`, SigV2's `AWS AKID:sig`, an empty header, …
        return Err(AuthError::MissingAuthorizationParameters {
            credential: true,
            signed_headers: true,
            signature: true,
            date: matches!(amz_date, Ok(None)),
        });
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    // AWS splits on commas and on spaces: `Credential=AKID /2015…` makes `/2015…` an element of its own.
    for element in rest.split([',', ' ']).filter(|e| !e.is_empty()) {
        let Some((key, val)) = element.split_once('=') else {
            return Err(AuthError::NotKeyValuePair { element: element.to_owned() });
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(val).is_some() {
            return Err(AuthError::malformed(format!(
                "Authorization header has the '{}' parameter more than once.",
                error::echo(key)
            )));
        }
    }
    let amz_date = amz_date?;
    let (Some(credential), Some(signed_headers), Some(signature), Some(amz_date)) =
        (credential, signed_headers, signature, amz_date)
    else {
        return Err(AuthError::MissingAuthorizationParameters {
            credential: credential.is_none(),
            signed_headers: signed_headers.is_none(),
            signature: signature.is_none(),
            date: amz_date.is_none(),
        });
    };
    let request_time = parse_amz_date(amz_date)?;
    let security_token = single_header(headers, "x-amz-security-token")?.map(str::to_owned);
    build(
        AuthLocation::Header,
        credential,
        signed_headers,
        signature,
        amz_date.to_owned(),
        request_time,
        security_token,
    )
}

/// The value of a header expected at most once: `None` if absent; an error if repeated or not ASCII.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(AuthError::malformed(format!("The {name} header is present more than once.")));
    }
    first.to_str().map(Some).map_err(|_| AuthError::malformed(format!("The {name} header is not valid ASCII.")))
}

/// The decoded presigned parameters, `None` when the query carries none of them.
struct PresignedParams {
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    signed_headers: Option<String>,
    signature: Option<String>,
    security_token: Option<String>,
}

fn presigned_params(raw_query: Option<&str>) -> Option<Result<PresignedParams, AuthError>> {
    let raw = raw_query?;
    let mut params = PresignedParams {
        algorithm: None,
        credential: None,
        date: None,
        expires: None,
        signed_headers: None,
        signature: None,
        security_token: None,
    };
    let mut duplicate = None;
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
        let slot = match name.as_ref() {
            PRESIGN_ALGORITHM => &mut params.algorithm,
            PRESIGN_CREDENTIAL => &mut params.credential,
            PRESIGN_DATE => &mut params.date,
            PRESIGN_EXPIRES => &mut params.expires,
            PRESIGN_SIGNED_HEADERS => &mut params.signed_headers,
            PRESIGN_SIGNATURE => &mut params.signature,
            PRESIGN_SECURITY_TOKEN => &mut params.security_token,
            _ => continue,
        };
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
        if slot.replace(value).is_some() && duplicate.is_none() {
            duplicate = Some(name.into_owned());
        }
    }
    if params.algorithm.is_none() && params.credential.is_none() && params.signature.is_none() {
        return None;
    }
    if let Some(name) = duplicate {
        return Some(Err(AuthError::malformed(format!(
            "The query parameter '{}' is present more than once.",
            error::echo(&name)
        ))));
    }
    Some(Ok(params))
}

fn parse_presigned(p: PresignedParams) -> Result<ParsedSignature, AuthError> {
    let (Some(algorithm), Some(credential), Some(date), Some(expires), Some(signed_headers), Some(signature)) =
        (p.algorithm, p.credential, p.date, p.expires, p.signed_headers, p.signature)
    else {
        return Err(AuthError::malformed(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, \
             X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm { algorithm });
    }
    let expires = parse_expires(&expires)?;
    let request_time = parse_amz_date(&date)?;
    build(
        AuthLocation::Presigned { expires },
        &credential,
        &signed_headers,
        &signature,
        date,
        request_time,
        p.security_token,
    )
}

fn parse_expires(value: &str) -> Result<Duration, AuthError> {
    if value.starts_with('-') && value.len() > 1 && value[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::malformed("X-Amz-Expires must be non-negative"));
    }
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::malformed("X-Amz-Expires should be a number"));
    }
    match value.parse::<u64>() {
        Ok(secs) if secs <= u64::from(MAX_PRESIGNED_EXPIRES_SECS) => Ok(Duration::seconds(secs as i64)),
        _ => Err(AuthError::malformed(
            "X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less \
             than 604800 seconds",
        )),
    }
}

fn build(
    location: AuthLocation,
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: String,
    request_time: OffsetDateTime,
    security_token: Option<String>,
) -> Result<ParsedSignature, AuthError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = parts.as_slice() else {
        return Err(AuthError::MalformedCredential { credential: credential.to_owned() });
    };
    Ok(ParsedSignature {
        location,
        access_key_id: (*access_key_id).to_owned(),
        scope_date: (*scope_date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        terminator: (*terminator).to_owned(),
        signed_headers: parse_signed_headers(signed_headers)?,
        signature: signature.to_owned(),
        amz_date,
        request_time,
        security_token,
    })
}

/// `a;b;c`: non-empty lowercase header-name tokens, strictly ascending (as every SDK sends them).
fn parse_signed_headers(value: &str) -> Result<Vec<String>, AuthError> {
    let bad = || {
        AuthError::malformed(format!(
            "SignedHeaders must be a ';'-separated, sorted list of lowercase header names, got '{}'.",
            error::echo(value)
        ))
    };
    let names: Vec<&str> = value.split(';').collect();
    if names.len() > MAX_SIGNED_HEADERS {
        return Err(AuthError::malformed(format!("SignedHeaders lists more than {MAX_SIGNED_HEADERS} headers.")));
    }
    let token = |n: &str| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !names.iter().all(|n| token(n)) || !names.windows(2).all(|w| w[0] < w[1]) {
        return Err(bad());
    }
    Ok(names.into_iter().map(str::to_owned).collect())
}

/// `YYYYMMDD'T'HHMMSS'Z'`, UTC.
fn parse_amz_date(value: &str) -> Result<OffsetDateTime, AuthError> {
    let bad = || AuthError::MalformedDate { value: value.to_owned() };
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<u32, AuthError> {
        let digits = &b[range];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(digits.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let month = u8::try_from(month).ok().and_then(|m| Month::try_from(m).ok()).ok_or_else(bad)?;
    let year = i32::try_from(year).map_err(|_| bad())?;
    let narrow = |v: u32| u8::try_from(v).map_err(|_| bad());
    let date = Date::from_calendar_date(year, month, narrow(day)?).map_err(|_| bad())?;
    let time = Time::from_hms(narrow(hour)?, narrow(minute)?, narrow(second)?).map_err(|_| bad())?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}

/// `YYYYMMDD'T'HHMMSS'Z'` of a time, in UTC.
fn format_amz_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let mut out = String::with_capacity(16);
    let _ = write!(
        out,
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    out
}

/// Checks a parsed signature against the request and the secret of its access key.
///
/// `now` is the server clock; `expected_service` the signing name (`securityhub`).
pub fn verify(
    req: &SignedRequest<'_>,
    parsed: &ParsedSignature,
    secret_access_key: &str,
    now: OffsetDateTime,
    expected_service: &str,
) -> Result<(), AuthError> {
    check_scope(parsed, expected_service)?;
    check_time(parsed, now)?;
    check_signed_headers(req.headers, parsed)?;
    let payload_hashes = payload_hashes(req, parsed)?;

    let presigned = matches!(parsed.location, AuthLocation::Presigned { .. });
    let canonical_uri = canonical::canonical_uri(req.raw_path);
    let canonical_query = canonical::canonical_query(req.raw_query, presigned);
    let scope = format!("{}/{}/{}/{TERMINATOR}", parsed.scope_date, parsed.region, parsed.service);
    let key = canonical::signing_key(secret_access_key, &parsed.scope_date, &parsed.region, &parsed.service)
        .ok_or(AuthError::SignatureDoesNotMatch)?;

    let mut matched = subtle::Choice::from(0);
    for payload_hash in payload_hashes.iter().flatten() {
        let creq = canonical::canonical_request(
            req.method,
            &canonical_uri,
            &canonical_query,
            req.headers,
            &parsed.signed_headers,
            payload_hash,
        );
        let sts = canonical::string_to_sign(&parsed.amz_date, &scope, &creq);
        let expected = canonical::signature_hex(&key, &sts).ok_or(AuthError::SignatureDoesNotMatch)?;
        matched |= expected.as_bytes().ct_eq(parsed.signature.as_bytes());
    }
    if bool::from(matched) { Ok(()) } else { Err(AuthError::SignatureDoesNotMatch) }
}

fn check_scope(parsed: &ParsedSignature, expected_service: &str) -> Result<(), AuthError> {
    let mut problems = Vec::new();
    if parsed.service != expected_service {
        problems.push(ScopeProblem::Service { expected: expected_service.to_owned() });
    }
    if parsed.terminator != TERMINATOR {
        problems.push(ScopeProblem::Terminator { found: parsed.terminator.clone() });
    }
    if parsed.amz_date.get(..8) != Some(parsed.scope_date.as_str()) {
        problems.push(ScopeProblem::Date { scope_date: parsed.scope_date.clone(), amz_date: parsed.amz_date.clone() });
    }
    if problems.is_empty() { Ok(()) } else { Err(AuthError::InvalidScope { problems }) }
}

fn check_time(parsed: &ParsedSignature, now: OffsetDateTime) -> Result<(), AuthError> {
    let t = parsed.request_time;
    let earliest = now.checked_sub(MAX_CLOCK_SKEW);
    let latest = now.checked_add(MAX_CLOCK_SKEW);
    match parsed.location {
        AuthLocation::Header => {
            if let Some(earliest) = earliest.filter(|e| t < *e) {
                return Err(AuthError::SignatureExpired {
                    amz_date: parsed.amz_date.clone(),
                    earliest: format_amz_date(earliest),
                    now: format_amz_date(now),
                });
            }
            if let Some(latest) = latest.filter(|l| t > *l) {
                return Err(AuthError::SignatureNotYetCurrent {
                    amz_date: parsed.amz_date.clone(),
                    latest: format_amz_date(latest),
                    now: format_amz_date(now),
                });
            }
        }
        AuthLocation::Presigned { expires } => {
            if latest.is_some_and(|l| t > l) {
                return Err(AuthError::PresignedNotYetValid);
            }
            if t.checked_add(expires).is_none_or(|end| now > end) {
                return Err(AuthError::PresignedExpired);
            }
        }
    }
    Ok(())
}

fn check_signed_headers(headers: &HeaderMap, parsed: &ParsedSignature) -> Result<(), AuthError> {
    let signed = |name: &str| parsed.signed_headers.binary_search_by(|h| h.as_str().cmp(name)).is_ok();
    if !signed("host") {
        return Err(AuthError::HostNotSigned);
    }
    if parsed.location == AuthLocation::Header && !signed("x-amz-date") {
        return Err(AuthError::DateNotSigned);
    }
    let mut unsigned: Vec<String> = headers
        .keys()
        .map(|n| n.as_str())
        .filter(|n| n.starts_with("x-amz-") && !signed(n))
        .map(str::to_owned)
        .collect();
    if unsigned.is_empty() {
        Ok(())
    } else {
        unsigned.sort();
        Err(AuthError::UnsignedHeaders { names: unsigned })
    }
}

/// The payload hashes to try (one, or two for a presigned request without `x-amz-content-sha256`).
fn payload_hashes(req: &SignedRequest<'_>, parsed: &ParsedSignature) -> Result<[Option<String>; 2], AuthError> {
    match single_header(req.headers, "x-amz-content-sha256").map_err(|_| AuthError::ContentSha256Mismatch)? {
        Some(value) => {
            if value == UNSIGNED_PAYLOAD {
                Ok([Some(UNSIGNED_PAYLOAD.to_owned()), None])
            } else if value.starts_with("STREAMING-") {
                Err(AuthError::UnsupportedPayload { value: value.to_owned() })
            } else {
                let actual = canonical::sha256_hex(req.body);
                if bool::from(actual.as_bytes().ct_eq(value.as_bytes())) {
                    Ok([Some(actual), None])
                } else {
                    Err(AuthError::ContentSha256Mismatch)
                }
            }
        }
        None => {
            let actual = Some(canonical::sha256_hex(req.body));
            match parsed.location {
                AuthLocation::Header => Ok([actual, None]),
                AuthLocation::Presigned { .. } => Ok([actual, Some(UNSIGNED_PAYLOAD.to_owned())]),
            }
        }
    }
}

/// Signs a request as the AWS SDKs do, for findinghub's own clients (the load generator): sets
/// `x-amz-date` and `authorization` in `headers`, which must already hold `host`. Every header
/// present is signed.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &mut HeaderMap,
    body: &[u8],
    access_key_id: &str,
    secret_access_key: &str,
    region: &str,
    service: &str,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let now = now.to_offset(UtcOffset::UTC);
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let date = &amz_date[..8];
    let value = http::HeaderValue::from_str(&amz_date).map_err(|_| AuthError::SignatureDoesNotMatch)?;
    headers.insert("x-amz-date", value);
    let mut signed: Vec<String> = headers.keys().map(|k| k.as_str().to_ascii_lowercase()).collect();
    signed.sort();
    signed.dedup();
    let canonical = canonical::canonical_request(
        method,
        &canonical::canonical_uri(raw_path),
        &canonical::canonical_query(raw_query, false),
        headers,
        &signed,
        &canonical::sha256_hex(body),
    );
    let scope = format!("{date}/{region}/{service}/{TERMINATOR}");
    let to_sign = canonical::string_to_sign(&amz_date, &scope, &canonical);
    let key =
        canonical::signing_key(secret_access_key, date, region, service).ok_or(AuthError::SignatureDoesNotMatch)?;
    let signature = canonical::signature_hex(&key, &to_sign).ok_or(AuthError::SignatureDoesNotMatch)?;
    let authorization = format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={signature}",
        signed.join(";")
    );
    let value = http::HeaderValue::from_str(&authorization).map_err(|_| AuthError::SignatureDoesNotMatch)?;
    headers.insert(http::header::AUTHORIZATION, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_round_trips() -> Result<(), AuthError> {
        let t = parse_amz_date("20150830T123600Z")?;
        assert_eq!(format_amz_date(t), "20150830T123600Z");
        for bad in ["20150830T123600", "2015-08-30T12:36:00Z", "20151330T123600Z", "20150830T246000Z", "", "x"] {
            assert!(matches!(parse_amz_date(bad), Err(AuthError::MalformedDate { .. })), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn expires_bounds() {
        assert_eq!(parse_expires("0"), Ok(Duration::ZERO));
        assert_eq!(parse_expires("604800"), Ok(Duration::days(7)));
        assert!(parse_expires("604801").is_err());
        assert!(parse_expires("-1").is_err());
        assert!(parse_expires("1e3").is_err());
        assert!(parse_expires("99999999999999999999").is_err());
    }
}
