//! The events that the hub emits when findings change, in EventBridge's envelope, as Security Hub
//! shapes them: one finding per event, `source` `aws.securityhub`, `resources` naming the finding
//! (`<ProductArn>/<Id>`) or the custom action. Stores write them in the transaction of the change
//! (the outbox); the delivery workers send them.

use crate::finding::StoredFinding;
use findinghub_asff::timestamp::{Micros, format_timestamp};
use serde_json::{Value, json};

pub const SOURCE: &str = "aws.securityhub";
pub const FINDINGS_IMPORTED: &str = "Security Hub Findings - Imported";
pub const FINDINGS_CUSTOM_ACTION: &str = "Security Hub Findings - Custom Action";

/// One outbound event, before it has a place in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct HubEvent {
    /// The envelope's `id`: receivers deduplicate on it (delivery is at-least-once).
    pub id: String,
    pub detail_type: &'static str,
    pub account: String,
    pub region: String,
    pub time: Micros,
    pub resources: Vec<String>,
    pub detail: Value,
    /// Events with the same key are delivered to a target in the order they were written: the
    /// finding's identifier hash.
    pub ordering_key: i64,
}

impl HubEvent {
    /// `Security Hub Findings - Imported`: a finding was created or changed (by an import, an
    /// update or an automation).
    pub fn finding_imported(id: String, finding: &StoredFinding, time: Micros) -> HubEvent {
        HubEvent {
            id,
            detail_type: FINDINGS_IMPORTED,
            account: finding.key.account_id.clone(),
            region: finding.key.region.clone(),
            time,
            resources: vec![format!("{}/{}", finding.key.product_arn, finding.key.id)],
            detail: json!({ "findings": [Value::Object(finding.doc.clone())] }),
            ordering_key: finding.key.hash64(),
        }
    }

    /// `Security Hub Findings - Custom Action`: a user sent a finding to an action target.
    pub fn custom_action(id: String, action: &ActionRef<'_>, finding: &StoredFinding, time: Micros) -> HubEvent {
        HubEvent {
            id,
            detail_type: FINDINGS_CUSTOM_ACTION,
            account: action.account.to_owned(),
            region: action.region.to_owned(),
            time,
            resources: vec![action.arn.to_owned()],
            detail: json!({
                "actionName": action.name,
                "actionDescription": action.description,
                "findings": [Value::Object(finding.doc.clone())],
            }),
            ordering_key: finding.key.hash64(),
        }
    }

    /// The event as EventBridge delivers it.
    pub fn envelope(&self) -> Value {
        serde_json::to_value(self.wire()).unwrap_or(Value::Null)
    }

    /// The envelope as JSON text, written without copying the finding (the outbox's form).
    pub fn envelope_json(&self) -> String {
        serde_json::to_string(&self.wire()).unwrap_or_default()
    }

    fn wire(&self) -> Envelope<'_> {
        Envelope {
            version: "0",
            id: &self.id,
            detail_type: self.detail_type,
            source: SOURCE,
            account: &self.account,
            time: event_time(self.time),
            region: &self.region,
            resources: &self.resources,
            detail: Some(&self.detail),
        }
    }
}

/// What the outbox keeps of one event: its columns, and the envelope as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    pub id: String,
    pub ordering_key: i64,
    pub time: Micros,
    pub envelope_json: String,
}

impl HubEvent {
    pub fn outbox_record(&self) -> OutboxRecord {
        OutboxRecord {
            id: self.id.clone(),
            ordering_key: self.ordering_key,
            time: self.time,
            envelope_json: self.envelope_json(),
        }
    }
}

/// `Security Hub Findings - Imported` as the outbox keeps it ([`HubEvent::finding_imported`]'s
/// record), written around `doc_json`, the finding's document as `serde_json::to_string` writes
/// it: a store that keeps that text anyway serialises each finding once, not twice (serialising
/// was a sixth of the server's time on import).
pub fn finding_imported_record(id: String, finding: &StoredFinding, doc_json: &str, time: Micros) -> OutboxRecord {
    let resources = [format!("{}/{}", finding.key.product_arn, finding.key.id)];
    let head = Envelope::<()> {
        version: "0",
        id: &id,
        detail_type: FINDINGS_IMPORTED,
        source: SOURCE,
        account: &finding.key.account_id,
        time: event_time(time),
        region: &finding.key.region,
        resources: &resources,
        detail: None,
    };
    // The head is an object whose last member is `resources`; `detail` goes after it, as the
    // derived serialisation of a whole envelope would put it.
    let mut envelope_json = serde_json::to_string(&head).unwrap_or_default();
    envelope_json.pop();
    envelope_json.reserve(doc_json.len() + 32);
    envelope_json.push_str(r#","detail":{"findings":["#);
    envelope_json.push_str(doc_json);
    envelope_json.push_str("]}}");
    OutboxRecord { id, ordering_key: finding.key.hash64(), time, envelope_json }
}

/// EventBridge's envelope, borrowed from a [`HubEvent`] or from a stored finding.
#[derive(serde::Serialize)]
struct Envelope<'a, D: serde::Serialize + ?Sized = Value> {
    version: &'static str,
    id: &'a str,
    #[serde(rename = "detail-type")]
    detail_type: &'a str,
    source: &'static str,
    account: &'a str,
    time: String,
    region: &'a str,
    resources: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a D>,
}

