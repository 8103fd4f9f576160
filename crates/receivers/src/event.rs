//! Reading Security Hub's EventBridge events (research notes §8.2, documented AWS shapes):
//! `Security Hub Findings - Imported` (one finding per event as AWS sends them, though any
//! number is read) and `Security Hub Findings - Custom Action` (adds `detail.actionName` and
//! `detail.actionDescription`; `resources` holds the action target ARN).

use findinghub_asff::timestamp::Micros;
use findinghub_hub::events::HubEvent;
pub use findinghub_hub::events::{
    FINDINGS_CUSTOM_ACTION as DETAIL_TYPE_CUSTOM_ACTION, FINDINGS_IMPORTED as DETAIL_TYPE_IMPORTED, SOURCE,
};
use serde_json::{Map, Value, json};

/// The ASFF findings of an event (`detail.findings`), skipping entries that are not objects.
pub fn findings(event: &Value) -> Vec<&Map<String, Value>> {
    event
        .get("detail")
        .and_then(|d| d.get("findings"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect()
}

pub fn detail_type(event: &Value) -> &str {
    event.get("detail-type").and_then(Value::as_str).unwrap_or_default()
}

/// The event's `id`, which a receiver uses to drop redeliveries.
pub fn id(event: &Value) -> &str {
    event.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// The custom action that sent the event: (`actionName`, `actionDescription`), for Custom Action
/// events only.
pub fn custom_action(event: &Value) -> Option<(&str, &str)> {
    if detail_type(event) != DETAIL_TYPE_CUSTOM_ACTION {
        return None;
    }
    let detail = event.get("detail")?;
    let name = detail.get("actionName").and_then(Value::as_str).unwrap_or("Custom action");
    let description = detail.get("actionDescription").and_then(Value::as_str).unwrap_or_default();
    Some((name, description))
}

/// The envelope of one event: its id (unique per event, kept across redeliveries), when it was
/// sent, and the account and Region of the hub that sends it (for a member's finding, the
/// administrator's account receives it, as in AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub id: &'a str,
    pub time: Micros,
    pub account: &'a str,
    pub region: &'a str,
}

/// The envelope itself is the hub's (`HubEvent`): one definition of the shape.
fn envelope(env: &Envelope<'_>, detail_type: &'static str, resources: Vec<String>, detail: Value) -> Value {
    HubEvent {
        id: env.id.to_owned(),
        detail_type,
        account: env.account.to_owned(),
        region: env.region.to_owned(),
        time: env.time,
        resources,
        detail,
        ordering_key: 0,
    }
    .envelope()
}

/// A `Security Hub Findings - Imported` event for one finding; `resources` holds the finding's
/// `aws/securityhub/FindingId` product field (`<ProductArn>/<Id>`), as in AWS's sample.
pub fn imported_event(env: &Envelope<'_>, finding: &Map<String, Value>) -> Value {
    let resource = crate::finding::str_at(finding, &["ProductFields", "aws/securityhub/FindingId"])
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}/{}", crate::finding::product_arn(finding), crate::finding::id(finding)));
    envelope(env, DETAIL_TYPE_IMPORTED, vec![resource], json!({"findings": [finding]}))
}

/// A `Security Hub Findings - Custom Action` event: `resources` holds the action target's ARN
/// (`arn:aws:securityhub:<r>:<a>:action/custom/<Id>`), which rules match on.
pub fn custom_action_event(
    env: &Envelope<'_>,
    action_target_arn: &str,
    action_name: &str,
    action_description: &str,
    findings: &[&Map<String, Value>],
) -> Value {
    envelope(
        env,
        DETAIL_TYPE_CUSTOM_ACTION,
        vec![action_target_arn.to_owned()],
        json!({"actionName": action_name, "actionDescription": action_description, "findings": findings}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_events_as_aws_shapes_them() {
        let f = crate::samples::control_finding();
        let t = findinghub_asff::timestamp::parse_timestamp("2024-05-02T10:00:06.789Z").expect("time");
        let env = Envelope {
            id: "8e5622f9-d81c-4d81-612a-9319e7ee2506",
            time: t,
            account: "123456789012",
            region: "us-east-1",
        };
        let e = imported_event(&env, &f);
        assert_eq!(
            e,
            json!({"version": "0", "id": "8e5622f9-d81c-4d81-612a-9319e7ee2506",
                "detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub",
                "account": "123456789012", "time": "2024-05-02T10:00:06Z", "region": "us-east-1",
                "resources": ["arn:aws:securityhub:us-east-1::product/aws/securityhub/arn:aws:securityhub:us-east-1:123456789012:security-control/S3.8/finding/0d5a2f6e-1111-4222-8333-444455556666"],
                "detail": {"findings": [f]}})
        );
        assert_eq!(findings(&e), vec![&f]);
        let mut no_pf = f.clone();
        no_pf.remove("ProductFields");
        assert_eq!(
            imported_event(&env, &no_pf)["resources"][0],
            format!("{}/{}", f["ProductArn"].as_str().unwrap_or_default(), f["Id"].as_str().unwrap_or_default())
        );
        let arn = "arn:aws:securityhub:us-east-1:123456789012:action/custom/SendToSlack";
        let c = custom_action_event(&env, arn, "Send to Slack", "Post it", &[&f]);
        assert_eq!(c["resources"], json!([arn]));
        assert_eq!(custom_action(&c), Some(("Send to Slack", "Post it")));
        assert_eq!(detail_type(&c), DETAIL_TYPE_CUSTOM_ACTION);
        assert_eq!(findings(&c).len(), 1);
    }

    #[test]
    fn reads_the_custom_action_only_from_custom_action_events() {
        let mut e = json!({"detail-type": DETAIL_TYPE_CUSTOM_ACTION, "id": "e-1",
            "detail": {"actionName": "Send to Slack", "actionDescription": "Post it", "findings": [{"Id": "a"}, 3]}});
        assert_eq!(custom_action(&e), Some(("Send to Slack", "Post it")));
        assert_eq!(findings(&e).len(), 1, "non-objects are skipped");
        assert_eq!(id(&e), "e-1");
        e["detail-type"] = json!(DETAIL_TYPE_IMPORTED);
        assert_eq!(custom_action(&e), None);
        assert!(findings(&json!({"detail": {}})).is_empty());
    }
}
