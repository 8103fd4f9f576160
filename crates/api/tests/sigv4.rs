//! SigV4 verification: AWS's published test-suite vectors, policy and malformed-input cases, and an
//! oracle property test against `aws-sigv4` (AWS's own Rust signer).

use findinghub_api::sigv4::{self, AuthError, AuthLocation, ParsedSignature, ScopeProblem, SignedRequest};
use http::{HeaderMap, HeaderName, HeaderValue};
use time::{Duration, OffsetDateTime, macros::datetime};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The credentials, scope and time of AWS's SigV4 test suite.
const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_SERVICE: &str = "service";
const SUITE_DATE: &str = "20150830T123600Z";
const SUITE_NOW: OffsetDateTime = datetime!(2015-08-30 12:36:00 UTC);

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).expect("test header name");
        map.append(name, HeaderValue::from_str(value).expect("test header value"));
    }
    map
}

struct Req {
    method: &'static str,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Req {
    fn new(method: &'static str, path: &str, query: Option<&str>, pairs: &[(&str, &str)], body: &[u8]) -> Self {
        Req {
            method,
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers: headers(pairs),
            body: body.to_vec(),
        }
    }
    fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: self.method,
            raw_path: &self.path,
            raw_query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }
    fn parse(&self) -> Result<ParsedSignature, AuthError> {
        sigv4::parse(&self.signed())
    }
    /// parse + verify with the given secret, clock and service.
    fn check_with(&self, secret: &str, now: OffsetDateTime, service: &str) -> Result<ParsedSignature, AuthError> {
        let parsed = self.parse()?;
        sigv4::verify(&self.signed(), &parsed, secret, now, service)?;
        Ok(parsed)
    }
    fn check(&self) -> Result<ParsedSignature, AuthError> {
        self.check_with(SECRET, SUITE_NOW, SUITE_SERVICE)
    }
}

fn suite_auth(signed_headers: &str, signature: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={AKID}/20150830/us-east-1/service/aws4_request, SignedHeaders={signed_headers}, \
         Signature={signature}"
    )
}

/// A suite request: `host` and `x-amz-date` of the suite, the extra headers, the Authorization header.
fn suite_req(
    method: &'static str,
    path: &str,
    query: Option<&str>,
    extra: &[(&str, &str)],
    body: &[u8],
    signed_headers: &str,
    signature: &str,
) -> Req {
    let auth = suite_auth(signed_headers, signature);
    let mut pairs = vec![("Host", "example.amazonaws.com"), ("X-Amz-Date", SUITE_DATE)];
    pairs.extend_from_slice(extra);
    pairs.push(("Authorization", auth.as_str()));
    Req::new(method, path, query, &pairs, body)
}

// ---------------------------------------------------------------------------------------------
// AWS SigV4 test-suite vectors (AKIDEXAMPLE, us-east-1, service `service`, 20150830T123600Z).
//
// The suite is S3-agnostic and written for single encoding: its paths are given decoded and its
// canonical URIs are encoded once. A non-S3 server receives the path already encoded and encodes it
// once more, so only the vectors whose wire path has nothing to encode (`/`, the unreserved
// characters) are the same under double encoding; `get-utf8` and `get-space-unnormalized` are not,
// and are checked to be rejected below. `get-slashes-unnormalized` / `get-relative-unnormalized`
// sign the path without normalisation (S3 behaviour); we normalise as the SDKs do.
// ---------------------------------------------------------------------------------------------

