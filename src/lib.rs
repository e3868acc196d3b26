//! jig: agentless configuration management that runs Ansible content, fast.
//!
//! Data flows one way: [`inventory`] and [`playbook`] are loaded; [`vars`] builds each host's
//! variable scope; [`template`] renders each task; a [`modules`] module probes the host through
//! a [`connection`], plans, and applies; the [`exec`] scheduler turns results into events; the
//! [`report`] layer renders them. The [`cli`] parses the command line and calls into this.

pub mod bake;
pub mod cli;
pub mod connection;
pub mod exec;
pub mod inventory;
pub mod modules;
pub mod plan;
pub mod playbook;
pub mod pyfmt;
pub mod report;
pub mod schedule;
pub mod template;
pub mod vars;
pub mod vault;
pub mod yaml;
