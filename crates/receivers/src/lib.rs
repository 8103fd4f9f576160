//! The receiving integrations of Security Hub, without I/O: what a delivery worker needs to decide
//! whether an event goes to a target (`pattern`), how to sign it (`webhook`), how a chat message
//! looks (`chat`), and what the other receivers make of a finding (`detective`, `opscenter`,
//! `audit_manager`, `trusted_advisor`). No network, no files, no clock: the current time is always
//! an argument.
//!
//! Inputs: an EventBridge event as `serde_json::Value`, shaped as Security Hub sends it
//! (`version`, `id`, `detail-type`, `source: aws.securityhub`, `account`, `time`, `region`,
//! `resources`, `detail.findings`), and single ASFF findings as `serde_json::Map`.
//! Research notes: `../shared/research/consumers-ocsf.md` §3–§8.

pub mod audit_manager;
pub mod chat;
pub mod detective;
pub mod event;
pub mod finding;
pub mod opscenter;
pub mod pattern;
pub mod trusted_advisor;
pub mod webhook;

#[cfg(test)]
pub(crate) mod samples;
