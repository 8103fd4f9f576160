//! BatchUpdateFindings requests: what is accepted, and the InvalidInputException for what is not.

use findinghub_hub::finding::{CustomerTouched, FindingKey, SharedField, StoredFinding};
use findinghub_hub::update::{UnprocessedReason, apply_update, deduplicate, parse_batch_update};
use serde_json::{Map, Value, json};

fn ids() -> Value {
    json!([{"Id": "f1", "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty"}])
}

#[test]
fn invalid_requests_are_refused_with_a_reason() {
    let long_note = "x".repeat(513);
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "must be a JSON object"),
        (json!({"Workflow": {"Status": "NEW"}}), "Missing required parameter in input: \"FindingIdentifiers\""),
        (json!({"FindingIdentifiers": [], "Workflow": {"Status": "NEW"}}), "between 1 and 100"),
        (
            json!({"FindingIdentifiers": vec![json!({"Id": "a", "ProductArn": "p"}); 101], "Confidence": 1}),
            "between 1 and 100",
        ),
        (json!({"FindingIdentifiers": [{"Id": "a"}], "Confidence": 1}), "FindingIdentifiers.ProductArn"),
        (json!({"FindingIdentifiers": ids()}), "At least one field to update"),
        (json!({"FindingIdentifiers": ids(), "Title": "x"}), "Unknown parameter in input: \"Title\""),
        (json!({"FindingIdentifiers": ids(), "UpdatedAt": "2024-01-01T00:00:00Z"}), "Unknown parameter"),
        (json!({"FindingIdentifiers": ids(), "Confidence": 101}), "Confidence must be an integer from 0 to 100"),
        (json!({"FindingIdentifiers": ids(), "Criticality": -1}), "Criticality must be an integer from 0 to 100"),
        (json!({"FindingIdentifiers": ids(), "Severity": {"Label": "SEVERE"}}), "Severity.Label must be one of"),
        (json!({"FindingIdentifiers": ids(), "Severity": {}}), "Severity must have a Label or a Normalized value"),
        (json!({"FindingIdentifiers": ids(), "Severity": {"Normalized": 300}}), "Severity.Normalized"),
        (json!({"FindingIdentifiers": ids(), "VerificationState": "MAYBE"}), "VerificationState must be one of"),
        (json!({"FindingIdentifiers": ids(), "Workflow": {"Status": "ASSIGNED"}}), "Workflow.Status must be one of"),
        (json!({"FindingIdentifiers": ids(), "Note": {"Text": "x"}}), "Note.UpdatedBy"),
        (
            json!({"FindingIdentifiers": ids(), "Note": {"Text": "  ", "UpdatedBy": "me"}}),
            "Note.Text must not be blank",
        ),
        (
            json!({"FindingIdentifiers": ids(), "Note": {"Text": long_note, "UpdatedBy": "me"}}),
            "Note.Text should NOT be longer than 512 characters",
        ),
        (json!({"FindingIdentifiers": ids(), "Types": ["a/b/c/d"]}), "invalid type"),
        (json!({"FindingIdentifiers": ids(), "Types": vec!["TTPs"; 51]}), "more than 50 items"),
        (json!({"FindingIdentifiers": ids(), "UserDefinedFields": {"k": 1}}), "map of strings"),
        (
            json!({"FindingIdentifiers": ids(), "RelatedFindings": vec![json!({"Id": "a", "ProductArn": "p"}); 11]}),
            "between 0 and 10",
        ),
    ];
    for (request, expected) in cases {
        match parse_batch_update(&request) {
            Ok(r) => panic!("accepted {request}: {r:?}"),
            Err(e) => assert!(e.0.contains(expected), "{request}: got {:?}, expected it to contain {expected:?}", e.0),
        }
    }
}

fn stored() -> StoredFinding {
    let doc: Map<String, Value> = match json!({
        "Id": "f1", "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty", "AwsAccountId": "111111111111",
        "UpdatedAt": "2024-01-01T00:00:00Z", "Severity": {"Label": "HIGH", "Normalized": 70, "Original": "8.0"},
        "Workflow": {"Status": "NEW"}, "Types": ["TTPs/Discovery"]
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let key = FindingKey::of(&doc, "us-east-1").expect("key");
    StoredFinding { key, doc, touched: CustomerTouched::default() }
}

#[test]
fn an_update_sets_exactly_what_it_names() {
    let request = parse_batch_update(&json!({
        "FindingIdentifiers": ids(),
        "Severity": {"Normalized": 95},
        "Workflow": {"Status": "SUPPRESSED"},
        "UserDefinedFields": {"ticket": "SEC-1"}
    }))
    .expect("valid");
    let before = stored();
    let (after, history) =
        apply_update(&before, &request.update, 1_704_067_200_000_000, "arn:aws:iam::111111111111:user/a")
            .expect("applies");
    assert_eq!(after.doc["Severity"], json!({"Label": "CRITICAL", "Normalized": 95, "Original": "8.0"}));
    assert_eq!(after.doc["Workflow"], json!({"Status": "SUPPRESSED"}));
    assert_eq!(after.doc["UserDefinedFields"], json!({"ticket": "SEC-1"}));
    assert_eq!(after.doc["UpdatedAt"], before.doc["UpdatedAt"]);
    assert_eq!(after.doc["Types"], before.doc["Types"]);
    assert!(after.touched.contains(SharedField::Severity));
    assert!(!after.touched.contains(SharedField::Types));
    let fields: Vec<&str> = history.updates.iter().map(|u| u.field.as_str()).collect();
    assert_eq!(fields, ["Severity.Label", "Severity.Normalized", "UserDefinedFields", "Workflow.Status"]);
    assert_eq!(history.identity, "arn:aws:iam::111111111111:user/a");
}

#[test]
fn an_update_that_would_pass_240_kb_is_refused() {
    let mut big = stored();
    big.doc.insert("Description".into(), json!("x".repeat(240 * 1024)));
    let request = parse_batch_update(&json!({"FindingIdentifiers": ids(), "Confidence": 5})).expect("valid");
    let result = apply_update(&big, &request.update, 0, "me");
    assert_eq!(result.err(), Some(UnprocessedReason::FindingSizeExceeded));
}

#[test]
fn duplicates_are_set_apart() {
    let request = parse_batch_update(&json!({
        "FindingIdentifiers": [
            {"Id": "a", "ProductArn": "p"}, {"Id": "b", "ProductArn": "p"}, {"Id": "a", "ProductArn": "p"}, {"Id": "a", "ProductArn": "q"}
        ],
        "Confidence": 1
    }))
    .expect("valid");
    let (unique, dups) = deduplicate(&request.identifiers);
    assert_eq!(unique.len(), 3);
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0].id, "a");
}