/// The custom action a finding is sent to.
#[derive(Debug, Clone, Copy)]
pub struct ActionRef<'a> {
    pub arn: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub name: &'a str,
    pub description: &'a str,
}

/// EventBridge's `time`: RFC 3339 in UTC to the second.
pub fn event_time(micros: Micros) -> String {
    let mut s = format_timestamp(micros);
    // "YYYY-MM-DDTHH:MM:SS.mmmZ" → "YYYY-MM-DDTHH:MM:SSZ"
    if s.len() == 24 {
        s.replace_range(19..23, "");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{CustomerTouched, FindingKey};

    fn finding() -> StoredFinding {
        let doc = json!({
            "SchemaVersion": "2018-10-08",
            "Id": "arn:aws:securityhub:us-east-1:123456789012:security-control/S3.8/finding/0d5a",
            "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
            "AwsAccountId": "123456789012",
            "Severity": {"Label": "HIGH"},
        });
        let Value::Object(doc) = doc else { unreachable!() };
        StoredFinding {
            key: FindingKey::of(&doc, "us-east-1").expect("a key"),
            doc,
            touched: CustomerTouched::default(),
        }
    }

    #[test]
    fn the_imported_event_has_the_envelope_that_security_hub_sends() {
        let f = finding();
        let event = HubEvent::finding_imported("8e5622f9".into(), &f, 1_714_644_006_123_000).envelope();
        assert_eq!(event["version"], "0");
        assert_eq!(event["id"], "8e5622f9");
        assert_eq!(event["detail-type"], "Security Hub Findings - Imported");
        assert_eq!(event["source"], "aws.securityhub");
        assert_eq!(event["account"], "123456789012");
        assert_eq!(event["time"], "2024-05-02T10:00:06Z");
        assert_eq!(event["region"], "us-east-1");
        assert_eq!(
            event["resources"][0],
            "arn:aws:securityhub:us-east-1::product/aws/securityhub/arn:aws:securityhub:us-east-1:123456789012:security-control/S3.8/finding/0d5a"
        );
        assert_eq!(event["detail"]["findings"][0]["Severity"]["Label"], "HIGH");
        assert_eq!(event["detail"]["findings"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn the_imported_record_is_the_imported_event_as_the_outbox_keeps_it() {
        let f = finding();
        let time = 1_714_644_006_123_000;
        let doc_json = serde_json::to_string(&f.doc).expect("a document serialises");
        let record = finding_imported_record("8e5622f9".into(), &f, &doc_json, time);
        assert_eq!(record, HubEvent::finding_imported("8e5622f9".into(), &f, time).outbox_record());
        assert_eq!(record.ordering_key, f.key.hash64());
        let envelope: Value = serde_json::from_str(&record.envelope_json).expect("the envelope is JSON");
        assert_eq!(envelope["detail"]["findings"][0]["Id"], f.key.id.as_str());
    }

    #[test]
    fn the_custom_action_event_names_the_action() {
        let f = finding();
        let action = ActionRef {
            arn: "arn:aws:securityhub:us-east-1:123456789012:action/custom/SendToSlack",
            account: "123456789012",
            region: "us-east-1",
            name: "Send to Slack",
            description: "Post the finding to #secops",
        };
        let event = HubEvent::custom_action("1a11".into(), &action, &f, 0).envelope();
        assert_eq!(event["detail-type"], "Security Hub Findings - Custom Action");
        assert_eq!(event["resources"], json!([action.arn]));
        assert_eq!(event["detail"]["actionName"], "Send to Slack");
        assert_eq!(event["detail"]["actionDescription"], "Post the finding to #secops");
        assert_eq!(event["detail"]["findings"][0]["Id"], f.key.id.as_str());
        assert_eq!(event["time"], "1970-01-01T00:00:00Z");
    }
}
