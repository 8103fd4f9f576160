//! Chat messages for Security Hub events: Slack incoming webhooks (Block Kit), Microsoft Teams
//! workflow webhooks (an Adaptive Card 1.4), Amazon Chime webhooks (markdown).
//!
//! **Documented** (research notes §3): the webhook body shapes: Slack's `{"text", "blocks",
//! "attachments": [{"color", …}]}` with its block limits (a header's text ≤ 150 characters, a
//! section ≤ 10 fields of ≤ 2,000 characters, ≤ 50 blocks); Teams' `{"type": "message",
//! "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": <card>}]}`;
//! Chime's `{"Content": "…"}`, markdown and emoji allowed, 4,096 characters at most.
//!
//! **Our proposal**: the card itself (AWS Chatbot's Security Hub card is not documented): the
//! fields of the notes' list — severity with its colour (CRITICAL and HIGH red, MEDIUM yellow, LOW
//! grey, INFORMATIONAL blue, and green for a control that PASSED), title, account, Region, the
//! first resource (type and id), workflow status, control id, compliance status when there is
//! one, the link to the finding in our console (`<console_base>/console/findings/<percent-encoded
//! Id>`), the remediation link, and for GuardDuty findings the Detective pivot; custom-action
//! events name the action; at most [`MAX_FINDINGS_PER_MESSAGE`] findings per message, then
//! "and N more". The `/md` prefix that switches Chime to markdown is recalled from Chime's client
//! guide, not from its webhook page (unverified).

use crate::detective;
use crate::event;
use crate::finding::{self, str_at};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

/// A chat message shows this many findings, then "and N more".
pub const MAX_FINDINGS_PER_MESSAGE: usize = 5;
/// Chime refuses longer `Content`.
pub const CHIME_MAX_CHARS: usize = 4096;
const SLACK_HEADER_MAX: usize = 150;
const TITLE_MAX: usize = 300;

/// RFC 3986 unreserved characters stay, everything else is encoded (`/` and `:` included, so
/// that an ARN is one path segment).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatOptions {
    /// Where our console is served, e.g. `https://findinghub.example.com`.
    pub console_base_url: String,
    /// Detective's console for GuardDuty pivots; `None` leaves the pivot out.
    pub detective_base_url: Option<String>,
}

/// The link to a finding in our console.
pub fn finding_url(console_base_url: &str, finding_id: &str) -> String {
    format!(
        "{}/console/findings/{}",
        console_base_url.trim_end_matches('/'),
        utf8_percent_encode(finding_id, PATH_SEGMENT)
    )
}

/// The colour of a finding on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Red,
    Yellow,
    Grey,
    Blue,
    Green,
}

impl Tone {
    /// A passed control is green whatever its severity; otherwise by `Severity.Label`.
    pub fn of(finding: &Map<String, Value>) -> Tone {
        if finding::compliance_status(finding) == Some("PASSED") {
            return Tone::Green;
        }
        match finding::severity_label(finding) {
            "CRITICAL" | "HIGH" => Tone::Red,
            "MEDIUM" => Tone::Yellow,
            "LOW" => Tone::Grey,
            _ => Tone::Blue,
        }
    }

    pub fn hex(self) -> &'static str {
        match self {
            Tone::Red => "#d00000",
            Tone::Yellow => "#f2c744",
            Tone::Grey => "#9e9e9e",
            Tone::Blue => "#439fe0",
            Tone::Green => "#2eb886",
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            Tone::Red => "🔴",
            Tone::Yellow => "🟡",
            Tone::Grey => "⚪",
            Tone::Blue => "🔵",
            Tone::Green => "🟢",
        }
    }

    /// Adaptive Card colour names (`TextBlock.color`, `Container.style`).
    fn adaptive(self) -> (&'static str, &'static str) {
        match self {
            Tone::Red => ("Attention", "attention"),
            Tone::Yellow => ("Warning", "warning"),
            Tone::Grey => ("Default", "emphasis"),
            Tone::Blue => ("Accent", "accent"),
            Tone::Green => ("Good", "good"),
        }
    }
}

