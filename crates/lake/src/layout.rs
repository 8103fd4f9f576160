//! Where a file goes: Security Lake's layout,
//! `aws/SH_FINDINGS/2.0/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<file>` for the
//! Security Hub source, `ext/<source>/region=…/…` for a custom source; and the file names, which
//! carry the range of sequence numbers that a file holds, so that `LakeWriter::recover` can tell
//! the files of a flush whose cursor was never committed.

use crate::ocsf::{FindingClass, OcsfFinding};
use findinghub_asff::timestamp::format_timestamp;

/// The source a lake is laid out for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeSource {
    /// `aws/SH_FINDINGS/2.0/`, the native Security Hub source (OCSF 1.1.0).
    SecurityHub,
    /// `ext/<name>/`, a custom source.
    Custom(String),
}

impl LakeSource {
    /// The prefix of every partition, relative to the lake's root.
    pub fn prefix(&self) -> String {
        match self {
            LakeSource::SecurityHub => "aws/SH_FINDINGS/2.0".to_owned(),
            LakeSource::Custom(name) => format!("ext/{}", path_segment(name)),
        }
    }
}

/// The partition of an event, plus its class: a Parquet file holds one class (one schema).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    pub region: String,
    pub account: String,
    /// `YYYYMMDD` of the event's `time` (UpdatedAt), in UTC.
    pub event_day: String,
    pub class: FindingClass,
}

impl PartitionKey {
    pub fn of(event: &OcsfFinding) -> PartitionKey {
        let base = event.base();
        let day = format_timestamp(base.time.saturating_mul(1000));
        PartitionKey {
            region: base.cloud.region.as_deref().unwrap_or("unknown").to_owned(),
            account: base.cloud.account.as_ref().map_or("unknown", |a| &a.uid).to_owned(),
            event_day: day.get(..10).unwrap_or("19700101").replace('-', ""),
            class: event.class(),
        }
    }

    /// `region=…/accountId=…/eventDay=…`, each value made safe as one path segment.
    pub fn directory(&self) -> String {
        format!(
            "region={}/accountId={}/eventDay={}",
            path_segment(&self.region),
            path_segment(&self.account),
            path_segment(&self.event_day)
        )
    }
}

/// `<first>-<last>-<class_uid>-<unique>.zstd.parquet`, the sequence numbers zero-padded so that
/// names sort in sequence order.
pub fn file_name(first_seq: u64, last_seq: u64, class: FindingClass, unique: &str) -> String {
    format!("{first_seq:020}-{last_seq:020}-{}-{unique}.zstd.parquet", class.uid())
}

/// `export-<class_uid>-<unique>.zstd.parquet`: a backfill's file, outside the sequence.
pub fn export_file_name(class: FindingClass, unique: &str) -> String {
    format!("export-{}-{unique}.zstd.parquet", class.uid())
}

/// The sequence range of a file named by `file_name`, or `None` for any other name.
pub fn parse_file_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".zstd.parquet")?;
    let mut parts = stem.splitn(4, '-');
    let first = parts.next()?.parse().ok()?;
    let last = parts.next()?.parse().ok()?;
    FindingClass::from_uid(parts.next()?.parse().ok()?)?;
    parts.next()?;
    Some((first, last))
}

/// A value as one path segment that every object store and query engine takes as it is: letters,
/// digits, `-`, `_` and `.`; anything else becomes `_` (a Region or account id never has any).
fn path_segment(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => "_".to_owned(),
        _ => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_sort_by_sequence() {
        let a = file_name(9, 12, FindingClass::Compliance, "abc");
        let b = file_name(10, 10, FindingClass::Detection, "abd");
        assert_eq!(parse_file_name(&a), Some((9, 12)));
        assert_eq!(parse_file_name(&b), Some((10, 10)));
        assert!(a < b);
        assert_eq!(parse_file_name("00000000000000000009-x.zstd.parquet"), None);
        assert_eq!(parse_file_name(&format!("{a}#1")), None);
        assert_eq!(parse_file_name(&export_file_name(FindingClass::Compliance, "abc")), None);
    }

    #[test]
    fn custom_sources_and_odd_values_stay_one_segment() {
        assert_eq!(LakeSource::SecurityHub.prefix(), "aws/SH_FINDINGS/2.0");
        assert_eq!(LakeSource::Custom("my/src".to_owned()).prefix(), "ext/my_src");
        assert_eq!(path_segment(".."), "_");
        assert_eq!(path_segment("us-east-1"), "us-east-1");
    }
}
