//! Symphra: a module runtime for async Rust applications.
#![deny(missing_docs)]
pub mod bus;
