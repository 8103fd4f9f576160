//! The lake writer: events in, Parquet files out, exactly once for a caller that numbers its events
//! and keeps a cursor.
//!
//! The contract (the outbox's): events come with strictly increasing sequence numbers; the caller
//! calls `flush` when `due_for_flush` says so (or when it stops), and only after `flush` returns
//! `Some(n)` commits "the lake has everything up to n" in its own store. Each flush writes one file
//! per partition and class, named with the first and last sequence numbers it holds, each made
//! visible atomically by the sink. After a crash the caller calls `recover(cursor)`, which deletes
//! every file whose first sequence number is above the cursor (written by a flush whose cursor
//! commit never happened), then replays its events from cursor + 1: the lake then holds every
//! event once. A file of a committed flush holds only numbers at or below the cursor, and a file of
//! an uncommitted flush only numbers above it, because every flush takes everything appended
//! since the previous one.

use crate::LakeError;
use crate::layout::{LakeSource, PartitionKey, export_file_name, file_name, parse_file_name};
use crate::mapping::to_ocsf;
use crate::ocsf::{FindingClass, OcsfFinding};
use crate::parquet_file::{ParquetFileBuilder, ParquetOptions};
use crate::sink::LakeSink;
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How the writer lays out and rolls its files.
#[derive(Debug, Clone)]
pub struct LakeConfig {
    pub source: LakeSource,
    /// A flush is due when a file would pass this size (its compressed bytes, near enough).
    pub max_file_bytes: usize,
    /// A flush is due when the oldest buffered event has waited this long.
    pub max_file_age: Duration,
    pub parquet: ParquetOptions,
    /// Name files with their sequence range (the exactly-once writer of the outbox), or as a
    /// backfill (`export-…`), which `recover` never deletes.
    pub sequenced_names: bool,
}

impl Default for LakeConfig {
    fn default() -> Self {
        LakeConfig {
            source: LakeSource::SecurityHub,
            max_file_bytes: 128 * 1024 * 1024,
            max_file_age: Duration::from_secs(300),
            parquet: ParquetOptions::default(),
            sequenced_names: true,
        }
    }
}

struct OpenFile {
    builder: ParquetFileBuilder,
    first_seq: u64,
    last_seq: u64,
}

/// What a flush wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// The paths written, relative to the lake's root.
    pub files: Vec<String>,
    pub rows: usize,
}

pub struct LakeWriter<S> {
    config: LakeConfig,
    sink: S,
    open: BTreeMap<PartitionKey, OpenFile>,
    /// The last sequence number appended (or recovered to).
    last_seq: Option<u64>,
    /// The highest sequence number appended since the last flush.
    unflushed: Option<u64>,
    /// When the first event since the last flush arrived.
    oldest: Option<Instant>,
    /// A flush failed part way: what it had taken is gone from memory, so the caller must recover
    /// and replay.
    poisoned: bool,
    last_flush: FlushReport,
}

impl<S: LakeSink> LakeWriter<S> {
    pub fn new(config: LakeConfig, sink: S) -> LakeWriter<S> {
        LakeWriter {
            config,
            sink,
            open: BTreeMap::new(),
            last_seq: None,
            unflushed: None,
            oldest: None,
            poisoned: false,
            last_flush: FlushReport::default(),
        }
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Buffers one finding change. A finding that cannot be converted is refused with its error,
    /// and its sequence number still counts as handled: the cursor moves past it (the lake cannot
    /// ever hold it, and the outbox must not stall on it).
    pub fn append(&mut self, seq: u64, finding: &Map<String, Value>) -> Result<(), LakeError> {
        self.append_findings(seq, [finding])
    }

    /// Buffers the findings of one numbered event (an EventBridge event carries one or more), all
    /// or none: when one cannot be converted, none is buffered and the error says why, and the
    /// sequence number still counts as handled (see `append`).
    pub fn append_findings<'f>(
        &mut self,
        seq: u64,
        findings: impl IntoIterator<Item = &'f Map<String, Value>>,
    ) -> Result<(), LakeError> {
        self.accept_seq(seq)?;
        for (key, event) in convert(seq, findings)? {
            self.append_event(seq, key, &event)?;
        }
        Ok(())
    }