#[test]
fn suite_get_vanilla() {
    let req = suite_req(
        "GET",
        "/",
        None,
        &[],
        b"",
        "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
    let parsed = req.check().expect("get-vanilla verifies");
    assert_eq!(parsed.access_key_id(), AKID);
    assert_eq!(parsed.region(), "us-east-1");
    assert_eq!(parsed.service(), "service");
    assert_eq!(parsed.scope_date(), "20150830");
    assert_eq!(parsed.request_time(), SUITE_NOW);
    assert_eq!(parsed.signed_headers(), ["host", "x-amz-date"]);
    assert_eq!(parsed.location(), AuthLocation::Header);
    assert_eq!(parsed.security_token(), None);
}

#[test]
fn suite_post_vanilla() {
    let req = suite_req(
        "POST",
        "/",
        None,
        &[],
        b"",
        "host;x-amz-date",
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    );
    req.check().expect("post-vanilla verifies");
}

#[test]
fn suite_post_vanilla_query() {
    let req = suite_req(
        "POST",
        "/",
        Some("Param1=value1"),
        &[],
        b"",
        "host;x-amz-date",
        "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
    );
    req.check().expect("post-vanilla-query verifies");
}

#[test]
fn suite_get_vanilla_query_order_key_case() {
    let req = suite_req(
        "GET",
        "/",
        Some("Param2=value2&Param1=value1"),
        &[],
        b"",
        "host;x-amz-date",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    );
    req.check().expect("get-vanilla-query-order-key-case verifies");
}

#[test]
fn suite_get_vanilla_query_order_encoded() {
    // The suite's `ሴ=Value1` as the SDKs put it on the wire.
    let req = suite_req(
        "GET",
        "/",
        Some("Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
        &[],
        b"",
        "host;x-amz-date",
        "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
    );
    req.check().expect("get-vanilla-query-order-encoded verifies");
}

#[test]
fn suite_get_vanilla_query_unreserved() {
    let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let query = format!("{unreserved}={unreserved}");
    let req = suite_req(
        "GET",
        "/",
        Some(&query),
        &[],
        b"",
        "host;x-amz-date",
        "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    );
    req.check().expect("get-vanilla-query-unreserved verifies");
}

#[test]
fn suite_get_vanilla_utf8_query() {
    let req = suite_req(
        "GET",
        "/",
        Some("%E1%88%B4=bar"),
        &[],
        b"",
        "host;x-amz-date",
        "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    );
    req.check().expect("get-vanilla-utf8-query verifies");
}

#[test]
fn suite_get_unreserved_path() {
    let req = suite_req(
        "GET",
        "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        None,
        &[],
        b"",
        "host;x-amz-date",
        "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
    );
    req.check().expect("get-unreserved verifies");
}

#[test]
fn suite_get_header_key_duplicate() {
    let req = suite_req(
        "GET",
        "/",
        None,
        &[("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
        b"",
        "host;my-header1;x-amz-date",
        "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
    );
    req.check().expect("get-header-key-duplicate verifies");
}

#[test]
fn suite_get_header_value_order() {
    let req = suite_req(
        "GET",
        "/",
        None,
        &[("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")],
        b"",
        "host;my-header1;x-amz-date",
        "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
    );
    req.check().expect("get-header-value-order verifies");
}

#[test]
fn suite_get_header_value_trim() {
    let req = suite_req(
        "GET",
        "/",
        None,
        &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
        b"",
        "host;my-header1;my-header2;x-amz-date",
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    );
    req.check().expect("get-header-value-trim verifies");
}

#[test]
fn suite_post_header_value_case() {
    let req = suite_req(
        "POST",
        "/",
        None,
        &[("My-Header1", "VALUE1")],
        b"",
        "host;my-header1;x-amz-date",
        "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
    );
    req.check().expect("post-header-value-case verifies");
}

#[test]
fn suite_post_x_www_form_urlencoded() {
    let req = suite_req(
        "POST",
        "/",
        None,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"Param1=value1",
        "content-type;host;x-amz-date",
        "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    );
    req.check().expect("post-x-www-form-urlencoded verifies");
}

#[test]
fn suite_post_x_www_form_urlencoded_with_content_sha256() {
    // aws-c-auth's variant: content-length and a signed x-amz-content-sha256.
    let req = suite_req(
        "POST",
        "/",
        None,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", "13"),
            ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
        ],
        b"Param1=value1",
        "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
        "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
    );
    req.check().expect("post-x-www-form-urlencoded with x-amz-content-sha256 verifies");
}

#[test]
fn suite_get_vanilla_with_session_token() {
    let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    let req = suite_req(
        "GET",
        "/",
        None,
        &[("X-Amz-Security-Token", token)],
        b"",
        "host;x-amz-date;x-amz-security-token",
        "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
    );
    let parsed = req.check().expect("get-vanilla-with-session-token verifies");
    assert_eq!(parsed.security_token(), Some(token));
}

#[test]
fn suite_single_encoded_paths_are_rejected_under_double_encoding() {
    // `get-utf8` (`/ሴ` → wire `/%E1%88%B4`) and `get-space-unnormalized` (wire `/example%20space/`)
    // are signed over the singly-encoded path: S3 semantics, which this service does not have.
    let utf8 = suite_req(
        "GET",
        "/%E1%88%B4",
        None,
        &[],
        b"",
        "host;x-amz-date",
        "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
    );
    assert_eq!(utf8.check().err(), Some(AuthError::SignatureDoesNotMatch));
    let space = suite_req(
        "GET",
        "/example%20space/",
        None,
        &[],
        b"",
        "host;x-amz-date",
        "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
    );
    assert_eq!(space.check().err(), Some(AuthError::SignatureDoesNotMatch));
    // `get-slashes-unnormalized` signs `//example//` verbatim; the SDKs (and we) normalise to `/example/`.
    let slashes = suite_req(
        "GET",
        "//example//",
        None,
        &[],
        b"",
        "host;x-amz-date",
        "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5",
    );
    assert_eq!(slashes.check().err(), Some(AuthError::SignatureDoesNotMatch));
}

// ---------------------------------------------------------------------------------------------
// Policy: clock skew, scope, signed headers, payload.
// ---------------------------------------------------------------------------------------------

fn vanilla() -> Req {
    suite_req(
        "GET",
        "/",
        None,
        &[],
        b"",
        "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    )
}

#[test]
fn clock_skew_of_fifteen_minutes_is_accepted_both_ways() {
    let req = vanilla();
    for skew in [Duration::minutes(-15), Duration::minutes(15), Duration::seconds(-899), Duration::seconds(1)] {
        req.check_with(SECRET, SUITE_NOW + skew, SUITE_SERVICE).expect("within 15 minutes");
    }
}

#[test]
fn request_older_than_fifteen_minutes_is_expired() {
    let err = vanilla()
        .check_with(SECRET, SUITE_NOW + Duration::seconds(15 * 60 + 1), SUITE_SERVICE)
        .expect_err("must be rejected");
    assert_eq!(
        err.to_string(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)"
    );
    assert_eq!((err.code(), err.http_status()), ("InvalidSignatureException", 403));
}

#[test]
fn request_from_more_than_fifteen_minutes_ahead_is_not_yet_current() {
    let err = vanilla()
        .check_with(SECRET, SUITE_NOW - Duration::seconds(15 * 60 + 1), SUITE_SERVICE)
        .expect_err("must be rejected");
    assert_eq!(
        err.to_string(),
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)"
    );
    assert_eq!(err.code(), "InvalidSignatureException");
}

#[test]
fn wrong_secret_is_signature_mismatch() {
    let err = vanilla()
        .check_with("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz", SUITE_NOW, SUITE_SERVICE)
        .expect_err("must be rejected");
    assert_eq!(err, AuthError::SignatureDoesNotMatch);
    assert_eq!((err.code(), err.http_status()), ("InvalidSignatureException", 403));
    assert!(
        err.to_string().starts_with("The request signature we calculated does not match the signature you provided.")
    );
}

#[test]
fn wrong_service_is_a_scope_error_in_aws_wording() {
    let err = vanilla().check_with(SECRET, SUITE_NOW, "securityhub").expect_err("must be rejected");
    assert_eq!(
        err,
        AuthError::InvalidScope { problems: vec![ScopeProblem::Service { expected: "securityhub".into() }] }
    );
    assert_eq!(err.to_string(), "Credential should be scoped to correct service: 'securityhub'.");
    assert_eq!((err.code(), err.http_status()), ("InvalidSignatureException", 403));
}

#[test]
fn scope_problems_are_reported_together() {
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/s3/aws5_request, \
                SignedHeaders=host;x-amz-date, Signature=00";
    let req = Req::new(
        "GET",
        "/",
        None,
        &[("Host", "example.amazonaws.com"), ("X-Amz-Date", SUITE_DATE), ("Authorization", auth)],
        b"",
    );
    let err = req.check_with(SECRET, SUITE_NOW, "securityhub").expect_err("must be rejected");
    assert_eq!(
        err.to_string(),
        "Credential should be scoped to correct service: 'securityhub'. Credential should be scoped with a valid \
         terminator: 'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from \
         ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'."
    );
}

#[test]
fn region_check_uses_aws_wording() {
    let parsed = vanilla().parse().expect("parses");
    assert_eq!(parsed.check_region(&["us-east-1", "eu-west-1"]), Ok(()));
    let err = parsed.check_region(&["eu-west-1"]).expect_err("must be rejected");
    assert_eq!(err.to_string(), "Credential should be scoped to a valid region, not 'us-east-1'.");
    assert_eq!(err.code(), "InvalidSignatureException");
}

#[test]
fn host_must_be_signed() {
    // A correct signature over `x-amz-date` alone is still refused.
    let req = suite_req("GET", "/", None, &[], b"", "x-amz-date", &"0".repeat(64));
    let err = req.check().expect_err("must be rejected");
    assert_eq!(err, AuthError::HostNotSigned);
    assert_eq!(err.to_string(), "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

#[test]
fn x_amz_date_must_be_signed() {
    let req = suite_req("GET", "/", None, &[], b"", "host", &"0".repeat(64));
    assert_eq!(req.check().expect_err("must be rejected"), AuthError::DateNotSigned);
}

#[test]
fn unsigned_x_amz_header_is_refused() {
    // get-vanilla's valid signature, plus an x-amz-* header that is not signed.
    let req = suite_req(
        "GET",
        "/",
        None,
        &[("X-Amz-Target", "SecurityHubAPIService.GetFindings"), ("X-Amzn-Trace-Id", "Root=1-abc")],
        b"",
        "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
    let err = req.check().expect_err("must be rejected");
    // x-amzn-* (added by load balancers) is not x-amz-*.
    assert_eq!(err, AuthError::UnsignedHeaders { names: vec!["x-amz-target".into()] });
    assert_eq!(err.code(), "InvalidSignatureException");
    // An unsigned header outside x-amz-* does not matter.
    let req = suite_req(
        "GET",
        "/",
        None,
        &[("User-Agent", "curl/8"), ("X-Amzn-Trace-Id", "Root=1-abc")],
        b"",
        "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
    req.check().expect("unsigned non-x-amz headers are fine");
}

#[test]
fn body_is_hashed_when_no_content_sha256_is_sent() {
    // post-x-www-form-urlencoded with one byte of the body changed.
    let req = suite_req(
        "POST",
        "/",
        None,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"Param1=value2",
        "content-type;host;x-amz-date",
        "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    );
    assert_eq!(req.check().expect_err("must be rejected"), AuthError::SignatureDoesNotMatch);
}

#[test]
fn content_sha256_must_match_the_body() {
    let req = suite_req(
        "POST",
        "/",
        None,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", "13"),
            ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
        ],
        b"Param1=value2",
        "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
        "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
    );
    let err = req.check().expect_err("must be rejected");
    assert_eq!(err, AuthError::ContentSha256Mismatch);
    assert_eq!((err.code(), err.http_status()), ("XAmzContentSHA256Mismatch", 400));
}

#[test]
fn streaming_payload_is_refused() {
    let req = suite_req(
        "PUT",
        "/",
        None,
        &[("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")],
        b"",
        "host;x-amz-content-sha256;x-amz-date",
        &"0".repeat(64),
    );
    let err = req.check().expect_err("must be rejected");
    assert!(matches!(err, AuthError::UnsupportedPayload { .. }), "{err:?}");
    assert_eq!(err.http_status(), 400);
}

#[test]
fn unknown_access_key_error_is_aws_shaped() {
    let err = AuthError::UnrecognizedClient;
    assert_eq!(err.code(), "UnrecognizedClientException");
    assert_eq!(err.http_status(), 403);
    assert_eq!(err.to_string(), "The security token included in the request is invalid.");
}

// ---------------------------------------------------------------------------------------------
// Malformed or missing authentication (parse).
// ---------------------------------------------------------------------------------------------

#[test]
fn no_authentication_at_all() {
    let req = Req::new("GET", "/findings", Some("a=b"), &[("Host", "h")], b"");
    let err = req.parse().expect_err("must be rejected");
    assert_eq!(err, AuthError::MissingAuthenticationToken);
    assert_eq!((err.code(), err.http_status()), ("MissingAuthenticationTokenException", 403));
    assert_eq!(err.to_string(), "Missing Authentication Token");
}

#[test]
fn unknown_algorithms() {
    let err = Req::new(
        "GET",
        "/",
        None,
        &[
            ("X-Amz-Date", SUITE_DATE),
            (
                "Authorization",
                "AWS4-ECDSA-P256-SHA256 Credential=A/20150830/service/aws4_request, SignedHeaders=host, Signature=00",
            ),
        ],
        b"",
    )
    .parse()
    .expect_err("must be rejected");
    assert_eq!(err, AuthError::UnsupportedAlgorithm { algorithm: "AWS4-ECDSA-P256-SHA256".into() });
    assert_eq!(
        err.to_string(),
        "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now)."
    );
    assert_eq!((err.code(), err.http_status()), ("IncompleteSignatureException", 400));

    // Not SigV4 at all: AWS answers that the SigV4 parameters are missing.
    for value in ["Bearer eyJhbGciOi.x.y", "AWS AKIDEXAMPLE:qaNdqGsI6bq4Hi+9Gzovwyjbh0E=", ""] {
        let err = Req::new("GET", "/", None, &[("Authorization", value)], b"").parse().expect_err("must be rejected");
        assert_eq!(
            err.to_string(),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' \
             parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires \
             existence of either a 'X-Amz-Date' or a 'Date' header.",
            "{value}"
        );
        assert!(!err.to_string().contains("eyJ"), "the header value is not echoed");
    }
}

/// Each malformed `Authorization` header (with a valid `X-Amz-Date`) and the error it must produce.
#[test]
fn malformed_authorization_headers() {
    let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let cred = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    let cases: Vec<(String, &str)> = vec![
        (
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;x-amz-date"),
            "Authorization header requires 'Signature' parameter.",
        ),
        (
            format!("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={sig}"),
            "Authorization header requires 'Credential' parameter.",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, Signature={sig}"),
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        (
            "AWS4-HMAC-SHA256".to_owned(),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
        ),
        (
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE /20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"
            ),
            "'/20150830/us-east-1/service/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header.",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, SignedHeaders=host;x-amz-date, Signature={sig}"),
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE'",
        ),
        (
            format!(
                "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request/x, SignedHeaders=host;x-amz-date, Signature={sig}"
            ),
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'A/20150830/us-east-1/service/aws4_request/x'",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, {cred}, SignedHeaders=host;x-amz-date, Signature={sig}"),
            "Authorization header has the 'Credential' parameter more than once.",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=x-amz-date;host, Signature={sig}"),
            "SignedHeaders must be a ';'-separated, sorted list of lowercase header names, got 'x-amz-date;host'.",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=Host;x-amz-date, Signature={sig}"),
            "SignedHeaders must be a ';'-separated, sorted list of lowercase header names, got 'Host;x-amz-date'.",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;;x-amz-date, Signature={sig}"),
            "SignedHeaders must be a ';'-separated, sorted list of lowercase header names, got 'host;;x-amz-date'.",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;host, Signature={sig}"),
            "SignedHeaders must be a ';'-separated, sorted list of lowercase header names, got 'host;host'.",
        ),
        (
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=, Signature={sig}"),
            "SignedHeaders must be a ';'-separated, sorted list of lowercase header names, got ''.",
        ),
    ];
    for (value, message) in &cases {
        let req = Req::new(
            "GET",
            "/",
            None,
            &[("Host", "example.amazonaws.com"), ("X-Amz-Date", SUITE_DATE), ("Authorization", value)],
            b"",
        );
        let err = req.parse().expect_err("must be rejected");
        assert_eq!(err.to_string(), *message, "{value}");
        assert_eq!((err.code(), err.http_status()), ("IncompleteSignatureException", 400), "{value}");
    }

    // Tolerated variants: no space after commas, unknown extra parameters.
    let tolerated = format!("AWS4-HMAC-SHA256 {cred},SignedHeaders=host;x-amz-date,Signature={sig},Extra=1");
    let req = Req::new(
        "GET",
        "/",
        None,
        &[("Host", "example.amazonaws.com"), ("X-Amz-Date", SUITE_DATE), ("Authorization", &tolerated)],
        b"",
    );
    req.check().expect("compact header verifies");

    // A wrong signature of any shape is a mismatch, not a crash.
    for bad_sig in ["", "zz", "5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31", &"a".repeat(200)] {
        let value = format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;x-amz-date, Signature={bad_sig}");
        let req = Req::new(
            "GET",
            "/",
            None,
            &[("Host", "example.amazonaws.com"), ("X-Amz-Date", SUITE_DATE), ("Authorization", &value)],
            b"",
        );
        assert_eq!(req.check().expect_err("must be rejected"), AuthError::SignatureDoesNotMatch, "{bad_sig}");
    }
}

#[test]
fn missing_or_malformed_date() {
    let value = suite_auth("host;x-amz-date", "00");
    let err = Req::new("GET", "/", None, &[("Host", "h"), ("Authorization", &value)], b"")
        .parse()
        .expect_err("must be rejected");
    assert_eq!(err.to_string(), "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    for date in ["2015-08-30T12:36:00Z", "20150830", "20150230T123600Z", "20150830T123600+0100"] {
        let err = Req::new("GET", "/", None, &[("X-Amz-Date", date), ("Authorization", &value)], b"")
            .parse()
            .expect_err("must be rejected");
        assert_eq!(
            err.to_string(),
            format!("Date must be in ISO-8601 'basic format'. Got '{date}'. See http://en.wikipedia.org/wiki/ISO_8601")
        );
        assert_eq!(err.code(), "IncompleteSignatureException");
    }
    let twice = Req::new(
        "GET",
        "/",
        None,
        &[("X-Amz-Date", SUITE_DATE), ("X-Amz-Date", SUITE_DATE), ("Authorization", &value)],
        b"",
    );
    assert!(matches!(twice.parse(), Err(AuthError::MalformedAuthorization { .. })));
}

#[test]
fn oversized_and_non_ascii_headers_are_refused_cheaply() {
    let huge = format!("AWS4-HMAC-SHA256 Credential={}", "A".repeat(sigv4::MAX_AUTHORIZATION_LEN));
    let req = Req::new("GET", "/", None, &[("X-Amz-Date", SUITE_DATE), ("Authorization", &huge)], b"");
    assert!(matches!(req.parse(), Err(AuthError::MalformedAuthorization { .. })));

    let mut map = headers(&[("X-Amz-Date", SUITE_DATE)]);
    map.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_bytes(b"AWS4-HMAC-SHA256 Credential=\xff").expect("obs-text"),
    );
    let req = Req { method: "GET", path: "/".into(), query: None, headers: map, body: vec![] };
    assert!(matches!(req.parse(), Err(AuthError::MalformedAuthorization { .. })));

    let many: Vec<String> = (0..=sigv4::MAX_SIGNED_HEADERS).map(|i| format!("h{i:04}")).collect();
    let value = suite_auth(&many.join(";"), "00");
    let req = Req::new("GET", "/", None, &[("X-Amz-Date", SUITE_DATE), ("Authorization", &value)], b"");
    assert_eq!(req.parse().expect_err("must be rejected").to_string(), "SignedHeaders lists more than 128 headers.");

    let twice =
        Req::new("GET", "/", None, &[("X-Amz-Date", SUITE_DATE), ("Authorization", "a"), ("Authorization", "b")], b"");
    assert!(matches!(twice.parse(), Err(AuthError::MalformedAuthorization { .. })));
}

#[test]
fn both_header_and_presigned_is_ambiguous() {
    let value = suite_auth("host;x-amz-date", "00");
    let req = Req::new(
        "GET",
        "/",
        Some("X-Amz-Algorithm=AWS4-HMAC-SHA256"),
        &[("X-Amz-Date", SUITE_DATE), ("Authorization", &value)],
        b"",
    );
    let err = req.parse().expect_err("must be rejected");
    assert_eq!(err, AuthError::AmbiguousAuthentication);
    assert_eq!(err.http_status(), 400);
}

#[test]
fn malformed_presigned_queries() {
    let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request\
                &X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
    let cases = [
        (
            base.to_owned(),
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ),
        (
            format!("{base}&X-Amz-Expires=604801"),
            "X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than 604800 seconds",
        ),
        (format!("{base}&X-Amz-Expires=-5"), "X-Amz-Expires must be non-negative"),
        (format!("{base}&X-Amz-Expires=ten"), "X-Amz-Expires should be a number"),
        (
            format!("{base}&X-Amz-Expires=60&X-Amz-Expires=60"),
            "The query parameter 'X-Amz-Expires' is present more than once.",
        ),
        (
            "X-Amz-Signature=00".to_owned(),
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ),
    ];
    for (query, message) in &cases {
        let err = Req::new("GET", "/", Some(query), &[("Host", "h")], b"").parse().expect_err("must be rejected");
        assert_eq!(err.to_string(), *message, "{query}");
        assert_eq!(err.http_status(), 400);
    }
    let sha1 = base.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1") + "&X-Amz-Expires=60";
    assert!(matches!(Req::new("GET", "/", Some(&sha1), &[], b"").parse(), Err(AuthError::UnsupportedAlgorithm { .. })));
}

// ---------------------------------------------------------------------------------------------
// Oracle: requests signed by aws-sigv4 (AWS's Rust signer) must verify; any mutation must not.
// ---------------------------------------------------------------------------------------------

mod oracle {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{
        PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    use aws_sigv4::sign::v4::SigningParams;
    use aws_smithy_runtime_api::client::identity::Identity;
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    use proptest::prelude::*;
    use std::time::SystemTime;

    const HOST: &str = "securityhub.us-east-1.amazonaws.com";
    const REGION: &str = "us-east-1";
    const SERVICE: &str = "securityhub";
    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const KEY_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// 2024-05-01T10:20:30Z: mid-day, so a one-second date change never crosses midnight.
    const SIGNED_AT: OffsetDateTime = datetime!(2024-05-01 10:20:30 UTC);

    /// What the SDKs leave unencoded: RFC 3986 unreserved (and `/` in greedy labels).
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    const GREEDY: &AsciiSet = &UNRESERVED.remove(b'/');

    #[derive(Debug, Clone)]
    pub struct Case {
        method: &'static str,
        path: String,
        query: Option<String>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        session_token: Option<String>,
    }

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "[a-zA-Z0-9 :/+=%~._-]{1,12}",
            // ARN-shaped greedy labels.
            3 => "[a-z0-9]{1,6}".prop_map(|id| format!("arn:aws:securityhub:us-east-1:123456789012:insight/123/custom/{id} x+y")),
            1 => Just("é ሴ".to_owned()),
            1 => Just(".".to_owned()),
            1 => Just("..".to_owned()),
        ]
    }

    fn query_pair() -> impl Strategy<Value = (String, Option<String>)> {
        ("[a-zA-Z0-9 :/+=&%~._-]{0,8}", proptest::option::weighted(0.9, "[a-zA-Z0-9 :/+=&%~._é-]{0,12}"))
    }

    fn header_value() -> impl Strategy<Value = String> {
        // Printable ASCII, with runs of spaces inside and around.
        "[ -~]{0,20}".prop_map(|v| format!("  {v}  a   b "))
    }

    prop_compose! {
        pub fn case()(
            method in prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]),
            segments in prop::collection::vec(segment(), 0..5),
            trailing_slash in any::<bool>(),
            query in prop::option::of(prop::collection::vec(query_pair(), 0..5)),
            custom in prop::collection::vec(header_value(), 0..3),
            body in prop_oneof![
                Just(Vec::new()),
                "[ -~]{0,40}".prop_map(|s| format!("{{\"Filters\":{{\"Title\":[{{\"Value\":\"{s}\"}}]}}}}").into_bytes()),
                prop::collection::vec(any::<u8>(), 0..64),
            ],
            session_token in prop::option::weighted(0.2, "[A-Za-z0-9/+=]{16,40}"),
            user_agent in any::<bool>(),
        ) -> Case {
            let mut path: String = segments.iter().map(|s| format!("/{}", utf8_percent_encode(s, GREEDY))).collect();
            if path.is_empty() || trailing_slash {
                path.push('/');
            }
            let query = query.map(|pairs| {
                pairs
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{}={}", utf8_percent_encode(k, UNRESERVED), utf8_percent_encode(v, UNRESERVED)),
                        None => utf8_percent_encode(k, UNRESERVED).to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("&")
            });
            let mut headers = vec![("content-type".to_owned(), "application/x-amz-json-1.1".to_owned())];
            for (i, v) in custom.into_iter().enumerate() {
                headers.push((format!("x-custom-{i}"), v));
            }
            if user_agent {
                headers.push(("x-amz-user-agent".to_owned(), "aws-sdk-rust/1.3 os/linux".to_owned()));
            }
            Case { method, path, query, headers, body, session_token }
        }
    }

    fn uri(case: &Case) -> String {
        match &case.query {
            Some(q) => format!("https://{HOST}{}?{q}", case.path),
            None => format!("https://{HOST}{}", case.path),
        }
    }

    /// Signs with aws-sigv4 and returns the request as the server receives it.
    pub fn signed(case: &Case, presign: Option<std::time::Duration>, unsigned_payload: bool) -> Req {
        let identity: Identity =
            Credentials::new(KEY_ID, KEY_SECRET, case.session_token.clone(), None, "oracle").into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Double;
        settings.excluded_headers = None;
        if let Some(expires) = presign {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(expires);
        }
        let params = SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name(SERVICE)
            .time(SystemTime::from(SIGNED_AT))
            .settings(settings)
            .build()
            .expect("signing params")
            .into();
        let body = if unsigned_payload { SignableBody::UnsignedPayload } else { SignableBody::Bytes(&case.body) };
        let signable = SignableRequest::new(
            case.method,
            uri(case),
            case.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            body,
        )
        .expect("signable request");
        let (instructions, _signature) = sign(signable, &params).expect("signing").into_parts();
        let (extra_headers, extra_params) = instructions.into_parts();

        let mut map = HeaderMap::new();
        map.insert(http::header::HOST, HeaderValue::from_static(HOST));
        for (n, v) in &case.headers {
            map.append(HeaderName::from_bytes(n.as_bytes()).expect("name"), HeaderValue::from_str(v).expect("value"));
        }
        for h in &extra_headers {
            map.insert(HeaderName::from_static(h.name()), HeaderValue::from_str(h.value()).expect("signed value"));
        }
        let mut query = case.query.clone();
        if !extra_params.is_empty() {
            let added: Vec<String> = extra_params
                .iter()
                .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, UNRESERVED), utf8_percent_encode(v, UNRESERVED)))
                .collect();
            query = Some(match query {
                Some(q) if !q.is_empty() => format!("{q}&{}", added.join("&")),
                _ => added.join("&"),
            });
        }
        Req { method: case.method, path: case.path.clone(), query, headers: map, body: case.body.clone() }
    }

    fn verify(req: &Req, now: OffsetDateTime) -> Result<ParsedSignature, AuthError> {
        req.check_with(KEY_SECRET, now, SERVICE)
    }

    #[derive(Debug, Clone, Copy)]
    pub enum Mutation {
        Method,
        Path,
        Query,
        HeaderValue,
        Body,
        Secret,
        Date,
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop::sample::select(vec![
            Mutation::Method,
            Mutation::Path,
            Mutation::Query,
            Mutation::HeaderValue,
            Mutation::Body,
            Mutation::Secret,
            Mutation::Date,
        ])
    }

    fn config() -> ProptestConfig {
        ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn sdk_signed_requests_verify(case in case(), skew in -900i64..=900) {
            let req = signed(&case, None, false);
            let now = SIGNED_AT + Duration::seconds(skew);
            let parsed = verify(&req, now);
            prop_assert!(parsed.is_ok(), "{:?}\n{:?}", parsed, case);
            let parsed = parsed.unwrap_or_else(|_| unreachable!());
            prop_assert_eq!(parsed.access_key_id(), KEY_ID);
            prop_assert_eq!(parsed.security_token(), case.session_token.as_deref());
        }

        #[test]
        fn any_single_mutation_is_rejected(case in case(), m in mutation(), pick in any::<prop::sample::Index>()) {
            let mut req = signed(&case, None, false);
            let mut secret = KEY_SECRET;
            match m {
                Mutation::Method => req.method = if req.method == "GET" { "HEAD" } else { "GET" },
                Mutation::Path => req.path.push('x'),
                Mutation::Query => {
                    req.query = Some(match req.query.take() {
                        Some(q) if !q.is_empty() => format!("{q}&extra=1"),
                        _ => "extra=1".to_owned(),
                    });
                }
                Mutation::HeaderValue => {
                    let names: Vec<HeaderName> = req.headers.keys()
                        .filter(|n| *n != http::header::AUTHORIZATION && n.as_str() != "x-amz-date")
                        .cloned().collect();
                    let name = pick.get(&names).clone();
                    let old = req.headers.get(&name).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
                    let mut new = old.clone();
                    new.push(b'Z');
                    req.headers.insert(name, HeaderValue::from_bytes(&new).expect("value"));
                }
                Mutation::Body => {
                    if req.body.is_empty() {
                        req.body.push(b'{');
                    } else {
                        let i = pick.index(req.body.len());
                        req.body[i] ^= 1;
                    }
                }
                Mutation::Secret => secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ",
                Mutation::Date => {
                    let later = SIGNED_AT + Duration::seconds(1);
                    let value = format!(
                        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                        later.year(), u8::from(later.month()), later.day(), later.hour(), later.minute(), later.second()
                    );
                    req.headers.insert("x-amz-date", HeaderValue::from_str(&value).expect("date"));
                }
            }
            let result = req.check_with(secret, SIGNED_AT, SERVICE);
            prop_assert_eq!(result.err(), Some(AuthError::SignatureDoesNotMatch), "{:?} {:?}", m, case);
        }

        #[test]
        fn presigned_requests_verify_until_they_expire(
            case in case(),
            expires in 1u64..=604_800,
            unsigned_payload in any::<bool>(),
        ) {
            let mut case = case;
            case.headers.retain(|(n, _)| !n.starts_with("x-amz-"));
            let req = signed(&case, Some(std::time::Duration::from_secs(expires)), unsigned_payload);
            let expires_i = i64::try_from(expires).unwrap_or(i64::MAX);
            let parsed = verify(&req, SIGNED_AT + Duration::seconds(expires_i));
            prop_assert!(parsed.is_ok(), "{:?}\n{:?}\n{:?}", parsed, case, req.query);
            let parsed = parsed.unwrap_or_else(|_| unreachable!());
            prop_assert_eq!(parsed.location(), AuthLocation::Presigned { expires: Duration::seconds(expires_i) });
            prop_assert!(verify(&req, SIGNED_AT - Duration::minutes(15)).is_ok());
            prop_assert_eq!(verify(&req, SIGNED_AT + Duration::seconds(expires_i + 1)).err(), Some(AuthError::PresignedExpired));
            prop_assert_eq!(
                verify(&req, SIGNED_AT - Duration::seconds(15 * 60 + 1)).err(),
                Some(AuthError::PresignedNotYetValid)
            );
            // Presigned query values are covered too.
            let mut tampered = req;
            tampered.query = tampered.query.map(|q| q.replace("X-Amz-Expires=", "X-Amz-Expires=1"));
            prop_assert!(verify(&tampered, SIGNED_AT).is_err());
        }
    }

    #[test]
    fn presigned_expiry_message() {
        let case = Case {
            method: "GET",
            path: "/findings".into(),
            query: Some("MaxResults=5".into()),
            headers: vec![],
            body: vec![],
            session_token: None,
        };
        let req = signed(&case, Some(std::time::Duration::from_secs(60)), false);
        assert!(req.query.as_deref().is_some_and(|q| q.contains("X-Amz-Signature=")));
        verify(&req, SIGNED_AT + Duration::seconds(60)).expect("valid at the last second");
        let err = verify(&req, SIGNED_AT + Duration::seconds(61)).expect_err("must be rejected");
        assert_eq!(err.to_string(), "Request has expired");
        assert_eq!((err.code(), err.http_status()), ("InvalidSignatureException", 403));
    }

    #[test]
    fn unsigned_payload_header_is_accepted_and_binds_nothing_else() {
        let case = Case {
            method: "POST",
            path: "/findings/import".into(),
            query: None,
            headers: vec![("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into())],
            body: b"{\"Findings\":[]}".to_vec(),
            session_token: None,
        };
        let mut req = signed(&case, None, true);
        verify(&req, SIGNED_AT).expect("UNSIGNED-PAYLOAD verifies");
        req.body = b"{\"Findings\":[1]}".to_vec();
        verify(&req, SIGNED_AT).expect("the body is not covered by UNSIGNED-PAYLOAD");
        req.path.push('x');
        assert_eq!(verify(&req, SIGNED_AT).expect_err("must be rejected"), AuthError::SignatureDoesNotMatch);
    }

    #[test]
    fn arn_paths_verify_only_with_double_encoding() {
        // The two request shapes that single encoding fails (research note, §2.1).
        for path in [
            "/insights/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A123456789012%3Ainsight/123456789012/custom/a1b2%20c3%2Bd4",
            "/tags/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A123456789012%3Ahub%2Fdefault",
        ] {
            let case = Case {
                method: "DELETE",
                path: path.into(),
                query: None,
                headers: vec![],
                body: vec![],
                session_token: None,
            };
            let req = signed(&case, None, false);
            verify(&req, SIGNED_AT).expect("double-encoded ARN path verifies");
        }
    }
}

#[test]
fn what_sign_signs_verifies_and_nothing_else_does() {
    use findinghub_api::sigv4::{SignedRequest, parse, sign, verify};
    let now = time::OffsetDateTime::now_utc();
    let mut headers = http::HeaderMap::new();
    headers.insert("host", http::HeaderValue::from_static("127.0.0.1:4680"));
    headers.insert("content-type", http::HeaderValue::from_static("application/json"));
    let body = br#"{"Filters":{}}"#;
    let path = "/tags/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A111111111111%3Ahub%2Fdefault";
    sign("GET", path, Some("a=b"), &mut headers, body, "AKIAEXAMPLE", "secret", "us-east-1", "securityhub", now)
        .expect("sign");
    let req = SignedRequest { method: "GET", raw_path: path, raw_query: Some("a=b"), headers: &headers, body };
    let parsed = parse(&req).expect("parse");
    assert_eq!(parsed.access_key_id(), "AKIAEXAMPLE");
    verify(&req, &parsed, "secret", now, "securityhub").expect("verifies");
    assert!(verify(&req, &parsed, "other", now, "securityhub").is_err());
    let tampered = SignedRequest { body: b"{}", ..req };
    assert!(verify(&tampered, &parsed, "secret", now, "securityhub").is_err());
}
