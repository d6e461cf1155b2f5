//! Cluster tests: real `host` processes on 127.0.0.1 with OS-chosen free ports, driven over
//! HTTP and through the console's stdin. One test binary, so the host is built once.

mod util;

mod bench_plugin_path;
mod test_api;
mod test_basic;
mod test_browser;
mod test_cli;
mod test_console;
mod test_core;
mod test_ctl;
mod test_durability;
mod test_failover;
mod test_live;
mod test_membership;
mod test_metrics;
mod test_quorum;
mod test_schedule;
mod test_security;
mod test_swap;
mod test_terminal;
