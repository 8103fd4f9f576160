//! The lake writer on a real local directory: the layout, the roll-over triggers, and exactly once
//! across crashes (a flush that fails part way, and a flush whose cursor commit never happened),
//! counted by reading the Parquet files back with the `parquet` crate's Arrow reader.

use arrow_array::{Array, Int64Array, RecordBatch, StructArray};
use bytes::Bytes;
use findinghub_lake::layout::parse_file_name;
use findinghub_lake::writer::LakeConfig;
use findinghub_lake::{LakeError, LakeSink, LakeSource, LakeWriter, ObjectStoreSink};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Finding `i`: one of three classes, three accounts, two Regions, two days.
fn finding(i: u64) -> Map<String, Value> {
    let account = ACCOUNTS[(i % 3) as usize];
    let region = REGIONS[(i / 3 % 2) as usize];
    let day = 1 + i / 7 % 2;
    let mut f = json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("finding-{i}"),
        "ProductArn": format!("arn:aws:securityhub:{region}::product/aws/guardduty"),
        "GeneratorId": "gen", "AwsAccountId": account, "Region": region,
        "Types": ["TTPs/Discovery"], "Title": format!("finding {i}"), "Description": "d",
        "CreatedAt": format!("2026-11-0{day}T10:00:00Z"), "UpdatedAt": format!("2026-11-0{day}T10:00:00Z"),
        "Severity": {"Label": "HIGH"}, "Workflow": {"Status": "NEW"}, "RecordState": "ACTIVE",
        "Resources": [{"Type": "AwsEc2Instance", "Id": format!("i-{i}")}]
    });
    match i % 3 {
        0 => {
            f["ProductArn"] = json!(format!("arn:aws:securityhub:{region}::product/aws/securityhub"));
            f["Compliance"] = json!({"Status": "FAILED", "SecurityControlId": "S3.8"});
        }
        1 => f["Vulnerabilities"] = json!([{"Id": format!("CVE-2026-{i}")}]),
        _ => {}
    }
    f.as_object().expect("object").clone()
}

/// A real local lake that can be told to fail its next puts, as a crash in the middle of a flush.
struct CrashingSink {
    inner: ObjectStoreSink,
    puts_before_failure: AtomicI64,
}

impl CrashingSink {
    fn new(dir: &Path) -> CrashingSink {
        CrashingSink {
            inner: ObjectStoreSink::local(dir).expect("local sink"),
            puts_before_failure: AtomicI64::new(-1),
        }
    }

    fn fail_after(&self, puts: i64) {
        self.puts_before_failure.store(puts, Ordering::SeqCst);
    }
}

impl LakeSink for CrashingSink {
    async fn put(&self, path: &str, bytes: Bytes) -> Result<(), LakeError> {
        if self.puts_before_failure.fetch_sub(1, Ordering::SeqCst) == 0 {
            self.puts_before_failure.store(0, Ordering::SeqCst);
            return Err(LakeError::BadLocation { location: path.to_owned(), reason: "the process died".to_owned() });
        }
        self.inner.put(path, bytes).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, LakeError> {
        self.inner.list(prefix).await
    }

    async fn delete(&self, path: &str) -> Result<(), LakeError> {
        self.inner.delete(path).await
    }
}

fn parquet_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read_batches(file: &Path) -> Vec<RecordBatch> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).expect("open"))
        .expect("a Parquet file")
        .build()
        .expect("reader");
    reader.map(|b| b.expect("a batch")).collect()
}

/// Every row's `metadata.sequence`, counted.
fn sequences(root: &Path) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    for file in parquet_files(root) {
        for batch in read_batches(&file) {
            let metadata = batch.column_by_name("metadata").expect("metadata");
            let metadata = metadata.as_any().downcast_ref::<StructArray>().expect("a struct");
            let seq = metadata.column_by_name("sequence").expect("sequence");
            let seq = seq.as_any().downcast_ref::<Int64Array>().expect("int64");
            for i in 0..seq.len() {
                *seen.entry(seq.value(i)).or_insert(0) += 1;
            }
        }
    }
    seen
}

fn config() -> LakeConfig {
    LakeConfig::default()
}