    /// Buffers many numbered events at once, on every core: what `append_findings` does for each,
    /// in order. The findings are converted in parallel, then each file's share is serialised
    /// into its arrays in parallel with the other files'. Returns the events refused (their
    /// sequence numbers with why); an error is one of the writer's own (an order, a failed
    /// encoding).
    pub fn append_many(
        &mut self,
        items: &[(u64, Vec<&Map<String, Value>>)],
    ) -> Result<Vec<(u64, LakeError)>, LakeError> {
        let mut last = self.last_seq;
        for (seq, _) in items {
            if let Some(l) = last.filter(|l| seq <= l) {
                return Err(LakeError::SequenceNotIncreasing { seq: *seq, last: l });
            }
            last = Some(*seq);
        }
        let converted = parallel_map(items, |(seq, findings)| convert(*seq, findings.iter().copied()));
        let mut refused = Vec::new();
        let mut accepted = Vec::with_capacity(items.len());
        for ((seq, _), events) in items.iter().zip(converted) {
            self.accept_seq(*seq)?;
            match events {
                Ok(events) => accepted.push((*seq, events)),
                Err(e) => refused.push((*seq, e)),
            }
        }
        // Each file's share, by reference: the events (a kilobyte each) stay where the conversion
        // put them.
        let mut shares: BTreeMap<&PartitionKey, Vec<&OcsfFinding<'_>>> = BTreeMap::new();
        for (seq, events) in &accepted {
            for (key, event) in events {
                let file = self.open_file(key, event.class(), *seq)?;
                file.last_seq = *seq;
                shares.entry(key).or_default().push(event);
            }
        }
        let mut work: Vec<(&mut ParquetFileBuilder, Vec<&OcsfFinding<'_>>)> = self
            .open
            .iter_mut()
            .filter_map(|(key, file)| shares.remove(key).map(|events| (&mut file.builder, events)))
            .collect();
        let results = parallel_map_mut(&mut work, |(builder, events)| events.iter().try_for_each(|e| builder.push(e)));
        drop(work);
        // Freeing the events is work too: on the pool, not here.
        accepted.into_par_iter().for_each(drop);
        if let Some(e) = results.into_iter().find_map(Result::err) {
            self.poisoned = true;
            return Err(e);
        }
        Ok(refused)
    }

    /// Buffers an event already converted (its `metadata.sequence` is left as it is).
    pub fn append_ocsf(&mut self, seq: u64, event: &OcsfFinding<'_>) -> Result<(), LakeError> {
        self.accept_seq(seq)?;
        self.append_event(seq, PartitionKey::of(event), event)
    }

    fn accept_seq(&mut self, seq: u64) -> Result<(), LakeError> {
        if self.poisoned {
            return Err(LakeError::NeedsRecovery);
        }
        if let Some(last) = self.last_seq.filter(|last| seq <= *last) {
            return Err(LakeError::SequenceNotIncreasing { seq, last });
        }
        self.last_seq = Some(seq);
        self.unflushed = Some(seq);
        self.oldest.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// The open file of a partition, opened for an event numbered `seq` if there is none.
    fn open_file(&mut self, key: &PartitionKey, class: FindingClass, seq: u64) -> Result<&mut OpenFile, LakeError> {
        if !self.open.contains_key(key) {
            let builder = ParquetFileBuilder::new(class, &self.config.parquet)?;
            self.open.insert(key.clone(), OpenFile { builder, first_seq: seq, last_seq: seq });
        }
        self.open.get_mut(key).ok_or(LakeError::NeedsRecovery)
    }

    fn append_event(&mut self, seq: u64, key: PartitionKey, event: &OcsfFinding<'_>) -> Result<(), LakeError> {
        let file = self.open_file(&key, event.class(), seq)?;
        file.last_seq = seq;
        if let Err(e) = file.builder.push(event) {
            self.poisoned = true;
            return Err(e);
        }
        Ok(())
    }

    /// A file has reached its size, or the oldest buffered event its age.
    pub fn due_for_flush(&self, now: Instant) -> bool {
        let too_old = self.oldest.is_some_and(|t| now.saturating_duration_since(t) >= self.config.max_file_age);
        too_old || self.open.values().any(|f| f.builder.estimated_size() >= self.config.max_file_bytes)
    }

    /// Rows buffered, not yet in the lake.
    pub fn buffered_rows(&self) -> usize {
        self.open.values().map(|f| f.builder.rows()).sum()
    }

    /// Writes every buffered event, one file per partition and class, and returns the highest
    /// sequence number now durable (`None` when nothing was appended since the last flush). On an
    /// error the writer refuses further appends until `recover`.
    pub async fn flush(&mut self) -> Result<Option<u64>, LakeError> {
        if self.poisoned {
            return Err(LakeError::NeedsRecovery);
        }
        // Encoding and compressing the files is the work: on every core.
        let mut finishing: Vec<Option<(PartitionKey, OpenFile)>> =
            std::mem::take(&mut self.open).into_iter().map(Some).collect();
        let finished = parallel_map_mut(&mut finishing, |slot| match slot.take() {
            Some((key, file)) => {
                let (rows, class) = (file.builder.rows(), file.builder.class());
                file.builder.finish().map(|bytes| Some((key, file.first_seq, file.last_seq, rows, class, bytes)))
            }
            None => Ok(None),
        });
        let mut report = FlushReport::default();
        for result in finished {
            let written = match result {
                Ok(Some((key, first_seq, last_seq, rows, class, bytes))) => {
                    let unique = uuid::Uuid::new_v4().simple().to_string();
                    let name = if self.config.sequenced_names {
                        file_name(first_seq, last_seq, class, &unique)
                    } else {
                        export_file_name(class, &unique)
                    };
                    let path = format!("{}/{}/{name}", self.config.source.prefix(), key.directory());
                    self.sink.put(&path, bytes.into()).await.map(|()| (path, rows))
                }
                Ok(None) => continue,
                Err(e) => Err(e),
            };
            match written {
                Ok((path, rows)) => {
                    tracing::debug!(%path, rows, "lake file written");
                    report.files.push(path);
                    report.rows += rows;
                }
                Err(e) => {
                    self.poisoned = true;
                    return Err(e);
                }
            }
        }
        self.oldest = None;
        self.last_flush = report;
        Ok(self.unflushed.take())
    }

    /// What the last successful flush wrote.
    pub fn last_flush(&self) -> &FlushReport {
        &self.last_flush
    }

    /// After a restart (or a failed flush): forgets what is buffered, deletes the files of flushes
    /// whose cursor was not committed (first sequence number above `committed_seq`), and expects
    /// the next append above `committed_seq`. Returns the paths deleted.
    pub async fn recover(&mut self, committed_seq: u64) -> Result<Vec<String>, LakeError> {
        self.open.clear();
        self.unflushed = None;
        self.oldest = None;
        let mut deleted = Vec::new();
        for path in self.sink.list(&self.config.source.prefix()).await? {
            let name = path.rsplit('/').next().unwrap_or(&path);
            let Some((first, last)) = parse_file_name(name) else { continue };
            if first > committed_seq {
                self.sink.delete(&path).await?;
                tracing::info!(%path, committed_seq, "deleted a lake file whose flush was not committed");
                deleted.push(path);
            } else if last > committed_seq {
                // Cannot come from this writer; kept, since deleting it would lose committed rows.
                tracing::warn!(%path, committed_seq, "a lake file straddles the committed cursor");
            }
        }
        self.last_seq = Some(committed_seq);
        self.poisoned = false;
        Ok(deleted)
    }
}

/// The OCSF events of one numbered event's findings, stamped with its sequence number, with the
/// partition that each goes to.
fn convert<'f>(
    seq: u64,
    findings: impl IntoIterator<Item = &'f Map<String, Value>>,
) -> Result<Vec<(PartitionKey, OcsfFinding<'f>)>, LakeError> {
    findings
        .into_iter()
        .map(|finding| {
            let mut event = to_ocsf(finding)?;
            event.base_mut().metadata.sequence = i64::try_from(seq).ok();
            Ok((PartitionKey::of(&event), event))
        })
        .collect()
}

/// `f` over `items`, in order, on the process's worker pool (one thread per core). A pool that
/// lives as long as the process, rather than threads spawned per call: the allocator's per-thread
/// heaps then reuse what the previous batch freed, instead of faulting in fresh pages each time.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    items.par_iter().map(f).collect()
}

/// `f` over `items` by mutable reference, in order, on the worker pool.
fn parallel_map_mut<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut T) -> R + Sync + Send) -> Vec<R> {
    items.par_iter_mut().map(f).collect()
}
