//! jig's integration tests: one test binary that drives the real `jig` executable.
//!
//! - [`parity`]: every case under `tests/parity/cases/` must leave the same file tree as
//!   ansible-core 2.19 did, converge on a second run, and show a hand edit under
//!   `--check --diff` without touching it.
//! - [`errors`]: bad input gives a clear message naming file:line and a documented exit code,
//!   never a panic.
//! - [`output`]: snapshots of the console output.
//! - [`example`]: the README's example playbook matches ansible-core and converges.
//!
//! [`tree`] is the manifest format the parity cases are recorded in, and [`support`] the
//! helpers that run the binary.

mod errors;
mod example;
mod output;
mod parity;
mod support;
mod tree;
