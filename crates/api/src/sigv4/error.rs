//! The authentication errors, each with the code, HTTP status and message an AWS JSON service answers.
//!
//! Where each wording comes from (see also the module documentation of [`super`]):
//!
//! * AWS's IAM guide "Troubleshoot signed requests for AWS APIs": "Missing Authentication Token",
//!   "Signature expired: … is now earlier than …", "Signature not yet current: … is still later than …",
//!   "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
//!   "Credential should be scoped to a valid Region, not …", "Credential should be scoped to correct
//!   service: '…'", "The request signature we calculated does not match the signature you provided".
//! * Answers of real AWS JSON endpoints quoted verbatim in public bug reports: the full forms of the
//!   messages above (with `(… - 15 min.)`), "The security token included in the request is invalid."
//!   (`UnrecognizedClientException`, 403, with `x-amzn-ErrorType`), "Authorization header requires
//!   'Credential' parameter. …", "'…' not a valid key=value pair (missing equal-sign) in Authorization
//!   header: …", "Credential must have exactly 5 slash-delimited elements, e.g.
//!   keyid/date/region/service/term, got '…'", "Date must be in ISO-8601 'basic format'. Got '…'. See
//!   `http://en.wikipedia.org/wiki/ISO_8601`", "Unsupported AWS 'algorithm': '…' (only AWS4-HMAC-SHA256
//!   for now).", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
//!   "Credential should be scoped with a valid terminator: 'aws4_request', not '…'.".
//! * Amazon S3 (the only AWS service documenting presigned-URL errors): "Request has expired",
//!   "Request is not valid yet", the `X-Amz-Expires` messages, "Only one auth mechanism allowed; …",
//!   "There were headers present in the request which were not signed", and
//!   `XAmzContentSHA256Mismatch` "The provided 'x-amz-content-sha256' header does not match what was
//!   computed.".
//! * Ours, where AWS's wording is unknown: "'X-Amz-Date' must be a 'SignedHeader' in the AWS
//!   Authorization." (patterned on the Host message), the SignedHeaders-syntax message, the
//!   duplicate-parameter and length messages, and the `STREAMING-*` payload message.
//!
//! Statuses: AWS JSON services behind the REST frontend (Lambda, MediaStore, API Gateway style — the family
//! `restJson1` Security Hub belongs to) answer signature failures with 403; `awsJson` services answer
//! 400 for the same messages. `IncompleteSignature` is 400 as in AWS's "Common Errors" list.
//! Echoed client input is cut to [`ECHO_LIMIT`] characters, and the `Authorization` header value itself
//! is never echoed (AWS appends `Authorization=<value>` to some messages; we don't, so that a bearer
//! token sent to the wrong server never reaches our logs).

use std::fmt;

/// The longest piece of client input an error message repeats.
pub const ECHO_LIMIT: usize = 128;

/// Why a request failed authentication. Every variant maps to an AWS error code, an HTTP status and a
/// message in AWS's wording ([`AuthError::code`], [`AuthError::http_status`], `Display`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither an `Authorization` header nor presigned query parameters.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,

    /// An `AWS4-…` algorithm other than `AWS4-HMAC-SHA256` (e.g. SigV4a's `AWS4-ECDSA-P256-SHA256`).
    #[error("Unsupported AWS 'algorithm': '{}' (only AWS4-HMAC-SHA256 for now).", echo(.algorithm))]
    UnsupportedAlgorithm { algorithm: String },

    /// `Credential`, `SignedHeaders`, `Signature` or the date header are missing (also what AWS says to a
    /// non-SigV4 scheme such as `Bearer …` or SigV2's `AWS AKID:sig`).
    #[error("{}", missing_parameters(*.credential, *.signed_headers, *.signature, *.date))]
    MissingAuthorizationParameters { credential: bool, signed_headers: bool, signature: bool, date: bool },

    /// A comma-separated element of the `Authorization` header without `=`.
    #[error("'{}' not a valid key=value pair (missing equal-sign) in Authorization header.", echo(.element))]
    NotKeyValuePair { element: String },

    /// Any other syntax problem of the `Authorization` header or of the presigned query.
    #[error("{detail}")]
    MalformedAuthorization { detail: String },

    /// `Credential` is not `AKID/YYYYMMDD/region/service/aws4_request`.
    #[error(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
        echo(.credential)
    )]
    MalformedCredential { credential: String },

    /// `X-Amz-Date` is not `YYYYMMDD'T'HHMMSS'Z'`.
    #[error("Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601", echo(.value))]
    MalformedDate { value: String },

    /// Both an `Authorization` header and presigned query parameters.
    #[error(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string \
         parameter or the Authorization header should be specified"
    )]
    AmbiguousAuthentication,

    /// The access key id is unknown (raised by the caller after its credential lookup).
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,

    /// The credential scope names another date, region or service, or a wrong terminator.
    #[error("{}", join_problems(.problems))]
    InvalidScope { problems: Vec<ScopeProblem> },

    /// Header authentication: `X-Amz-Date` more than 15 minutes in the past.
    #[error("Signature expired: {amz_date} is now earlier than {earliest} ({now} - 15 min.)")]
    SignatureExpired { amz_date: String, earliest: String, now: String },

    /// Header authentication: `X-Amz-Date` more than 15 minutes in the future.
    #[error("Signature not yet current: {amz_date} is still later than {latest} ({now} + 15 min.)")]
    SignatureNotYetCurrent { amz_date: String, latest: String, now: String },

    /// Presigned: `X-Amz-Date + X-Amz-Expires` has passed.
    #[error("Request has expired")]
    PresignedExpired,

    /// Presigned: `X-Amz-Date` more than 15 minutes in the future.
    #[error("Request is not valid yet")]
    PresignedNotYetValid,

    /// `host` is not in the signed headers.
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,

    /// Header authentication: `x-amz-date` is not in the signed headers.
    #[error("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")]
    DateNotSigned,

    /// Some `x-amz-*` headers of the request are not signed.
    #[error("There were headers present in the request which were not signed: {}", echo(&.names.join(", ")))]
    UnsignedHeaders { names: Vec<String> },

    /// `x-amz-content-sha256: STREAMING-…` (aws-chunked uploads are an S3 feature).
    #[error(
        "x-amz-content-sha256 '{}' is not supported by this service: send the whole body with its SHA-256 \
         or UNSIGNED-PAYLOAD.",
        echo(.value)
    )]
    UnsupportedPayload { value: String },

    /// `x-amz-content-sha256` is neither `UNSIGNED-PAYLOAD` nor the SHA-256 of the body received.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,

    /// The recomputed signature differs (wrong secret, or the request was changed after signing).
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
         Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureDoesNotMatch,
}

