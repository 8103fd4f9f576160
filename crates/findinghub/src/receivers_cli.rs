//! The receivers' commands: `actions send`, `opsitems list|get|update`, `advisor` and
//! `evidence export`. Like `import` and `ingest` they open the store as the operator (every
//! account) and run the same code as the API's routes, so a running hub sees their changes (and
//! delivers their events) at once.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use findinghub_api::actions::{MAX_SENT_FINDINGS, send_as_operator};
use findinghub_api::receiver_reports::{advisor_checks, evidence};
use findinghub_api::server::App;
use findinghub_api::workitems::{parse_change, to_json, update_work_item};
use findinghub_asff::timestamp::{MICROS_PER_DAY, Micros, parse_timestamp};
use findinghub_hub::finding::FindingIdentifier;
use findinghub_receivers::audit_manager::{EvidenceQuery, write_csv, write_json};
use findinghub_receivers::opscenter::OpsItemStatus;
use findinghub_receivers::trusted_advisor::render_table;
use findinghub_store::state::WorkItemQuery;
use findinghub_store::{AccountScope, Scope};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Actions {
    /// Send findings to a custom action (CreateActionTarget): one `Security Hub Findings - Custom
    /// Action` event per finding, delivered to the rules that match it.
    Send {
        /// `arn:aws:securityhub:<region>:<account>:action/custom/<Id>`.
        #[arg(long)]
        action_target_arn: String,
        /// A finding Id (repeat for several, at most 20).
        #[arg(long = "id", required = true)]
        ids: Vec<String>,
        /// The findings' ProductArn: once for all of them, or once per --id, in order.
        #[arg(long = "product-arn", required = true)]
        product_arns: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum OpsItems {
    /// List work items as JSON lines, oldest first.
    List {
        /// Open, InProgress or Resolved.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        region: Option<String>,
    },
    /// Print one work item as JSON.
    Get { id: String },
    /// Change a work item's status and/or severity; its finding follows (Open → NEW,
    /// InProgress → NOTIFIED, Resolved → RESOLVED; severity 1–4 → CRITICAL…LOW), recorded in the
    /// finding's history with the work item as its source.
    Update {
        id: String,
        /// Open, InProgress or Resolved.
        #[arg(long)]
        status: Option<String>,
        /// 1 (critical) … 4 (low).
        #[arg(long)]
        severity: Option<u8>,
    },
}

#[derive(Subcommand)]
pub enum Evidence {
    /// Write Audit Manager evidence records of findings with a control id, updated in a window.
    Export {
        /// The first day (YYYY-MM-DD, UTC) or instant (RFC 3339) of the window.
        #[arg(long)]
        from: String,
        /// The last day (YYYY-MM-DD: the whole day is in) or the instant where the window ends.
        #[arg(long)]
        to: String,
        /// Only this control (e.g. S3.8).
        #[arg(long)]
        control: Option<String>,
        /// json or csv.
        #[arg(long, default_value = "json")]
        format: String,
        /// The file to write [default: standard output].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The scope of an operator's command: every account unless one is named, every Region unless
/// one is named.
fn operator_scope(account: Option<&str>, region: Option<&str>) -> Scope {
    Scope { accounts: account.map_or(AccountScope::All, AccountScope::one), region: region.map(str::to_owned) }
}

pub async fn actions(app: &App, action: &Actions) -> Result<()> {
    let Actions::Send { action_target_arn, ids, product_arns } = action;
    if ids.len() > MAX_SENT_FINDINGS {
        bail!("at most {MAX_SENT_FINDINGS} findings are sent at once, got {}", ids.len());
    }
    let identifiers: Vec<FindingIdentifier> = match product_arns.as_slice() {
        [one] => ids.iter().map(|id| FindingIdentifier { id: id.clone(), product_arn: one.clone() }).collect(),
        many if many.len() == ids.len() => {
            ids.iter().zip(many).map(|(id, p)| FindingIdentifier { id: id.clone(), product_arn: p.clone() }).collect()
        }
        _ => bail!("give --product-arn once, or once per --id"),
    };
    let (sent, unprocessed) = send_as_operator(app, action_target_arn, &identifiers).await?;
    println!(
        "{}",
        json!({"ActionTargetArn": action_target_arn, "ProcessedFindings": sent, "UnprocessedFindings": unprocessed})
    );
    if !unprocessed.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}

pub async fn opsitems(app: &App, action: &OpsItems) -> Result<()> {
    match action {
        OpsItems::List { status, account, region } => {
            let status = match status {
                None => None,
                Some(s) => Some(
                    OpsItemStatus::parse(s)
                        .with_context(|| format!("the status must be Open, InProgress or Resolved, not {s:?}"))?
                        .as_str()
                        .to_owned(),
                ),
            };
            let scope = operator_scope(account.as_deref(), region.as_deref());
            let mut after = None;
            loop {
                let page = app
                    .state
                    .work_items(WorkItemQuery {
                        accounts: scope.accounts.clone(),
                        region: scope.region.clone(),
                        status: status.clone(),
                        after: after.clone(),
                        limit: 500,
                    })
                    .await?;
                for w in &page {
                    println!("{}", to_json(w));
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some((last.created_at, last.id.clone())),
                    _ => break,
                }
            }
        }
        OpsItems::Get { id } => match app.state.work_item(id).await? {
            Some(w) => println!("{}", serde_json::to_string_pretty(&to_json(&w))?),
            None => bail!("no work item {id}"),
        },
        OpsItems::Update { id, status, severity } => {
            let mut input = serde_json::Map::new();
            if let Some(s) = status {
                input.insert("Status".into(), json!(s));
            }
            if let Some(s) = severity {
                input.insert("Severity".into(), json!(s));
            }
            let change = parse_change(&input)?;
            let (item, finding_update) = update_work_item(app, &AccountScope::All, id, change).await?;
            println!("{}", json!({"OpsItem": to_json(&item), "FindingUpdate": finding_update}));
            if finding_update["UnprocessedFindings"].as_array().is_some_and(|u| !u.is_empty()) {
                eprintln!(
                    "the work item changed, but its finding was not updated: {}",
                    finding_update["UnprocessedFindings"]
                );
                std::process::exit(2);
            }
        }
    }
    Ok(())
}

pub async fn advisor(app: &App, account: Option<&str>, region: Option<&str>, as_json: bool) -> Result<()> {
    let checks = advisor_checks(app.findings.as_ref(), &operator_scope(account, region)).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&json!({"Checks": checks}))?);
    } else {
        print!("{}", render_table(&checks));
    }
    Ok(())
}

/// A day (`YYYY-MM-DD`, UTC midnight; `end_of_day` the next midnight) or an RFC 3339 instant.
fn parse_when(s: &str, end_of_day: bool) -> Result<Micros> {
    if s.len() == 10 {
        let midnight =
            parse_timestamp(&format!("{s}T00:00:00Z")).with_context(|| format!("{s:?} is not a date (YYYY-MM-DD)"))?;
        return Ok(if end_of_day { midnight + MICROS_PER_DAY } else { midnight });
    }
    parse_timestamp(s).with_context(|| format!("{s:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"))
}

pub async fn evidence_export(app: &App, action: &Evidence) -> Result<()> {
    let Evidence::Export { from, to, control, format, out } = action;
    let query = EvidenceQuery {
        from: Some(parse_when(from, false)?),
        to: Some(parse_when(to, true)?),
        control_id: control.clone(),
    };
    if query.from >= query.to {
        bail!("--from must come before --to");
    }
    if !matches!(format.as_str(), "json" | "csv") {
        bail!("the format must be json or csv, not {format:?}");
    }
    let records = evidence(app.findings.as_ref(), &operator_scope(None, None), &query).await?;
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    if format == "csv" {
        write_csv(&records, &mut sink)?;
    } else {
        write_json(&records, &mut sink)?;
    }
    sink.flush()?;
    eprintln!("{} evidence records", records.len());
    Ok(())
}
