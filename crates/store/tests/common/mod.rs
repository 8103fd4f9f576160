//! Test code shared by the store's test files.

pub mod property;