impl AuthError {
    /// The error code, as AWS JSON services send it in `x-amzn-ErrorType` and `__type`.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthError::UnsupportedAlgorithm { .. }
            | AuthError::MissingAuthorizationParameters { .. }
            | AuthError::NotKeyValuePair { .. }
            | AuthError::MalformedAuthorization { .. }
            | AuthError::MalformedCredential { .. }
            | AuthError::MalformedDate { .. }
            | AuthError::AmbiguousAuthentication
            | AuthError::UnsupportedPayload { .. } => "IncompleteSignatureException",
            AuthError::UnrecognizedClient => "UnrecognizedClientException",
            AuthError::ContentSha256Mismatch => "XAmzContentSHA256Mismatch",
            AuthError::InvalidScope { .. }
            | AuthError::SignatureExpired { .. }
            | AuthError::SignatureNotYetCurrent { .. }
            | AuthError::PresignedExpired
            | AuthError::PresignedNotYetValid
            | AuthError::HostNotSigned
            | AuthError::DateNotSigned
            | AuthError::UnsignedHeaders { .. }
            | AuthError::SignatureDoesNotMatch => "InvalidSignatureException",
        }
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            AuthError::UnsupportedAlgorithm { .. }
            | AuthError::MissingAuthorizationParameters { .. }
            | AuthError::NotKeyValuePair { .. }
            | AuthError::MalformedAuthorization { .. }
            | AuthError::MalformedCredential { .. }
            | AuthError::MalformedDate { .. }
            | AuthError::AmbiguousAuthentication
            | AuthError::UnsupportedPayload { .. }
            | AuthError::ContentSha256Mismatch => 400,
            AuthError::MissingAuthenticationToken
            | AuthError::UnrecognizedClient
            | AuthError::InvalidScope { .. }
            | AuthError::SignatureExpired { .. }
            | AuthError::SignatureNotYetCurrent { .. }
            | AuthError::PresignedExpired
            | AuthError::PresignedNotYetValid
            | AuthError::HostNotSigned
            | AuthError::DateNotSigned
            | AuthError::UnsignedHeaders { .. }
            | AuthError::SignatureDoesNotMatch => 403,
        }
    }

    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        AuthError::MalformedAuthorization { detail: detail.into() }
    }
}

/// One way in which the credential scope `YYYYMMDD/region/service/aws4_request` is wrong. AWS lists every
/// problem of a request in one message, in this order: region, service, terminator, date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeProblem {
    /// The region is not one the server accepts.
    Region { region: String },
    /// The service is not the expected signing name.
    Service { expected: String },
    /// The fifth element is not `aws4_request`.
    Terminator { found: String },
    /// The date differs from the date part of `X-Amz-Date`.
    Date { scope_date: String, amz_date: String },
}

impl fmt::Display for ScopeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeProblem::Region { region } => {
                write!(f, "Credential should be scoped to a valid region, not '{}'.", echo(region))
            }
            ScopeProblem::Service { expected } => {
                write!(f, "Credential should be scoped to correct service: '{}'.", echo(expected))
            }
            ScopeProblem::Terminator { found } => {
                write!(f, "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.", echo(found))
            }
            ScopeProblem::Date { scope_date, amz_date } => write!(
                f,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
                 '{}' != '{}', from '{}'.",
                echo(scope_date),
                amz_date.get(..8).unwrap_or(amz_date),
                amz_date
            ),
        }
    }
}

fn join_problems(problems: &[ScopeProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

fn missing_parameters(credential: bool, signed_headers: bool, signature: bool, date: bool) -> String {
    let mut out = Vec::new();
    if credential {
        out.push("Authorization header requires 'Credential' parameter.");
    }
    if signature {
        out.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers {
        out.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if date {
        out.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    }
    out.join(" ")
}

/// Client input as repeated in a message: at most [`ECHO_LIMIT`] characters, control characters dropped.
pub(crate) fn echo(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(ECHO_LIMIT).collect()
}
