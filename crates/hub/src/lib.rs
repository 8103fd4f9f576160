//! The rules of the hub, with no I/O: what an import and an update do to a finding, the history
//! they write, the filter language of GetFindings and its sort orders, and product ARNs. Storage
//! backends call these functions inside their transactions.

pub mod catalog;
pub mod events;
pub mod filter;
pub mod finding;
pub mod history;
pub mod import;
pub mod products;
pub mod update;
