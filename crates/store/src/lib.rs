//! Where findings live: the [`FindingStore`] trait that every backend implements, the conformance
//! suite that holds every backend to the same behaviour, the embedded SQLite backend and the
//! PostgreSQL backend.
//!
//! A backend does not decide what an import or an update means: it loads the stored version, calls
//! the pure rules of `findinghub-hub` inside its transaction, and writes what they return.

pub mod columns;
pub mod conformance;
pub mod groups;
pub mod outbox;
pub mod page;
pub mod portable;
pub mod postgres;
pub mod retention;
pub mod sqlite;
pub mod state;
pub mod state_cache;

use async_trait::async_trait;
use bytes::Bytes;
use findinghub_asff::timestamp::Micros;
use findinghub_hub::filter::{Filters, SortCriterion};
use findinghub_hub::finding::{FindingIdentifier, StoredFinding};
use findinghub_hub::history::HistoryEntry;
use findinghub_hub::products::ProductNames;
use findinghub_hub::update::{BatchUpdateRequest, NoteUpdate, UnprocessedReason};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub use groups::{GroupBy, GroupCount, GroupQuery};
pub use retention::RetentionPolicy;

/// Which accounts a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountScope {
    /// Every account (the hub's administrator).
    All,
    /// These accounts only: the caller's own and those it administers.
    Only(BTreeSet<String>),
}

impl AccountScope {
    pub fn one(account: &str) -> Self {
        AccountScope::Only(BTreeSet::from([account.to_owned()]))
    }

    pub fn allows(&self, account: &str) -> bool {
        match self {
            AccountScope::All => true,
            AccountScope::Only(set) => set.contains(account),
        }
    }
}

/// The accounts and the Region that a request sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub accounts: AccountScope,
    /// `None` sees every Region (an aggregation view).
    pub region: Option<String>,
}

impl Scope {
    pub fn new(accounts: AccountScope, region: impl Into<String>) -> Self {
        Scope { accounts, region: Some(region.into()) }
    }

    pub fn allows(&self, finding: &StoredFinding) -> bool {
        self.accounts.allows(&finding.key.account_id) && self.region.as_deref().is_none_or(|r| r == finding.key.region)
    }
}

/// One finding to import: a document that has passed validation, and the product's names when
/// the caller looked them up in a product catalog.
#[derive(Debug, Clone)]
pub struct IncomingFinding {
    pub doc: Map<String, Value>,
    /// The document as JSON text: the bytes of the request that carried it, or the caller's
    /// serialisation. A store that still needs the finding as sent once its document is consumed
    /// parses this instead of keeping a clone of the document (which costs several times more).
    pub sent: Bytes,
    pub product_names: Option<ProductNames>,
}

impl IncomingFinding {
    /// A finding to import, without product names.
    pub fn new(doc: Map<String, Value>) -> Self {
        let sent = serde_json::to_vec(&doc).unwrap_or_default().into();
        IncomingFinding { doc, sent, product_names: None }
    }
}

/// A BatchImportFindings batch, validated and authorised by the caller.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    pub region: String,
    pub now: Micros,
    pub findings: Vec<IncomingFinding>,
}

/// What became of one finding of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportStatus {
    Created,
    Updated,
    /// Not newer than the stored version: ignored, and counted as a success.
    Stale,
    Failed {
        code: String,
        message: String,
    },
}

/// The answer to an import: one status per finding, in order, and every finding that changed (for
/// the events that later layers send).
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub statuses: Vec<ImportStatus>,
    pub changed: Vec<StoredFinding>,
}

impl ImportReport {
    /// How many findings the import created.
    pub fn created(&self) -> usize {
        self.statuses.iter().filter(|s| **s == ImportStatus::Created).count()
    }
}

/// A BatchUpdateFindings request, parsed and checked by the caller.
#[derive(Debug, Clone)]
pub struct UpdateBatch {
    pub scope: Scope,
    pub now: Micros,
    /// The caller's identity (an ARN), recorded in history.
    pub identity: String,
    pub request: BatchUpdateRequest,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateReport {
    pub processed: Vec<FindingIdentifier>,
    pub unprocessed: Vec<(FindingIdentifier, UnprocessedReason)>,
    pub changed: Vec<StoredFinding>,
}

/// The deprecated UpdateFindings: Note and RecordState on every finding that a filter selects.
#[derive(Debug, Clone)]
pub struct LegacyUpdate {
    pub scope: Scope,
    pub now: Micros,
    pub filters: Filters,
    pub note: Option<NoteUpdate>,
    pub record_state: Option<String>,
}

/// A GetFindings query.
#[derive(Debug, Clone)]
pub struct FindingQuery {
    pub scope: Scope,
    pub filters: Filters,
    /// Empty means the default order, UpdatedAt descending.
    pub sort: Vec<SortCriterion>,
    pub max_results: usize,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FindingPage {
    pub findings: Vec<Map<String, Value>>,
    pub next_token: Option<String>,
}

/// A GetFindingHistory query. `start`/`end` bound `UpdateTime`, both inclusive.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub scope: Scope,
    pub identifier: FindingIdentifier,
    pub start: Option<Micros>,
    pub end: Option<Micros>,
    pub max_results: usize,
    pub next_token: Option<String>,
}

/// One record of a finding's history, newest first in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    pub identifier: FindingIdentifier,
    pub entry: HistoryEntry,
}

#[derive(Debug, Clone, Default)]
pub struct HistoryPage {
    pub records: Vec<HistoryRecord>,
    pub next_token: Option<String>,
}

/// Errors of a store. Bad input from a client never reaches a store except as a page token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("The NextToken is not valid for this request")]
    InvalidToken,
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// The storage of findings, their history and (in later issues) the rest of the hub's state.
/// Every method is one transaction. Nothing in it is specific to one database.
#[async_trait]
pub trait FindingStore: Send + Sync {
    /// BatchImportFindings: applies the import rules to each finding, in order, in one transaction.
    async fn import(&self, batch: ImportBatch) -> Result<ImportReport, StoreError>;

    /// BatchUpdateFindings.
    async fn batch_update(&self, batch: UpdateBatch) -> Result<UpdateReport, StoreError>;

    /// UpdateFindings (deprecated); returns how many findings changed.
    async fn legacy_update(&self, update: LegacyUpdate) -> Result<u64, StoreError>;

    /// GetFindings.
    async fn get_findings(&self, query: FindingQuery) -> Result<FindingPage, StoreError>;

    /// GetFindingHistory.
    async fn finding_history(&self, query: HistoryQuery) -> Result<HistoryPage, StoreError>;

    /// Deletes up to `limit` findings that retention has expired (with their history); returns how
    /// many it deleted. Callers repeat it in small batches so that imports are never blocked.
    async fn purge_expired(&self, policy: &RetentionPolicy, now: Micros, limit: usize) -> Result<u64, StoreError>;

    /// How many findings the store holds (all accounts, all Regions).
    async fn count(&self) -> Result<u64, StoreError>;

    /// How many findings of a scope have each value of a field (see [`GroupQuery`]), counted by
    /// the database: dashboards over millions of findings without paging through them.
    async fn count_groups(&self, query: GroupQuery) -> Result<Vec<GroupCount>, StoreError>;
}

pub(crate) fn backend<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(e.to_string())
}