/// What one card shows, read once for the three formats.
#[derive(Debug, Clone, PartialEq)]
struct Card {
    tone: Tone,
    severity: String,
    title: String,
    /// (label, value) in display order; Severity first.
    facts: Vec<(&'static str, String)>,
    finding_url: String,
    remediation_url: Option<String>,
    detective_url: Option<String>,
}

impl Card {
    fn of(f: &Map<String, Value>, event: &Value, opts: &ChatOptions) -> Card {
        let tone = Tone::of(f);
        let severity = finding::severity_label(f).to_owned();
        let event_str = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut facts = vec![
            ("Severity", format!("{} {severity}", tone.emoji())),
            ("Account", str_at(f, &["AwsAccountId"]).map(str::to_owned).unwrap_or_else(|| event_str("account"))),
            ("Region", str_at(f, &["Region"]).map(str::to_owned).unwrap_or_else(|| event_str("region"))),
            (
                "Resource",
                finding::first_resource(f).map(|(t, id)| format!("{t} {id}")).unwrap_or_else(|| "—".to_owned()),
            ),
            ("Workflow status", finding::workflow_status(f).to_owned()),
        ];
        if let Some((control, _)) = finding::control_id(f) {
            facts.push(("Control", control.to_owned()));
        }
        if let Some(status) = finding::compliance_status(f) {
            facts.push(("Compliance", status.to_owned()));
        }
        let detective_url = opts
            .detective_base_url
            .as_deref()
            .and_then(|base| detective::pivot_links(f, base).into_iter().next())
            .map(|l| l.url);
        Card {
            tone,
            severity,
            title: truncate(str_at(f, &["Title"]).unwrap_or("(untitled finding)"), TITLE_MAX),
            facts,
            finding_url: finding_url(&opts.console_base_url, finding::id(f)),
            remediation_url: str_at(f, &["Remediation", "Recommendation", "Url"]).map(str::to_owned),
            detective_url,
        }
    }

    fn links(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("Open finding", self.finding_url.as_str())];
        if let Some(u) = &self.remediation_url {
            out.push(("Remediation", u));
        }
        if let Some(u) = &self.detective_url {
            out.push(("Investigate in Detective", u));
        }
        out
    }
}

/// The cards of an event (at most `cap`), how many findings were left out, and the heading.
fn cards(event: &Value, opts: &ChatOptions, cap: usize) -> (Vec<Card>, usize, String, Option<String>) {
    let findings = event::findings(event);
    let shown: Vec<Card> = findings.iter().take(cap).map(|f| Card::of(f, event, opts)).collect();
    let more = findings.len() - shown.len();
    let (heading, subtitle) = match event::custom_action(event) {
        Some((name, description)) => {
            (format!("Custom action: {name}"), (!description.is_empty()).then(|| description.to_owned()))
        }
        None if findings.len() == 1 => ("Security Hub finding".to_owned(), None),
        None => (format!("Security Hub findings ({})", findings.len()), None),
    };
    (shown, more, heading, subtitle)
}

fn and_more(n: usize) -> String {
    format!("…and {n} more finding{}", if n == 1 { "" } else { "s" })
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack's mrkdwn control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A Slack incoming-webhook body: a header block, then one coloured attachment per finding.
pub fn slack(event: &Value, opts: &ChatOptions) -> Value {
    let (cards, more, heading, subtitle) = cards(event, opts, MAX_FINDINGS_PER_MESSAGE);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&heading, SLACK_HEADER_MAX), "emoji": true}}),
    ];
    if let Some(s) = &subtitle {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(s)}]}));
    }
    let mut attachments: Vec<Value> = cards
        .iter()
        .map(|c| {
            let fields: Vec<Value> = c
                .facts
                .iter()
                .map(|(k, v)| json!({"type": "mrkdwn", "text": truncate(&format!("*{k}*\n{}", slack_escape(v)), 2000)}))
                .collect();
            let buttons: Vec<Value> = c
                .links()
                .iter()
                .map(|(label, url)| json!({"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}))
                .collect();
            json!({
                "color": c.tone.hex(),
                "fallback": format!("{}: {}", c.severity, c.title),
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": format!("*<{}|{}>*", c.finding_url, slack_escape(&c.title).replace('|', "¦"))}},
                    {"type": "section", "fields": fields},
                    {"type": "actions", "elements": buttons},
                ],
            })
        })
        .collect();
    if more > 0 {
        attachments
            .push(json!({"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": and_more(more)}]}]}));
    }
    let text = match cards.as_slice() {
        [one] if more == 0 => format!("{heading}: {} {}", one.severity, one.title),
        _ => heading.clone(),
    };
    json!({"text": text, "blocks": blocks, "attachments": attachments})
}

