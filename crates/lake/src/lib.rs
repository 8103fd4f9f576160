//! The Security Lake export: ASFF findings as OCSF 1.1.0 events (`mapping`, `ocsf`), written as
//! ZSTD Parquet files (`schema`, `parquet_file`) in Amazon Security Lake's partitioned layout
//! (`layout`) to a directory or an S3-compatible object store (`sink`), exactly once for a caller
//! that delivers numbered events and commits a cursor after each flush (`writer`).
//!
//! No store, no API: the binary feeds it (`findinghub lake export`), and the outbox will.

pub mod layout;
pub mod mapping;
pub mod ocsf;
pub mod parquet_file;
pub mod schema;
pub mod sink;
pub mod writer;

pub use layout::LakeSource;
pub use mapping::{select_class, to_ocsf};
pub use ocsf::{FindingClass, OcsfFinding};
pub use sink::{LakeSink, ObjectStoreSink, S3Settings};
pub use writer::{LakeConfig, LakeWriter};

/// Everything that can go wrong between a finding and a file in the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("the finding has no {0}")]
    MissingField(&'static str),
    #[error("the finding's {field} is not a timestamp: {value:?}")]
    BadTimestamp { field: &'static str, value: String },
    #[error("sequence number {seq} is not above the last one appended ({last})")]
    SequenceNotIncreasing { seq: u64, last: u64 },
    #[error("a previous flush failed: recover() from the committed cursor before appending again")]
    NeedsRecovery,
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("arrow arrays from the OCSF structures: {0}")]
    Columns(#[from] serde_arrow::Error),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("invalid lake location {location:?}: {reason}")]
    BadLocation { location: String, reason: String },
}
