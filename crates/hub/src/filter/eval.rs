//! The reference evaluator: [`Filters::matches`]. See the module documentation of
//! [`filter`](super) for the semantics it implements.

use std::net::IpAddr;

use findinghub_asff::timestamp::parse_timestamp;
use serde_json::Value;

use super::condition::{Condition, FieldCondition, Filters, MapTest, StringTest};
use super::fields::IpFamily;
use super::path::values_at;

impl Filters {
    /// Whether the finding document satisfies every condition.
    pub fn matches(&self, doc: &Value) -> bool {
        self.conditions.iter().all(|c| c.matches(doc))
    }
}

impl FieldCondition {
    /// Whether the finding document satisfies this condition.
    pub fn matches(&self, doc: &Value) -> bool {
        let values = values_at(doc, self.field.path);
        match &self.condition {
            Condition::String { positive, negative } => {
                let strings: Vec<&str> = values.iter().filter_map(|v| v.as_str()).collect();
                let hit = |t: &StringTest| strings.iter().any(|s| t.op.test(s, &t.value));
                (positive.is_empty() || positive.iter().any(hit)) && !negative.iter().any(hit)
            }
            Condition::Map { positive, negative } => {
                let hit = |t: &MapTest| {
                    values.iter().any(|m| m.get(&t.key).and_then(Value::as_str).is_some_and(|s| t.op.test(s, &t.value)))
                };
                (positive.is_empty() || positive.iter().any(hit)) && !negative.iter().any(hit)
            }
            Condition::Number(ranges) => {
                values.iter().filter_map(|v| v.as_f64()).any(|x| ranges.iter().any(|r| r.contains(x)))
            }
            Condition::Date(intervals) => values
                .iter()
                .filter_map(|v| v.as_str().and_then(parse_timestamp))
                .any(|t| intervals.iter().any(|i| i.contains(t))),
            Condition::Ip(blocks) => {
                let family = self.field.ip_family();
                values
                    .iter()
                    .filter_map(|v| v.as_str().and_then(|s| s.parse::<IpAddr>().ok()))
                    .filter(|ip| match family {
                        Some(IpFamily::V4) => ip.is_ipv4(),
                        Some(IpFamily::V6) => ip.is_ipv6(),
                        None => true,
                    })
                    .any(|ip| blocks.iter().any(|b| b.contains(ip)))
            }
            Condition::Bool(wanted) => {
                if values.is_empty() {
                    wanted.contains(&false)
                } else {
                    values.iter().filter_map(|v| v.as_bool()).any(|b| wanted.contains(&b))
                }
            }
            Condition::Keyword(words) => values.iter().filter_map(|v| v.as_str()).any(|s| words.iter().any(|w| w == s)),
        }
    }
}
