//! Reading Security Hub's EventBridge events (research notes §8.2, documented AWS shapes):
//! `Security Hub Findings - Imported` (one finding per event as AWS sends them, though any
//! number is read) and `Security Hub Findings - Custom Action` (adds `detail.actionName` and
//! `detail.actionDescription`; `resources` holds the action target ARN).

use serde_json::{Map, Value};

pub const SOURCE: &str = "aws.securityhub";
pub const DETAIL_TYPE_IMPORTED: &str = "Security Hub Findings - Imported";
pub const DETAIL_TYPE_CUSTOM_ACTION: &str = "Security Hub Findings - Custom Action";

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
