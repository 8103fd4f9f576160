//! `findinghub migrate --from <store> --to <store>`: copies everything a store keeps into another
//! (of either backend) through [`RecordStore`], table by table in key order, with a progress bar.
//! Each page is written with the copy's progress in one transaction of the destination, so an
//! interrupted copy continues where it stopped when run again. At the end it compares the record
//! counts of every table and a hash of every record (independent of the backend's order of JSON
//! members), and fails on any difference.

use crate::{StoreLocation, progress_bar};
use anyhow::{Context, Result, bail};
use findinghub_store::portable::{CopyProgress, RecordStore, record_hash, table_names};
use findinghub_store::postgres::PostgresStore;
use findinghub_store::sqlite::SqliteStore;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct MigrateArgs<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub batch: usize,
    pub pause: Duration,
    pub checksum: bool,
}

/// A store named as `--store` names it, or a data directory.
fn location(url: &str) -> Result<StoreLocation> {
    let url = url.trim();
    if url.contains("://") {
        StoreLocation::parse(url)
    } else if url.is_empty() {
        bail!("an empty store location")
    } else {
        Ok(StoreLocation::Embedded(PathBuf::from(url)))
    }
}

/// Where a store is, for the progress records and messages: never a password.
fn describe(location: &StoreLocation) -> String {
    match location {
        StoreLocation::Embedded(dir) => {
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            format!("sqlite://{}", dir.display())
        }
        StoreLocation::Postgres(url) => {
            let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => {
                    let userinfo = &rest[..at];
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{scheme}://{user}@{}", &rest[at + 1..])
                }
                None => url.clone(),
            }
        }
    }
}

async fn open(location: &StoreLocation) -> Result<Arc<dyn RecordStore>> {
    Ok(match location {
        StoreLocation::Embedded(dir) => {
            Arc::new(SqliteStore::open(dir).with_context(|| format!("opening the data directory {}", dir.display()))?)
        }
        StoreLocation::Postgres(url) => Arc::new(PostgresStore::open(url).await.context("opening PostgreSQL")?),
    })
}

/// Per table: how many records, and the sum of their hashes.
async fn digest(store: &dyn RecordStore, table: &str, batch: usize) -> Result<(u64, u64)> {
    let (mut n, mut sum) = (0u64, 0u64);
    let mut cursor: Option<String> = None;
    loop {
        let page = store.export_records(table, cursor.as_deref(), batch).await?;
        n += page.records.len() as u64;
        for r in &page.records {
            sum = sum.wrapping_add(record_hash(r));
        }
        match page.cursor {
            Some(c) if page.records.len() == batch => cursor = Some(c),
            _ => return Ok((n, sum)),
        }
    }
}

pub async fn migrate(args: MigrateArgs<'_>) -> Result<()> {
    let batch = args.batch.clamp(1, 10_000);
    let (from_at, to_at) = (location(args.from)?, location(args.to)?);
    let source = describe(&from_at);
    if source == describe(&to_at) {
        bail!("--from and --to name the same store");
    }
    if let StoreLocation::Embedded(dir) = &from_at
        && !dir.join(findinghub_store::sqlite::DB_FILE).is_file()
    {
        bail!("{} holds no findinghub store", dir.display());
    }
    let from = open(&from_at).await?;
    let to = open(&to_at).await?;
    let tables = table_names();

    let done: BTreeMap<String, CopyProgress> =
        to.copy_progress().await?.into_iter().map(|p| (p.table.clone(), p)).collect();
    if let Some(other) = done.values().find(|p| p.source != source) {
        bail!(
            "the destination is not empty: it holds a copy from {}, not from {source}; copy into an empty store",
            other.source
        );
    }
    if done.is_empty() {
        for table in &tables {
            if to.count_records(table).await? > 0 {
                bail!("the destination is not empty ({table} has records): copy into an empty store");
            }
        }
    } else {
        eprintln!("resuming the copy from {source}");
    }

    let mut totals = BTreeMap::new();
    for table in &tables {
        totals.insert(*table, from.count_records(table).await?);
    }
    if totals.values().all(|n| *n == 0) {
        bail!("{source} holds no records: nothing to copy");
    }
    let bar = progress_bar(totals.values().sum(), "records");
    for table in &tables {
        let mut progress = done.get(*table).cloned().unwrap_or_else(|| CopyProgress {
            table: (*table).to_owned(),
            source: source.clone(),
            cursor: None,
            copied: 0,
            done: false,
        });
        bar.inc(progress.copied);
        while !progress.done {
            let page = from.export_records(table, progress.cursor.as_deref(), batch).await?;
            progress.done = page.records.len() < batch;
            if let Some(c) = page.cursor {
                progress.cursor = Some(c);
            }
            progress.copied += page.records.len() as u64;
            to.import_records(table, &page.records, &progress).await.with_context(|| format!("copying {table}"))?;
            bar.inc(page.records.len() as u64);
            if !progress.done && !args.pause.is_zero() {
                tokio::time::sleep(args.pause).await;
            }
        }
    }
    bar.finish_and_clear();

    let mut failed = Vec::new();
    println!("{:<24} {:>12} {:>12}  check", "table", "source", "copy");
    for table in &tables {
        let (check, source_n, copy_n) = if args.checksum {
            let (a, b) = tokio::try_join!(digest(from.as_ref(), table, batch), digest(to.as_ref(), table, batch))?;
            let check = if a == b { "same records" } else { "DIFFERENT" };
            (check, a.0, b.0)
        } else {
            let (a, b) = tokio::try_join!(from.count_records(table), to.count_records(table))?;
            (if a == b { "same count" } else { "DIFFERENT" }, a, b)
        };
        println!("{table:<24} {source_n:>12} {copy_n:>12}  {check}");
        if check == "DIFFERENT" {
            failed.push(*table);
        }
    }
    if !failed.is_empty() {
        bail!(
            "the copy differs from the source in {} (was the source changed during the copy? stop its hubs, copy \
             into an empty store again)",
            failed.join(", ")
        );
    }
    println!("copied and verified: {} records", totals.values().sum::<u64>());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_hold_no_password() {
        let at = StoreLocation::Postgres("postgres://fh:secret@db:5432/hub?options=-csearch_path%3Da".into());
        assert_eq!(describe(&at), "postgres://fh@db:5432/hub?options=-csearch_path%3Da");
        let at = StoreLocation::Postgres("postgres://fh@db/hub".into());
        assert_eq!(describe(&at), "postgres://fh@db/hub");
        assert_eq!(location("./data").ok(), Some(StoreLocation::Embedded(PathBuf::from("./data"))));
        assert!(location("mysql://x").is_err());
    }
}
