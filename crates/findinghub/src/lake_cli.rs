//! `findinghub lake`: findings as OCSF 1.1.0 (`lake ocsf`), and what the store holds exported to a
//! Security Lake layout in a directory or an S3-compatible bucket, or as OCSF JSON lines
//! (`lake export`).

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use findinghub_asff::timestamp::{now_micros, parse_timestamp};
use findinghub_hub::filter::{Filters, parse_filters};
use findinghub_lake::writer::LakeConfig;
use findinghub_lake::{LakeSource, LakeWriter, ObjectStoreSink, to_ocsf};
use findinghub_store::{AccountScope, FindingQuery, FindingStore, Scope};
use serde_json::{Value, json};
use std::io::Write;
use std::time::Instant;

#[derive(Subcommand)]
pub enum LakeCommand {
    /// Print ASFF findings as OCSF 1.1.0 events: one finding, or an array, `{"Findings": […]}` or
    /// JSON lines (`-` for standard input) as JSON lines. Opens no store.
    Ocsf { file: String },
    /// Export the stored findings as OCSF 1.1.0 in Parquet, in Amazon Security Lake's layout
    /// (`<root>/aws/SH_FINDINGS/2.0/region=…/accountId=…/eventDay=…/`), and/or as JSON lines.
    Export {
        /// A directory, or `s3://bucket/prefix` (credentials from AWS_ACCESS_KEY_ID and
        /// AWS_SECRET_ACCESS_KEY).
        #[arg(long)]
        to: Option<String>,
        /// Only findings updated at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only findings updated at or before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// The endpoint of an S3-compatible server (`http://127.0.0.1:9000`); plain HTTP is
        /// allowed when it says `http://`.
        #[arg(long, env = "FINDINGHUB_S3_ENDPOINT")]
        s3_endpoint: Option<String>,
        /// The bucket's Region [default: AWS_REGION, else us-east-1].
        #[arg(long)]
        s3_region: Option<String>,
        /// Write the OCSF events as JSON lines to this file too (`-` for standard output).
        #[arg(long)]
        jsonl: Option<String>,
        /// Lay the lake out as a custom source: `ext/<SOURCE>/…` instead of `aws/SH_FINDINGS/2.0/…`.
        #[arg(long)]
        custom_source: Option<String>,
    },
}

/// `lake ocsf`: needs no store.
pub fn ocsf(file: &str) -> Result<()> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
    };
    let findings = crate::read_findings(&text)?;
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for finding in &findings {
        let Some(map) = finding.as_object() else {
            failed += 1;
            eprintln!("not a finding: {finding}");
            continue;
        };
        match to_ocsf(map) {
            Ok(event) => writeln!(out, "{}", event.to_json())?,
            Err(e) => {
                failed += 1;
                let id = map.get("Id").and_then(Value::as_str).unwrap_or("(no Id)");
                eprintln!("{id}: {e}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} findings could not be converted", findings.len());
    }
    Ok(())
}

pub struct ExportArgs<'a> {
    pub to: Option<&'a str>,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub s3_endpoint: Option<&'a str>,
    pub s3_region: Option<&'a str>,
    pub jsonl: Option<&'a str>,
    pub custom_source: Option<&'a str>,
}

/// The `UpdatedAt` window of `--since`/`--until`.
fn window(since: Option<&str>, until: Option<&str>) -> Result<Filters> {
    if since.is_none() && until.is_none() {
        return Ok(Filters::default());
    }
    for t in [since, until].into_iter().flatten() {
        if parse_timestamp(t).is_none() {
            bail!("{t:?} is not an RFC 3339 time (2026-11-01T00:00:00Z)");
        }
    }
    let start = since.unwrap_or("1970-01-01T00:00:00Z");
    let end = until.unwrap_or("9999-12-31T23:59:59Z");
    let filters = json!({"UpdatedAt": [{"Start": start, "End": end}]});
    parse_filters(&filters, now_micros()).map_err(|e| anyhow::anyhow!("--since/--until: {e}"))
}

pub async fn export(store: &dyn FindingStore, args: ExportArgs<'_>) -> Result<()> {
    if args.to.is_none() && args.jsonl.is_none() {
        bail!("say where to: --to DIR|s3://bucket/prefix, --jsonl FILE|-, or both");
    }
    let filters = window(args.since, args.until)?;
    let mut writer = match args.to {
        Some(to) => {
            let sink = ObjectStoreSink::at(to, args.s3_endpoint, args.s3_region)?;
            let config = LakeConfig {
                source: args.custom_source.map_or(LakeSource::SecurityHub, |s| LakeSource::Custom(s.to_owned())),
                sequenced_names: false,
                ..LakeConfig::default()
            };
            Some(LakeWriter::new(config, sink))
        }
        None => None,
    };
    let mut jsonl: Option<Box<dyn Write>> = match args.jsonl {
        Some("-") => Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(path) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {path}"))?,
        ))),
        None => None,
    };

    let total = store.count().await?;
    let bar = crate::progress_bar(total, "findings");
    let (mut exported, mut failed, mut files) = (0u64, 0u64, 0usize);
    let mut next_token = None;
    loop {
        let page = store
            .get_findings(FindingQuery {
                scope: Scope { accounts: AccountScope::All, region: None },
                filters: filters.clone(),
                sort: Vec::new(),
                max_results: 100,
                next_token: next_token.take(),
            })
            .await?;
        for finding in &page.findings {
            let event = match to_ocsf(finding) {
                Ok(event) => event,
                Err(e) => {
                    failed += 1;
                    let id = finding.get("Id").and_then(Value::as_str).unwrap_or("(no Id)");
                    tracing::warn!(id, error = %e, "a finding could not be converted to OCSF");
                    continue;
                }
            };
            exported += 1;
            if let Some(out) = jsonl.as_mut() {
                writeln!(out, "{}", event.to_json())?;
            }
            if let Some(writer) = writer.as_mut() {
                writer.append_ocsf(exported, &event)?;
                if writer.due_for_flush(Instant::now()) {
                    writer.flush().await?;
                    files += writer.last_flush().files.len();
                }
            }
        }
        bar.inc(page.findings.len() as u64);
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => break,
        }
    }
    if let Some(writer) = writer.as_mut() {
        writer.flush().await?;
        files += writer.last_flush().files.len();
    }
    if let Some(out) = jsonl.as_mut() {
        out.flush()?;
    }
    bar.finish_and_clear();
    let target = args.to.map(|t| format!(" in {files} Parquet files under {t}")).unwrap_or_default();
    eprintln!("{exported} findings exported{target}, {failed} could not be converted");
    Ok(())
}
