//! Canonical request, string to sign and signing key (AWS SigV4, non-S3 flavour), over bytes so that no
//! request input can make it fail.

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};

/// Everything but RFC 3986's unreserved characters `A-Z a-z 0-9 - . _ ~` is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// The same, keeping `/` (path segments).
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(crate) const TERMINATOR: &str = "aws4_request";
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical URI of every AWS service but S3: the path as received (still percent-encoded), with
/// empty and dot segments removed as the SDKs do before signing, then percent-encoded once more
/// ("double encoding": `%3A` becomes `%253A`).
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    let normalized = normalize_path(raw_path);
    percent_encode(normalized.as_bytes(), UNRESERVED_AND_SLASH).to_string()
}

/// RFC 3986 §5.2.4 dot-segment removal plus removal of empty segments, keeping a trailing slash.
fn normalize_path(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_owned();
    }
    let needs_work = raw_path.contains("//") || raw_path.split('/').any(|s| s == "." || s == "..");
    if !needs_work && raw_path.starts_with('/') {
        return raw_path.to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(raw_path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    let trailing = ["/", "/.", "/.."].iter().any(|end| raw_path.ends_with(end));
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical query string: every `name=value` pair percent-decoded (`+` stays a plus), re-encoded
/// with the unreserved set, sorted by encoded name then value; `name` alone becomes `name=`.
/// `skip_signature` drops `X-Amz-Signature` (presigned requests).
pub(crate) fn canonical_query(raw_query: Option<&str>, skip_signature: bool) -> String {
    let Some(raw) = raw_query else { return String::new() };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name: Vec<u8> = percent_decode_str(name).collect();
        if skip_signature && name == b"X-Amz-Signature" {
            continue;
        }
        let value: Vec<u8> = percent_decode_str(value).collect();
        pairs.push((percent_encode(&name, UNRESERVED).to_string(), percent_encode(&value, UNRESERVED).to_string()));
    }
    pairs.sort();
    let mut out = String::with_capacity(raw.len() + 16);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// A header value as signed: spaces (only spaces, as S3 and aws-sigv4 do) trimmed at both ends and runs
/// of spaces collapsed to one.
pub(crate) fn push_header_value(out: &mut Vec<u8>, value: &[u8]) {
    let start = value.iter().position(|&b| b != b' ').unwrap_or(value.len());
    let end = value.iter().rposition(|&b| b != b' ').map_or(start, |i| i + 1);
    let mut previous_space = false;
    for &b in &value[start..end] {
        if b == b' ' {
            if !previous_space {
                out.push(b);
            }
            previous_space = true;
        } else {
            out.push(b);
            previous_space = false;
        }
    }
}

/// The canonical request, as bytes (header values need not be UTF-8).
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &http::HeaderMap,
    signed_headers: &[String],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + canonical_uri.len() + canonical_query.len());
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query.as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, value) in headers.get_all(name.as_str()).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_header_value(&mut out, value.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request))
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    // HMAC takes keys of any length, so this never fails; still no panic path.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Option<[u8; 32]> {
    let k_secret = format!("AWS4{secret}");
    let k_date = hmac_sha256(k_secret.as_bytes(), date.as_bytes())?;
    let k_region = hmac_sha256(&k_date, region.as_bytes())?;
    let k_service = hmac_sha256(&k_region, service.as_bytes())?;
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

pub(crate) fn signature_hex(signing_key: &[u8; 32], string_to_sign: &str) -> Option<String> {
    hmac_sha256(signing_key, string_to_sign.as_bytes()).map(hex::encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_normalization_matches_the_sdks() {
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("//example//"), "/example/");
        assert_eq!(normalize_path("/example/.."), "/");
        assert_eq!(normalize_path("/a/./b/../c"), "/a/c");
        assert_eq!(normalize_path("/../x"), "/x");
        assert_eq!(normalize_path("/a/b/."), "/a/b/");
        assert_eq!(normalize_path("/a%2E%2E/b"), "/a%2E%2E/b");
    }

    #[test]
    fn double_encoding_reencodes_percent() {
        assert_eq!(canonical_uri("/tags/arn%3Aaws%3Ax%2Fy"), "/tags/arn%253Aaws%253Ax%252Fy");
        assert_eq!(canonical_uri("/insights/a%20b%2Bc/d"), "/insights/a%2520b%252Bc/d");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(canonical_query(Some("b=2&a=1&a=0&c"), false), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query(Some("k=a+b&k2=a%20b&k3=%7e"), false), "k=a%2Bb&k2=a%20b&k3=~");
        assert_eq!(canonical_query(Some("X-Amz-Signature=ab&x=1"), true), "x=1");
        assert_eq!(canonical_query(Some("&&"), false), "");
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        let mut out = Vec::new();
        push_header_value(&mut out, b"  \"a   b   c\"  ");
        assert_eq!(out, b"\"a b c\"");
        out.clear();
        push_header_value(&mut out, b"    ");
        assert!(out.is_empty());
    }
}
