//! Matching a request's method and raw path to an operation of the model, as restJson1 binds them:
//! literal segments, `{Label}` (one segment, percent-decoded once, so an ARN arrives with its `/`
//! as `%2F`) and greedy `{Label+}` (the rest of the path, `/` kept).

use crate::operations::{OPERATIONS, Operation};
use crate::wire::percent_decode;

enum Segment<'a> {
    Literal(&'a str),
    Label(&'a str),
    Greedy(&'a str),
}

fn template(uri: &str) -> (Vec<Segment<'_>>, Option<&str>) {
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (uri, None),
    };
    let segments = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(label) => match label.strip_suffix('+') {
                Some(greedy) => Segment::Greedy(greedy),
                None => Segment::Label(label),
            },
            None => Segment::Literal(s),
        })
        .collect();
    (segments, query)
}

/// The operation for `method` and `raw_path` (still percent-encoded), with its decoded labels.
/// When several match, the one with the most literal segments wins (`/insights/get` over
/// `/insights/{InsightArn+}`).
pub fn match_operation(method: &str, raw_path: &str) -> Option<(&'static Operation, Labels)> {
    let parts: Vec<&str> = raw_path.strip_prefix('/')?.split('/').collect();
    // Empty and dot segments never name an operation; refusing them also keeps a signature made
    // for one path (SigV4 normalises dots away) from being replayed on another.
    if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return None;
    }
    let mut best: Option<(usize, &'static Operation, Labels)> = None;
    for op in OPERATIONS.iter().filter(|op| op.method == method) {
        let (segments, _) = template(op.uri);
        let Some((literals, labels)) = match_segments(&segments, &parts) else { continue };
        if best.as_ref().is_none_or(|(n, _, _)| literals > *n) {
            best = Some((literals, op, labels));
        }
    }
    best.map(|(_, op, labels)| (op, labels))
}

/// The decoded URI labels of a request: (label, value).
pub type Labels = Vec<(String, String)>;

fn match_segments(segments: &[Segment<'_>], parts: &[&str]) -> Option<(usize, Labels)> {
    let mut literals = 0;
    let mut labels = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Literal(l) => {
                if parts.get(i) != Some(l) {
                    return None;
                }
                literals += 1;
            }
            Segment::Label(name) => {
                labels.push(((*name).to_owned(), percent_decode(parts.get(i)?)?));
            }
            Segment::Greedy(name) => {
                let rest = parts.get(i..).filter(|r| !r.is_empty())?;
                let decoded: Option<Vec<String>> = rest.iter().map(|p| percent_decode(p)).collect();
                labels.push(((*name).to_owned(), decoded?.join("/")));
                return Some((literals, labels));
            }
        }
    }
    (segments.len() == parts.len()).then_some((literals, labels))
}

/// The model's operation of this name (`GetFindings`, …): for callers inside the process (the
/// console) that run operations through [`handlers::dispatch`](crate::handlers::dispatch).
pub fn operation(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_routes_win_over_labels() {
        let (op, labels) = match_operation("POST", "/insights/get").expect("route");
        assert_eq!(op.name, "GetInsights");
        assert!(labels.is_empty());
        let (op, labels) =
            match_operation("DELETE", "/insights/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A1%3Ainsight/1/custom/a%20b")
                .expect("route");
        assert_eq!(op.name, "DeleteInsight");
        assert_eq!(
            labels,
            [("InsightArn".to_owned(), "arn:aws:securityhub:us-east-1:1:insight/1/custom/a b".to_owned())]
        );
    }

    #[test]
    fn a_plain_label_takes_one_encoded_segment() {
        let (op, labels) =
            match_operation("GET", "/tags/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A1%3Ahub%2Fdefault").expect("route");
        assert_eq!(op.name, "ListTagsForResource");
        assert_eq!(labels[0].1, "arn:aws:securityhub:us-east-1:1:hub/default");
        assert!(match_operation("GET", "/tags/arn/with/slashes").is_none());
    }

    #[test]
    fn method_and_path_select_the_operation() {
        assert_eq!(match_operation("POST", "/findings").map(|(o, _)| o.name), Some("GetFindings"));
        assert_eq!(match_operation("PATCH", "/findings").map(|(o, _)| o.name), Some("UpdateFindings"));
        assert_eq!(match_operation("POST", "/findings/import").map(|(o, _)| o.name), Some("BatchImportFindings"));
        assert_eq!(match_operation("GET", "/accounts").map(|(o, _)| o.name), Some("DescribeHub"));
        assert!(match_operation("PUT", "/findings").is_none());
        assert!(match_operation("GET", "/nothing/here").is_none());
        for odd in ["/findings/", "//findings", "/findings/./import", "/findings/x/../import", "findings"] {
            assert!(match_operation("POST", odd).is_none(), "{odd}");
        }
    }

    #[test]
    fn every_operation_of_the_model_is_reachable_by_its_own_route() {
        for op in OPERATIONS {
            let path: String = op
                .uri
                .split('?')
                .next()
                .unwrap_or_default()
                .split('/')
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let found = match_operation(op.method, &path).map(|(o, _)| o.name);
            assert_eq!(found, Some(op.name), "{} {}", op.method, op.uri);
        }
    }
}
