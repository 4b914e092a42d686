//! hookbox: a self-hosted webhook receiver.
//!
//! A request flows one way. [`http`] accepts the connection, bounds and reads the body, and asks
//! [`verify`] (pure code, one file per provider) whether the signature holds and what the event id
//! is. [`store`] then dedupes and enqueues the event in one transaction (redb by default, sled or
//! PostgreSQL when chosen) and answers only once a group commit has made it durable, so a 202 is
//! never lost. The [`worker`] claims
//! due events from the store with a lease, runs the source's handler, and records every attempt;
//! `http` and `worker` never call each other, the store is their only link; both feed
//! [`metrics`], which `GET /metrics` exposes. [`config`] turns `config.toml` plus the
//! environment into validated settings, [`app`] wires the pieces and drains them on shutdown,
//! and [`cli`] is the command line. [`client`] holds the tools that talk to a running hookbox
//! over HTTP (`replay`, `events`, `bench`) with the one HTTP client they share. [`history`]
//! numbers an event's attempts across requeues for both the worker and the status resource;
//! [`ordering`] reads an event's ordering key at ingest (the store then runs the events of one
//! key one at a time, in arrival order). [`open_files`] raises the descriptor limit at start.
//! [`alerts`] watches its rules and raises alerts as events of an internal source, which the
//! worker delivers like any other.

pub mod accept;
pub mod alerts;
pub mod app;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod event;
pub mod history;
pub mod http;
pub mod metrics;
pub mod open_files;
pub mod ordering;
pub mod reconcile;
pub mod reload;
pub mod routing;
pub mod store;
pub mod tls;
pub mod verify;
pub mod worker;
