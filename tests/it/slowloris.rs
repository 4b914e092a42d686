//! Slowloris: hundreds of connections trickling header bytes neither delay a valid delivery
//! nor stay open past the header read timeout.

use crate::support;
use crate::support::raw;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use raw::{assert_healthy, parse_responses, stripe_event, unique_id};
use support::{TestServer, BASE_CONFIG};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

/// Trickling connections held open at once.
const CONNECTIONS: usize = 300;
/// Gap between trickled bytes; each connection trickles at most `MAX_TRICKLE` bytes, far longer
/// than the header timeout (1 s here), so any close comes from the server.
const TRICKLE_GAP: Duration = Duration::from_millis(100);
const MAX_TRICKLE: usize = 200;

/// How one trickling connection ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The server closed it (EOF or reset); `answered` if it sent a response first.
    ClosedByServer { answered: bool },
    /// The client ran out of bytes to trickle with the connection still open.
    StillOpen,
}

/// Opens a connection and proves it is being served with one complete request (at most
/// `setup` connections do that at once, so the listen backlog never overflows); then sends the
/// start of a second request head, signals `started`, and trickles one header byte per
/// `TRICKLE_GAP` until the server closes the connection.
async fn trickle(addr: SocketAddr, setup: Arc<Semaphore>, started: mpsc::Sender<()>) -> End {
    let permit = setup.acquire_owned().await.expect("semaphore");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while parse_responses(&seen).is_empty() {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before answering /healthz");
        seen.extend_from_slice(&buf[..n]);
    }
    drop(permit);
    let (mut rx, mut tx) = stream.into_split();
    tx.write_all(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write head start");
    let _ = started.send(()).await;
    let writer = async {
        for _ in 0..MAX_TRICKLE {
            tokio::time::sleep(TRICKLE_GAP).await;
            if tx.write_all(b"a").await.is_err() {
                // Writing failed: the server is gone; wait for the reader to see it.
                std::future::pending::<()>().await;
            }
        }
    };
    let reader = async {
        let mut buf = [0u8; 1024];
        let mut answered = false;
        loop {
            match rx.read(&mut buf).await {
                Ok(0) | Err(_) => return End::ClosedByServer { answered },
                Ok(_) => answered = true,
            }
        }
    };
    tokio::select! {
        end = reader => end,
        () = writer => End::StillOpen,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_connections_do_not_block_deliveries_and_are_closed() {
    let config = BASE_CONFIG.replace(
        "header_read_timeout = \"2s\"",
        "header_read_timeout = \"1s\"",
    );
    assert_ne!(
        config, BASE_CONFIG,
        "the base config sets header_read_timeout"
    );
    let server = TestServer::start(&config).await;
    let server_addr = server.addr;
    let (started_tx, mut started_rx) = mpsc::channel(CONNECTIONS);
    let ended = Arc::new(AtomicUsize::new(0));
    let setup = Arc::new(Semaphore::new(32));
    let mut slow = JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (setup, started, ended) = (setup.clone(), started_tx.clone(), ended.clone());
        slow.spawn(async move {
            let end = trickle(server_addr, setup, started).await;
            ended.fetch_add(1, Ordering::SeqCst);
            end
        });
    }
    drop(started_tx);
    for _ in 0..CONNECTIONS {
        started_rx.recv().await.expect("every connection starts");
    }

    // A valid delivery is acknowledged while every trickling connection is still open.
    let id = unique_id("slowloris");
    let reply = server.deliver("stripe", &stripe_event(&id), "").await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(
        ended.load(Ordering::SeqCst),
        0,
        "trickling connections ended before the delivery was acknowledged"
    );

    // Each is then closed by the server (header timeout 1 s), well before it runs out of bytes.
    let all_closed = tokio::time::timeout(Duration::from_secs(15), async {
        let mut ends = Vec::new();
        while let Some(end) = slow.join_next().await {
            ends.push(end.expect("trickle task"));
        }
        ends
    })
    .await
    .expect("trickling connections were not closed within 15 s");
    let answered = all_closed
        .iter()
        .filter(|e| **e == End::ClosedByServer { answered: true })
        .count();
    assert!(
        all_closed.iter().all(|e| *e != End::StillOpen),
        "some trickling connections outlived {MAX_TRICKLE} trickled bytes"
    );
    println!("{CONNECTIONS} trickling connections closed by the server, {answered} with a response first");
    assert_healthy(&server, "slowloris").await;
    server.stop().await;
}
