//! `findinghub ingest` and `findinghub convert`: native events from files, through the same
//! path as `POST /events`, or converted and printed without storing anything.

use crate::progress_bar;
use anyhow::{Context, Result, bail};
use findinghub_api::events::{EventSender, Outcome, ingest as ingest_events};
use findinghub_api::server::App;
use findinghub_producers::{Conversion, ConvertOptions, Producer};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How many events go to the store together.
const EVENTS_PER_BATCH: usize = 100;

/// The events of a file's text: one event or API output, an array of them, or JSON lines.
fn read_events(text: &str) -> Result<Vec<Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(v @ Value::Object(_)) => Ok(vec![v]),
        Ok(_) => bail!("expected an event, an array of events, or one event per line"),
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {} is not JSON", i + 1)))
            .collect(),
    }
}

fn read_input(path: &str) -> Result<String> {
    let mut text = String::new();
    if path == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    }
    Ok(text)
}

/// The files named: each file, every `.json` file under each directory (sorted), or `-`.
fn files_of(paths: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in paths {
        let path = Path::new(p);
        if p != "-" && path.is_dir() {
            let mut found = Vec::new();
            collect_json(path, &mut found)?;
            found.sort();
            out.extend(found.into_iter().map(|f| f.display().to_string()));
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json" || e == "jsonl") {
            out.push(path);
        }
    }
    Ok(())
}

pub async fn ingest(app: &App, paths: &[String], options: &ConvertOptions) -> Result<()> {
    let mut events = Vec::new();
    for file in files_of(paths)? {
        let text = read_input(&file)?;
        let read = read_events(&text).with_context(|| format!("reading events from {file}"))?;
        events.extend(read.into_iter().map(|e| (file.clone(), e)));
    }
    // The operator at the console delivers events of every account, into the store as they are.
    let sender = EventSender { key_id: "local".into(), account_id: String::new(), admin: true, gated: false };
    let bar = progress_bar(events.len() as u64, "events");
    let mut counts = [0usize; 4];
    // Created, updated, unchanged.
    let mut statuses = [0usize; 3];
    let mut problems = Vec::new();
    for chunk in events.chunks(EVENTS_PER_BATCH) {
        let docs: Vec<Value> = chunk.iter().map(|(_, e)| e.clone()).collect();
        let results = ingest_events(app, &sender, &docs, options).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        for ((file, _), r) in chunk.iter().zip(results) {
            let slot = match r.outcome {
                Outcome::Imported => 0,
                Outcome::NoFinding => 1,
                Outcome::Dropped => 2,
                Outcome::Failed => 3,
            };
            counts[slot] += 1;
            for f in &r.findings {
                match f["Status"].as_str() {
                    Some("Created") => statuses[0] += 1,
                    Some("Updated") => statuses[1] += 1,
                    Some("Unchanged") => statuses[2] += 1,
                    _ => {}
                }
            }
            if matches!(r.outcome, Outcome::Dropped | Outcome::Failed) {
                problems.push(format!("{file}: {}: {}", r.outcome.as_str(), r.reason.unwrap_or_default()));
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    println!(
        "{} events: {} imported ({} findings created, {} updated, {} unchanged), {} made no finding, {} dropped, {} failed",
        events.len(),
        counts[0],
        statuses[0],
        statuses[1],
        statuses[2],
        counts[1],
        counts[2],
        counts[3]
    );
    for p in &problems {
        println!("  {p}");
    }
    if counts[3] > 0 {
        std::process::exit(2);
    }
    Ok(())
}

pub fn convert(from: &str, file: &str, options: &ConvertOptions) -> Result<()> {
    let named = match from {
        "auto" => None,
        name => Some(Producer::from_name(name).with_context(|| {
            let names: Vec<&str> = Producer::ALL.iter().map(|p| p.name()).collect();
            format!("unknown producer {name:?}; one of: auto, {}", names.join(", "))
        })?),
    };
    let text = read_input(file)?;
    let mut out = Vec::new();
    let mut failed = false;
    for event in read_events(&text)? {
        let Some(producer) = named.or_else(|| Producer::detect(&event)) else {
            eprintln!("no producer recognises this event (source and detail-type, or API output shape)");
            failed = true;
            continue;
        };
        match producer.convert(&event, options) {
            Ok(Conversion::Findings(findings)) => out.extend(findings.into_iter().map(Value::Object)),
            Ok(Conversion::NoFinding(reason)) => eprintln!("{}: no finding: {reason}", producer.name()),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    if failed {
        std::process::exit(2);
    }
    Ok(())
}
