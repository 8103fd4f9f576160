//! The Security Hub API over HTTP (restJson1): SigV4 authentication in front of routing, the
//! operations on top of the store, and AWS-shaped errors.

pub mod actions;
pub mod custom_insights;
pub mod error;
pub mod events;
pub mod extensions;
pub mod handlers;
pub mod importer;
pub mod keys;
pub mod metrics;
pub mod operations;
pub mod receiver_reports;
pub mod routing;
pub mod server;
pub mod sigv4;
pub mod wire;
pub mod workitems;