#[tokio::test]
async fn files_land_in_security_lakes_layout_one_class_per_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = LakeWriter::new(config(), ObjectStoreSink::local(dir.path()).expect("sink"));
    writer.recover(0).await.expect("recover an empty lake");
    for seq in 1..=42 {
        writer.append(seq, &finding(seq)).expect("append");
    }
    assert_eq!(writer.flush().await.expect("flush"), Some(42));
    assert_eq!(writer.flush().await.expect("an empty flush"), None);
    let files = parquet_files(dir.path());
    // 3 classes x 3 accounts x 2 Regions x 2 days, of which the finding numbers reach 36 combinations.
    assert!(files.len() >= 12, "{files:?}");
    for file in &files {
        let rel = file.strip_prefix(dir.path()).expect("under the root").display().to_string();
        let parts: Vec<&str> = rel.split('/').collect();
        assert_eq!(&parts[..3], &["aws", "SH_FINDINGS", "2.0"], "{rel}");
        assert!(
            parts[3].starts_with("region=")
                && parts[4].starts_with("accountId=")
                && parts[5].starts_with("eventDay=2026110"),
            "{rel}"
        );
        let (first, last) = parse_file_name(parts[6]).expect("a lake file name");
        let batches = read_batches(file);
        let class_uid = parts[6].split('-').nth(2).expect("class in the name");
        for batch in &batches {
            let classes = batch.column_by_name("class_uid").expect("class_uid");
            let classes = classes.as_any().downcast_ref::<arrow_array::Int32Array>().expect("int32");
            assert!(classes.iter().all(|c| c.map(|c| c.to_string()).as_deref() == Some(class_uid)), "{rel}");
        }
        let seqs: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let m = b.column_by_name("metadata").expect("metadata");
                let m = m.as_any().downcast_ref::<StructArray>().expect("struct").clone();
                let s = m
                    .column_by_name("sequence")
                    .expect("sequence")
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("i64")
                    .clone();
                s.values().to_vec()
            })
            .collect();
        assert_eq!(seqs.first().copied(), Some(first as i64), "{rel}");
        assert_eq!(seqs.last().copied(), Some(last as i64), "{rel}");
    }
    assert_eq!(sequences(dir.path()).len(), 42);
}

#[tokio::test]
async fn a_custom_source_goes_under_ext() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LakeConfig { source: LakeSource::Custom("findinghub".to_owned()), ..config() };
    let mut writer = LakeWriter::new(config, ObjectStoreSink::local(dir.path()).expect("sink"));
    writer.append(1, &finding(1)).expect("append");
    writer.flush().await.expect("flush");
    let files = parquet_files(dir.path());
    let rel = files[0].strip_prefix(dir.path()).expect("under").display().to_string();
    assert!(rel.starts_with("ext/findinghub/region=us-east-1/accountId=222222222222/eventDay=20261101/"), "{rel}");
}

#[tokio::test]
async fn a_flush_is_due_by_age_or_by_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LakeConfig { max_file_age: Duration::from_secs(60), max_file_bytes: 200_000, ..config() };
    let mut writer = LakeWriter::new(config, ObjectStoreSink::local(dir.path()).expect("sink"));
    let start = Instant::now();
    assert!(!writer.due_for_flush(start + Duration::from_secs(3600)), "nothing buffered, nothing due");
    writer.append(1, &finding(1)).expect("append");
    assert!(!writer.due_for_flush(Instant::now()));
    assert!(writer.due_for_flush(Instant::now() + Duration::from_secs(61)), "old enough");
    writer.flush().await.expect("flush");
    assert!(!writer.due_for_flush(Instant::now() + Duration::from_secs(61)), "the age restarts with the next event");
    // One partition (the same account, Region, day and class) until the size is reached.
    let mut seq = 1u64;
    let mut noise = 0x9e37_79b9_7f4a_7c15u64;
    while !writer.due_for_flush(Instant::now()) {
        seq += 1;
        let mut f = finding(1);
        f.insert("Id".into(), json!(format!("big-{seq}")));
        // Text that does not compress away, so that the file's size follows the row count.
        let text: String = (0..40)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                format!("{noise:016x}")
            })
            .collect();
        f.insert("Description".into(), json!(text));
        writer.append(seq, &f).expect("append");
        assert!(seq < 20_000, "the size trigger never fired");
    }
    assert!(writer.buffered_rows() > 100, "{} rows", writer.buffered_rows());
    writer.flush().await.expect("flush");
    let sizes: Vec<u64> = parquet_files(dir.path()).iter().map(|f| std::fs::metadata(f).expect("meta").len()).collect();
    // The estimate counts the row group in progress before compression: files end at or below the limit.
    assert!(sizes.iter().any(|s| *s >= 50_000 && *s <= 220_000), "{sizes:?}");
}