/// A Microsoft Teams workflow-webhook body: one Adaptive Card 1.4, a container per finding.
pub fn teams(event: &Value, opts: &ChatOptions) -> Value {
    let (cards, more, heading, subtitle) = cards(event, opts, MAX_FINDINGS_PER_MESSAGE);
    let mut body =
        vec![json!({"type": "TextBlock", "text": heading, "size": "Large", "weight": "Bolder", "wrap": true})];
    if let Some(s) = subtitle {
        body.push(json!({"type": "TextBlock", "text": s, "isSubtle": true, "wrap": true}));
    }
    for c in &cards {
        let (color, style) = c.tone.adaptive();
        let facts: Vec<Value> = c.facts.iter().map(|(k, v)| json!({"title": k, "value": v})).collect();
        let actions: Vec<Value> = c
            .links()
            .iter()
            .map(|(label, url)| json!({"type": "Action.OpenUrl", "title": label, "url": url}))
            .collect();
        body.push(json!({
            "type": "Container", "style": style, "separator": true, "spacing": "Medium",
            "items": [
                {"type": "TextBlock", "text": format!("{} {}", c.tone.emoji(), c.severity), "color": color, "weight": "Bolder"},
                {"type": "TextBlock", "text": c.title, "wrap": true, "weight": "Bolder"},
                {"type": "FactSet", "facts": facts},
                {"type": "ActionSet", "actions": actions},
            ],
        }));
    }
    if more > 0 {
        body.push(json!({"type": "TextBlock", "text": and_more(more), "isSubtle": true, "wrap": true}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
            },
        }],
    })
}

