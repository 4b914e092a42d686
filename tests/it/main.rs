//! hookbox's integration tests, in one binary: each module starts the real server (in process
//! on `127.0.0.1:0`, or the built binary as a child where a test kills it) with a temp data dir
//! and talks HTTP to it. `support` holds what they share.

mod support;

mod admin;
mod alerts;
mod bench;
mod cli;
mod commands;
mod console;
mod crash;
mod crash_cycles;
mod destinations;
mod doc_links;
mod edge;
mod holds;
mod hostile;
mod hostile_framing;
mod imports;
mod ingest;
mod lifecycle;
mod metrics;
mod metrics_counts;
mod multi_instance;
mod operator;
mod ordering;
mod postgres_tls;
mod processing;
mod proptest_verify;
mod reconcile;
mod reload;
mod replay;
mod replay_attack;
mod routes;
mod routes_crash;
mod signing;
mod slowloris;
mod storage_failure;
mod tls;
