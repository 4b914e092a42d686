//! The storage floor: durable accepts per second, and CPU per accepted event, through hookbox's
//! own store (the default redb backend: one writer, group commit with `fdatasync`; `BACKEND=sled`
//! for sled) with no HTTP, no signature check and no worker. Whatever the server does on top comes out of what is left, so this bounds what
//! `hookbox bench` can show on the same machine.
//!
//! ```sh
//! cargo run --release --example store_floor -- [EVENTS] [CONCURRENT] [BODY_BYTES]
//! ```
//! Defaults: 100 000 events, 32 accepts in flight at once (as `hookbox bench --connections
//! 32`), 1 KiB bodies. The store lives in a temp dir under `$TMPDIR`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookbox::config::StorageConfig;
use hookbox::store::{Accepted, NewEvent, Store};

/// User plus system CPU time of this process so far (every thread, the store's included).
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .map(|a| a.parse().expect("arguments are whole numbers"))
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let (events, concurrent, body_bytes) = (arg(1, 100_000), arg(2, 32), arg(3, 1024));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = StorageConfig {
        data_dir: dir.path().to_path_buf(),
        backend: match std::env::var("BACKEND").as_deref() {
            Ok("sled") => hookbox::config::StorageBackend::Sled,
            _ => hookbox::config::StorageBackend::Redb,
        },
        ..StorageConfig::default()
    };
    let store = Store::open(&config).await.expect("open the store");
    let body = Bytes::from(vec![b'x'; body_bytes as usize]);
    let next = Arc::new(AtomicU64::new(0));
    let (cpu, clock) = (cpu_time(), Instant::now());
    let tasks: Vec<_> = (0..concurrent)
        .map(|_| {
            let (store, next, body) = (store.clone(), next.clone(), body.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= events {
                        return;
                    }
                    let event = NewEvent {
                        source: "stripe".into(),
                        // Random order, as providers' ids arrive.
                        id: format!("evt_{:016x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                        received_at: 1_700_000_000_000 + n,
                        event_type: Some("payment_intent.succeeded".into()),
                        headers: vec![("content-type".into(), "application/json".into())],
                        body: body.clone(),
                        ordering: None,
                    };
                    let outcome = store.accept(event).await.expect("accept");
                    assert_eq!(outcome, Accepted::New);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("accept task");
    }
    let (wall, cpu) = (clock.elapsed(), cpu_time() - cpu);
    store.close().await.expect("close");
    println!(
        "{events} durable accepts of {body_bytes}-byte bodies, {concurrent} at once: {:.0}/s, \
         {:.1} us of CPU per event ({:.2} cores busy)",
        events as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / events as f64,
        cpu.as_secs_f64() / wall.as_secs_f64(),
    );
}