/// An Amazon Chime webhook body: markdown, cut to whole findings so that it fits 4,096 characters.
pub fn chime(event: &Value, opts: &ChatOptions) -> Value {
    let (cards, more, heading, subtitle) = cards(event, opts, MAX_FINDINGS_PER_MESSAGE);
    let mut content = format!("/md **{heading}**\n");
    if let Some(s) = subtitle {
        content.push_str(&format!("_{s}_\n"));
    }
    let reserve = and_more(usize::MAX).chars().count() + 2;
    let mut left_out = more;
    for (i, c) in cards.iter().enumerate() {
        let mut block = format!("\n{} **{}** [{}]({})\n", c.tone.emoji(), c.severity, c.title, c.finding_url);
        for (k, v) in c.facts.iter().skip(1) {
            block.push_str(&format!("- {k}: {v}\n"));
        }
        for (label, url) in c.links().iter().skip(1) {
            block.push_str(&format!("- [{label}]({url})\n"));
        }
        if content.chars().count() + block.chars().count() + reserve > CHIME_MAX_CHARS {
            left_out += cards.len() - i;
            break;
        }
        content.push_str(&block);
    }
    if left_out > 0 {
        content.push('\n');
        content.push_str(&and_more(left_out));
    }
    json!({"Content": truncate(&content, CHIME_MAX_CHARS)})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    fn opts() -> ChatOptions {
        ChatOptions {
            console_base_url: "https://hub.example.test/".to_owned(),
            detective_base_url: Some(detective::DEFAULT_BASE_URL.to_owned()),
        }
    }

    const CONTROL_URL: &str = "https://hub.example.test/console/findings/arn%3Aaws%3Asecurityhub%3Aus-east-1%3A123456789012%3Asecurity-control%2FS3.8%2Ffinding%2F0d5a2f6e-1111-4222-8333-444455556666";

    fn text_of(v: &Value) -> String {
        v.to_string()
    }

    #[test]
    fn the_finding_link_encodes_the_whole_id_as_one_segment() {
        let f = samples::control_finding();
        assert_eq!(finding_url("https://hub.example.test/", finding::id(&f)), CONTROL_URL);
    }

    #[test]
    fn tones_follow_severity_and_a_passed_control_is_green() {
        let mut f = samples::control_finding();
        assert_eq!(Tone::of(&f), Tone::Red);
        f.insert("Compliance".into(), json!({"Status": "PASSED", "SecurityControlId": "S3.8"}));
        assert_eq!(Tone::of(&f), Tone::Green);
        for (label, tone) in
            [("CRITICAL", Tone::Red), ("MEDIUM", Tone::Yellow), ("LOW", Tone::Grey), ("INFORMATIONAL", Tone::Blue)]
        {
            let mut g = samples::asff(samples::GUARDDUTY_SSH);
            g.insert("Severity".into(), json!({"Label": label}));
            assert_eq!(Tone::of(&g), tone, "{label}");
        }
    }

    #[test]
    fn slack_card_of_a_control_finding_has_every_field_of_the_notes() {
        let f = samples::control_finding();
        let msg = slack(&samples::imported(&[&f]), &opts());
        assert_eq!(msg["text"], "Security Hub finding: HIGH S3 general purpose buckets should block public access");
        assert_eq!(msg["blocks"][0]["type"], "header");
        assert_eq!(msg["blocks"][0]["text"]["text"], "Security Hub finding");
        let att = &msg["attachments"][0];
        assert_eq!(att["color"], "#d00000");
        assert_eq!(
            att["blocks"][0]["text"]["text"],
            format!("*<{CONTROL_URL}|S3 general purpose buckets should block public access>*")
        );
        let fields: Vec<&str> =
            att["blocks"][1]["fields"].as_array().expect("fields").iter().filter_map(|f| f["text"].as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "*Severity*\n🔴 HIGH",
                "*Account*\n123456789012",
                "*Region*\nus-east-1",
                "*Resource*\nAwsS3Bucket arn:aws:s3:::example-bucket",
                "*Workflow status*\nNEW",
                "*Control*\nS3.8",
                "*Compliance*\nFAILED",
            ]
        );
        let buttons = att["blocks"][2]["elements"].as_array().expect("buttons");
        assert_eq!(buttons[0]["url"], CONTROL_URL);
        assert_eq!(buttons[1]["url"], "https://docs.aws.amazon.com/console/securityhub/S3.8/remediation");
        assert_eq!(buttons.len(), 2, "no Detective pivot for a control finding");
        assert_eq!(msg["attachments"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn guardduty_cards_carry_the_detective_pivot_unless_it_is_not_configured() {
        let f = samples::asff(samples::GUARDDUTY_SSH);
        let event = samples::imported(&[&f]);
        let msg = slack(&event, &opts());
        let att = &msg["attachments"][0];
        assert_eq!(att["color"], "#f2c744", "MEDIUM is yellow");
        let buttons = att["blocks"][2]["elements"].as_array().expect("buttons");
        let pivot = buttons.iter().find(|b| b["text"]["text"] == "Investigate in Detective").expect("pivot");
        assert!(
            pivot["url"].as_str().is_some_and(|u| u.contains("#findings/GuardDuty/46ba0ac2845071e23ccdeb2ae03bfdea"))
        );
        // No Region in this sample: the card takes the event's.
        assert!(text_of(att).contains("*Region*\\nus-east-1"));
        let without = ChatOptions { detective_base_url: None, ..opts() };
        assert!(!text_of(&slack(&event, &without)).contains("Detective"));
        assert!(text_of(&teams(&event, &opts())).contains("Investigate in Detective"));
        assert!(text_of(&chime(&event, &opts())).contains("#findings/GuardDuty/46ba0ac2845071e23ccdeb2ae03bfdea"));
    }

    #[test]
    fn custom_action_messages_name_the_action() {
        let f = samples::asff(samples::CONFIG);
        let event = samples::custom_action(&[&f]);
        let s = slack(&event, &opts());
        assert_eq!(s["blocks"][0]["text"]["text"], "Custom action: Send to Slack");
        assert_eq!(s["blocks"][1]["elements"][0]["text"], "Post the finding to #secops");
        let t = teams(&event, &opts());
        assert_eq!(t["attachments"][0]["content"]["body"][0]["text"], "Custom action: Send to Slack");
        let c = chime(&event, &opts());
        assert!(
            c["Content"]
                .as_str()
                .is_some_and(|s| s.starts_with("/md **Custom action: Send to Slack**\n_Post the finding to #secops_"))
        );
    }

    #[test]
    fn many_findings_are_capped_with_and_n_more() {
        let f = samples::control_finding();
        let many: Vec<&Map<String, Value>> = std::iter::repeat_n(&f, 8).collect();
        let event = samples::imported(&many);
        let s = slack(&event, &opts());
        let atts = s["attachments"].as_array().expect("attachments");
        assert_eq!(atts.len(), MAX_FINDINGS_PER_MESSAGE + 1);
        assert_eq!(atts[5]["blocks"][0]["elements"][0]["text"], "…and 3 more findings");
        assert_eq!(s["blocks"][0]["text"]["text"], "Security Hub findings (8)");
        let t = teams(&event, &opts());
        let body = t["attachments"][0]["content"]["body"].as_array().expect("body");
        assert_eq!(body.iter().filter(|b| b["type"] == "Container").count(), MAX_FINDINGS_PER_MESSAGE);
        assert_eq!(body.last().map(|b| &b["text"]), Some(&json!("…and 3 more findings")));
        let c = chime(&event, &opts());
        assert!(c["Content"].as_str().is_some_and(|s| s.ends_with("…and 3 more findings")));
    }

    #[test]
    fn teams_card_is_an_adaptive_card_with_a_coloured_fact_set() {
        let f = samples::control_finding();
        let t = teams(&samples::imported(&[&f]), &opts());
        assert_eq!(t["type"], "message");
        let att = &t["attachments"][0];
        assert_eq!(att["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &att["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        let container = &card["body"][1];
        assert_eq!(container["style"], "attention");
        assert_eq!(container["items"][0]["text"], "🔴 HIGH");
        assert_eq!(container["items"][0]["color"], "Attention");
        assert_eq!(container["items"][1]["text"], "S3 general purpose buckets should block public access");
        let facts: Vec<(&str, &str)> = container["items"][2]["facts"]
            .as_array()
            .expect("facts")
            .iter()
            .filter_map(|f| Some((f["title"].as_str()?, f["value"].as_str()?)))
            .collect();
        assert!(facts.contains(&("Account", "123456789012")));
        assert!(facts.contains(&("Region", "us-east-1")));
        assert!(facts.contains(&("Resource", "AwsS3Bucket arn:aws:s3:::example-bucket")));
        assert!(facts.contains(&("Workflow status", "NEW")));
        assert!(facts.contains(&("Control", "S3.8")));
        assert_eq!(container["items"][3]["actions"][0]["url"], CONTROL_URL);
    }

    #[test]
    fn chime_content_is_markdown_within_the_limit() {
        let f = samples::control_finding();
        let c = chime(&samples::imported(&[&f]), &opts());
        let content = c["Content"].as_str().expect("content");
        assert_eq!(c.as_object().map(|o| o.len()), Some(1), "Content is the only key");
        assert!(
            content.contains(&format!(
                "🔴 **HIGH** [S3 general purpose buckets should block public access]({CONTROL_URL})"
            ))
        );
        for line in ["- Account: 123456789012", "- Region: us-east-1", "- Workflow status: NEW", "- Control: S3.8"] {
            assert!(content.contains(line), "{line} in {content}");
        }
        // Long titles and resource ids: whole findings are dropped to stay within 4,096 characters.
        let mut big = f.clone();
        big.insert("Title".into(), json!("T".repeat(256)));
        big.insert("Resources".into(), json!([{"Type": "Other", "Id": "r".repeat(900)}]));
        let many: Vec<&Map<String, Value>> = std::iter::repeat_n(&big, 5).collect();
        let c = chime(&samples::imported(&many), &opts());
        let content = c["Content"].as_str().expect("content");
        assert!(content.chars().count() <= CHIME_MAX_CHARS, "{}", content.chars().count());
        assert!(content.contains("more finding"), "some findings were left out");
        assert!(content.contains(&"r".repeat(900)), "at least one whole finding");
    }

    #[test]
    fn slack_text_is_escaped_and_limits_hold() {
        let mut f = samples::control_finding();
        f.insert("Title".into(), json!("<script> & | more"));
        let s = slack(&samples::imported(&[&f]), &opts());
        let title = s["attachments"][0]["blocks"][0]["text"]["text"].as_str().expect("title");
        assert!(title.ends_with("|&lt;script&gt; &amp; ¦ more>*"), "{title}");
        let many: Vec<&Map<String, Value>> = std::iter::repeat_n(&f, 40).collect();
        let s = slack(&samples::imported(&many), &opts());
        let blocks: usize = s["blocks"].as_array().map_or(0, Vec::len)
            + s["attachments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| a["blocks"].as_array().map_or(0, Vec::len))
                .sum::<usize>();
        assert!(blocks <= 50, "{blocks} blocks");
        assert!(s["blocks"][0]["text"]["text"].as_str().is_some_and(|h| h.chars().count() <= SLACK_HEADER_MAX));
    }

    #[test]
    fn a_finding_without_optional_fields_still_renders() {
        let f: Map<String, Value> = json!({"Id": "x", "ProductArn": "p"}).as_object().cloned().unwrap_or_default();
        let event = samples::imported(&[&f]);
        let s = slack(&event, &opts());
        assert!(text_of(&s).contains("(untitled finding)"));
        assert!(text_of(&s).contains("*Resource*\\n—"));
        assert!(text_of(&s).contains("INFORMATIONAL"));
        assert!(
            chime(&json!({}), &opts())["Content"].as_str().is_some_and(|c| c.contains("Security Hub findings (0)"))
        );
    }
}
