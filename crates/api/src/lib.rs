//! The Security Hub API over HTTP (restJson1): SigV4 authentication in front of routing, the
//! operations on top of the store, and AWS-shaped errors.

pub mod operations;
pub mod sigv4;
pub mod error;
pub mod keys;
pub mod wire;
pub mod routing;
