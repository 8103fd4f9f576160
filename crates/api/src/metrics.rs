//! `GET /metrics` in the Prometheus text format: requests by operation and outcome, their
//! latency, the findings stored, and the findings that imports rejected, by reason.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    rejected: Family<Labels, Counter>,
    events: Family<Labels, Counter>,
    deliveries: Family<Labels, Counter>,
    delivery_latency: Family<Labels, Histogram>,
    stored: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("findinghub");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to about 16 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let rejected = Family::<Labels, Counter>::default();
        let events = Family::<Labels, Counter>::default();
        let deliveries = Family::<Labels, Counter>::default();
        let delivery_latency = Family::<Labels, Histogram>::new_with_constructor(|| {
            // 1 ms to about 9 hours (retries included).
            Histogram::new(exponential_buckets(0.001, 2.0, 25))
        });
        registry.register(
            "deliveries",
            "Delivery attempts by target and outcome (delivered, retry, dead)",
            deliveries.clone(),
        );
        registry.register(
            "delivery_latency_seconds",
            "From the commit of a finding change to the delivery of its event, by target",
            delivery_latency.clone(),
        );
        let stored = Gauge::default();
        registry.register("requests", "API requests by operation and outcome", requests.clone());
        registry.register("request_duration_seconds", "API request latency by operation", latency.clone());
        registry.register(
            "imports_rejected",
            "Findings that BatchImportFindings rejected, by reason",
            rejected.clone(),
        );
        registry.register(
            "events",
            "Native events received on /events, by producer and outcome (imported, no_finding, dropped, failed)",
            events.clone(),
        );
        registry.register("findings_stored", "Findings in the store", stored.clone());
        Metrics { registry, requests, latency, rejected, events, deliveries, delivery_latency, stored }
    }
}

impl Metrics {
    /// One request: its operation (or `unknown`), its outcome (`ok` or the error code), its time.
    pub fn observe(&self, operation: &str, outcome: &str, seconds: f64) {
        let op = ("operation".to_owned(), operation.to_owned());
        self.requests.get_or_create(&vec![op.clone(), ("outcome".to_owned(), outcome.to_owned())]).inc();
        self.latency.get_or_create(&vec![op]).observe(seconds);
    }

    /// One finding that an import rejected.
    pub fn rejected(&self, reason: &str) {
        self.rejected.get_or_create(&vec![("reason".to_owned(), reason.to_owned())]).inc();
    }

    /// One native event and what became of it.
    pub fn event(&self, producer: &str, outcome: &str) {
        self.events
            .get_or_create(&vec![
                ("producer".to_owned(), producer.to_owned()),
                ("outcome".to_owned(), outcome.to_owned()),
            ])
            .inc();
    }

    /// One delivery attempt to a target: `delivered`, `retry` or `dead`.
    pub fn delivery(&self, target: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&vec![("target".to_owned(), target.to_owned()), ("outcome".to_owned(), outcome.to_owned())])
            .inc();
    }

    /// The time from a change's commit to its event's delivery.
    pub fn delivery_latency(&self, target: &str, seconds: f64) {
        self.delivery_latency.get_or_create(&vec![("target".to_owned(), target.to_owned())]).observe(seconds);
    }

    /// The text exposition, with the number of stored findings as of now.
    pub fn render(&self, stored: u64) -> String {
        self.stored.set(i64::try_from(stored).unwrap_or(i64::MAX));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The reason label of a rejected finding, from its error message (a small, fixed set).
pub fn rejection_reason(message: &str) -> &'static str {
    if message.contains("size exceeded") {
        "finding_too_large"
    } else if message.contains("ProductArn") {
        "invalid_product_arn"
    } else if message.contains("does not adhere to Amazon Finding Format") {
        "invalid_finding"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_what_was_observed() {
        let m = Metrics::default();
        m.observe("GetFindings", "ok", 0.002);
        m.observe("GetFindings", "ok", 0.004);
        m.observe("GetFindings", "InvalidInputException", 0.001);
        m.rejected(rejection_reason("Finding does not adhere to Amazon Finding Format. data.Title …"));
        let text = m.render(42);
        assert!(text.contains(r#"findinghub_requests_total{operation="GetFindings",outcome="ok"} 2"#), "{text}");
        assert!(
            text.contains(r#"findinghub_requests_total{operation="GetFindings",outcome="InvalidInputException"} 1"#)
        );
        assert!(text.contains(r#"findinghub_request_duration_seconds_count{operation="GetFindings"} 3"#));
        assert!(text.contains(r#"findinghub_imports_rejected_total{reason="invalid_finding"} 1"#));
        assert!(text.contains("findinghub_findings_stored 42"));
    }
}
