//! Shared by the end-to-end tests (`mod support;` in each): `hub` runs the real binary and talks
//! to it, `receiver` is a webhook that records what it is sent, `python` makes the pinned virtual
//! environments of the Python clients.
pub mod hub;
pub mod python;
pub mod receiver;