#[tokio::test]
async fn sequence_numbers_must_increase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = LakeWriter::new(config(), ObjectStoreSink::local(dir.path()).expect("sink"));
    writer.recover(10).await.expect("recover");
    assert!(matches!(writer.append(10, &finding(10)), Err(LakeError::SequenceNotIncreasing { seq: 10, last: 10 })));
    writer.append(11, &finding(11)).expect("append");
    assert!(matches!(writer.append(11, &finding(11)), Err(LakeError::SequenceNotIncreasing { .. })));
    // A finding that cannot be converted is refused, and the cursor still moves past it.
    let mut bad = finding(12);
    bad.remove("Id");
    assert!(matches!(writer.append(12, &bad), Err(LakeError::MissingField("Id"))));
    assert_eq!(writer.flush().await.expect("flush"), Some(12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_many_converts_in_parallel_and_refuses_only_the_bad_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = LakeWriter::new(config(), ObjectStoreSink::local(dir.path()).expect("sink"));
    writer.recover(0).await.expect("recover");
    let findings: Vec<Map<String, Value>> = (1..=10_000).map(finding).collect();
    let mut bad = finding(10_001);
    bad.remove("Title");
    let mut items: Vec<(u64, Vec<&Map<String, Value>>)> =
        findings.iter().enumerate().map(|(i, f)| (i as u64 + 1, vec![f])).collect();
    // One event with two findings (two rows of one sequence number), one with a bad finding.
    items.push((10_001, vec![&findings[0], &findings[1]]));
    items.push((10_002, vec![&findings[2], &bad]));
    let refused = writer.append_many(&items).expect("append");
    assert_eq!(refused.len(), 1);
    assert!(matches!(refused[0], (10_002, LakeError::MissingField("Title"))), "{refused:?}");
    assert_eq!(writer.buffered_rows(), 10_002);
    assert!(matches!(
        writer.append_many(&[(10_002, vec![&findings[0]])]),
        Err(LakeError::SequenceNotIncreasing { seq: 10_002, last: 10_002 })
    ));
    assert_eq!(writer.flush().await.expect("flush"), Some(10_002), "the refused event still counts");
    let seen = sequences(dir.path());
    assert_eq!(seen.len(), 10_001);
    assert!((1..=10_000).all(|s| seen.get(&s) == Some(&1)));
    assert_eq!(seen.get(&10_001), Some(&2));
}

/// The outbox's side, in miniature: a durable cursor, replay from it after each crash.
#[tokio::test]
async fn crashes_during_and_after_a_flush_leave_every_event_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cursor = 0u64;

    // Run 1: a flush that commits, then a flush that dies after writing two of its files.
    let mut writer = LakeWriter::new(config(), CrashingSink::new(dir.path()));
    writer.recover(cursor).await.expect("recover");
    for seq in 1..=100 {
        writer.append(seq, &finding(seq)).expect("append");
    }
    cursor = writer.flush().await.expect("flush").expect("something flushed");
    assert_eq!(cursor, 100);
    for seq in 101..=200 {
        writer.append(seq, &finding(seq)).expect("append");
    }
    writer.sink().fail_after(2);
    assert!(writer.flush().await.is_err(), "the flush dies");
    assert!(matches!(writer.append(201, &finding(201)), Err(LakeError::NeedsRecovery)));
    drop(writer);
    let after_crash = sequences(dir.path());
    assert!(after_crash.keys().any(|s| *s > 100), "the dead flush left files behind");

    // Run 2: recovers, replays from the cursor, flushes, and dies before committing the cursor.
    let mut writer = LakeWriter::new(config(), CrashingSink::new(dir.path()));
    let deleted = writer.recover(cursor).await.expect("recover");
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert!(sequences(dir.path()).keys().all(|s| *s <= 100));
    for seq in cursor + 1..=250 {
        writer.append(seq, &finding(seq)).expect("append");
    }
    assert_eq!(writer.flush().await.expect("flush"), Some(250));
    drop(writer); // the cursor stays at 100

    // Run 3: recovers again, replays everything after the cursor, and commits.
    let mut writer = LakeWriter::new(config(), CrashingSink::new(dir.path()));
    assert!(!writer.recover(cursor).await.expect("recover").is_empty());
    for seq in cursor + 1..=300 {
        writer.append(seq, &finding(seq)).expect("append");
    }
    cursor = writer.flush().await.expect("flush").expect("flushed");
    assert_eq!(cursor, 300);

    let seen = sequences(dir.path());
    let expected: BTreeMap<i64, usize> = (1..=300).map(|s| (s, 1)).collect();
    assert_eq!(seen, expected, "every event once, none missing");
}
