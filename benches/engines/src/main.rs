//! storebench: fjall 3.x vs redb 4.x on hookbox's data shapes.
//!
//! Subcommands (all take `--engine fjall|redb --dir PATH`):
//!   accept  --n N --events E --body B        accept throughput + CPU/event
//!   drain   --events E                        prefill E queued events, then worker passes only
//!   mixed   --secs S --n N                    2 producers at full speed + worker passes, S seconds
//!   fill    --events E --body B --n N         fill, report RSS (and RSS samples while writing)
//!   open                                      open existing store: open time, RSS, counts
//!   fault   --mode truncate|garbage [--integrity]  build store, corrupt largest file, reopen+verify
//! Every loop is bounded by count and by a wall-clock cap.

use std::collections::HashSet;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- shapes (mirrors hookbox)

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    Queued,
    Processing,
    Succeeded,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Success,
    Transient,
    Permanent,
    Abandoned,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attempt {
    number: u32,
    started_at: u64,
    duration_ms: u64,
    outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventRecord {
    source: String,
    id: String,
    received_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_type: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    body_len: u64,
    state: State,
    #[serde(default)]
    attempt_count: u32,
    #[serde(default)]
    attempts: Vec<Attempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease_until: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claimed_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finished_at: Option<u64>,
}

/// What a producer (HTTP handler) hands the writer.
struct NewEvent {
    source: String,
    id: String,
    received_at: u64,
    event_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn event_key(source: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + source.len() + id.len());
    k.push(source.len() as u8);
    k.extend_from_slice(source.as_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

fn timed_key(at: u64, ek: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + ek.len());
    k.extend_from_slice(&at.to_be_bytes());
    k.extend_from_slice(ek);
    k
}

fn split_timed(k: &[u8]) -> (u64, &[u8]) {
    let (t, e) = k.split_first_chunk::<8>().expect("timed key");
    (u64::from_be_bytes(*t), e)
}

fn queued_record(ev: &NewEvent) -> EventRecord {
    EventRecord {
        source: ev.source.clone(),
        id: ev.id.clone(),
        received_at: ev.received_at,
        event_type: Some(ev.event_type.clone()),
        headers: ev.headers.clone(),
        body_len: ev.body.len() as u64,
        state: State::Queued,
        attempt_count: 0,
        attempts: Vec::new(),
        next_attempt_at: Some(ev.received_at),
        lease_until: None,
        claimed_at: None,
        last_error: None,
        finished_at: None,
    }
}

const LEASE_MS: u64 = 60_000;
const PASS_LIMIT: usize = 1_000;
const MAX_GROUP_BYTES: usize = 4 << 20; // hookbox batch.rs MAX_BYTES

fn claim(r: &mut EventRecord, now: u64) {
    r.attempt_count += 1;
    r.state = State::Processing;
    r.claimed_at = Some(now);
    r.lease_until = Some(now + LEASE_MS);
    r.next_attempt_at = None;
}

fn finish(r: &mut EventRecord, now: u64) {
    let started = r.claimed_at.unwrap_or(now);
    r.attempts.push(Attempt {
        number: r.attempt_count,
        started_at: started,
        duration_ms: now.saturating_sub(started),
        outcome: Outcome::Success,
        error: None,
    });
    r.state = State::Succeeded;
    r.lease_until = None;
    r.claimed_at = None;
    r.finished_at = Some(now);
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

// ---------------------------------------------------------------- process metrics

fn cpu_us() -> u64 {
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let t = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
        t(ru.ru_utime) + t(ru.ru_stime)
    }
}

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in s.lines() {
        if let Some(rest) = line.strip_prefix(field) {
            return rest
                .trim_start_matches(':')
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}
fn rss_mib() -> f64 {
    status_kib("VmRSS") as f64 / 1024.0
}
fn hwm_mib() -> f64 {
    status_kib("VmHWM") as f64 / 1024.0
}

fn dir_size(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = match e.metadata() {
                Ok(m) => m,
                Err(_) => continue,
            };
            if m.is_dir() {
                n += dir_size(&e.path());
            } else {
                n += m.len();
            }
        }
    }
    n
}

fn all_files(p: &Path, out: &mut Vec<(PathBuf, u64)>) {
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            if let Ok(m) = e.metadata() {
                if m.is_dir() {
                    all_files(&e.path(), out);
                } else {
                    out.push((e.path(), m.len()));
                }
            }
        }
    }
}

// ---------------------------------------------------------------- the store abstraction

#[derive(Default, Debug)]
struct Verify {
    events: u64,
    bodies: u64,
    due: u64,
    received: u64,
    decode_errors: u64,
    missing_bodies: u64,
    /// records by state: queued, processing, succeeded
    states: [u64; 3],
    /// due entries with value "p" (processing lease)
    due_leases: u64,
    errors: Vec<String>,
}

impl Verify {
    fn count_state(&mut self, r: &EventRecord) {
        match r.state {
            State::Queued => self.states[0] += 1,
            State::Processing => self.states[1] += 1,
            _ => self.states[2] += 1,
        }
    }
}

trait Store {
    /// One group: dedupe + insert record/body/due/received for each, ONE durable commit.
    /// Returns number of new events.
    fn accept_group(&mut self, evs: &[NewEvent]) -> usize;
    /// One worker pass: claim up to PASS_LIMIT due ≤ now (1 durable commit), then finish them
    /// (1 durable commit). Returns number finished.
    fn worker_pass(&mut self, now: u64) -> usize;
    fn verify(&mut self) -> Verify;
}

// ---------------------------------------------------------------- fjall

mod fj {
    use super::*;
    use fjall::{Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions, PersistMode};

    pub const CACHE: u64 = 64 << 20;
    pub const MEMTABLE: u64 = 16 << 20;
    pub const JOURNAL_MAX: u64 = 128 << 20;
    pub const BLOB_THRESHOLD: u32 = 512;

    pub struct FjallStore {
        pub db: Database,
        events: Keyspace,
        bodies: Keyspace,
        due: Keyspace,
        received: Keyspace,
        /// in-memory scan cursor for `due`: everything before it was consumed
        cursor: Bound<Vec<u8>>,
        /// smallest due time inserted since the last scan (resets the cursor if earlier)
        min_due_inserted: Option<u64>,
    }

    pub fn open(dir: &Path) -> fjall::Result<FjallStore> {
        let db = Database::builder(dir)
            .cache_size(CACHE)
            .max_journaling_size(JOURNAL_MAX)
            .open()?;
        let opts = || KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE);
        let events = db.keyspace("events", opts)?;
        // knobs for side experiments (defaults = the configuration reported)
        let kvsep = std::env::var("SB_FJ_KVSEP").map_or(true, |v| v != "0");
        let blob_none = std::env::var("SB_FJ_BLOB_COMPRESSION").is_ok_and(|v| v == "none");
        let bodies = db.keyspace("bodies", || {
            let mut kv = KvSeparationOptions::default().separation_threshold(BLOB_THRESHOLD);
            if blob_none {
                kv = kv.compression(fjall::CompressionType::None);
            }
            opts().with_kv_separation(kvsep.then_some(kv))
        })?;
        let due = db.keyspace("due", opts)?;
        let received = db.keyspace("received", opts)?;
        Ok(FjallStore {
            db,
            events,
            bodies,
            due,
            received,
            cursor: Bound::Unbounded,
            min_due_inserted: None,
        })
    }

    impl Store for FjallStore {
        fn accept_group(&mut self, evs: &[NewEvent]) -> usize {
            let mut batch = self
                .db
                .batch()
                .durability(Some(PersistMode::SyncData));
            let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(evs.len());
            let mut new = 0;
            for ev in evs {
                let key = event_key(&ev.source, &ev.id);
                if seen.contains(&key) {
                    continue; // duplicate within the batch
                }
                if let Some(existing) = self.events.get(&key).expect("get") {
                    let _r: EventRecord = serde_json::from_slice(&existing).expect("decode");
                    continue; // duplicate of a stored event
                }
                let rec = serde_json::to_vec(&queued_record(ev)).unwrap();
                let timed = timed_key(ev.received_at, &key);
                batch.insert(&self.events, key.as_slice(), rec);
                batch.insert(&self.bodies, timed.as_slice(), ev.body.as_slice());
                batch.insert(&self.due, timed.as_slice(), &[][..]);
                batch.insert(&self.received, timed, &[][..]);
                self.min_due_inserted = Some(
                    self.min_due_inserted
                        .map_or(ev.received_at, |m| m.min(ev.received_at)),
                );
                seen.insert(key);
                new += 1;
            }
            batch.commit().expect("commit");
            new
        }

        fn worker_pass(&mut self, now: u64) -> usize {
            if let Some(t) = self.min_due_inserted.take() {
                let reset = match &self.cursor {
                    Bound::Unbounded => false,
                    Bound::Included(k) | Bound::Excluded(k) => split_timed(k).0 >= t,
                };
                if reset {
                    self.cursor = Bound::Included(t.to_be_bytes().to_vec());
                }
            }
            let upper = Bound::Excluded((now + 1).to_be_bytes().to_vec());
            let mut keys = Vec::with_capacity(PASS_LIMIT);
            for g in self.due.range((self.cursor.clone(), upper)).take(PASS_LIMIT) {
                let k = g.key().expect("scan");
                keys.push(k);
            }
            if keys.is_empty() {
                return 0;
            }
            self.cursor = Bound::Excluded(keys.last().unwrap().to_vec());
            // claim
            let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
            let mut claimed = Vec::with_capacity(keys.len());
            for k in &keys {
                let (_, ek) = split_timed(k);
                let Some(v) = self.events.get(ek).expect("get") else { continue };
                let mut r: EventRecord = serde_json::from_slice(&v).expect("decode");
                claim(&mut r, now);
                let lease = timed_key(now + LEASE_MS, ek);
                batch.insert(&self.events, ek, serde_json::to_vec(&r).unwrap());
                batch.remove(&self.due, k.clone());
                batch.insert(&self.due, lease.as_slice(), &b"p"[..]);
                claimed.push((ek.to_vec(), r, lease));
            }
            batch.commit().expect("commit claim");
            // finish
            let done = now_ms();
            let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
            let n = claimed.len();
            for (ek, mut r, lease) in claimed {
                finish(&mut r, done);
                batch.insert(&self.events, ek, serde_json::to_vec(&r).unwrap());
                batch.remove(&self.due, lease);
            }
            batch.commit().expect("commit finish");
            n
        }

        fn verify(&mut self) -> Verify {
            let mut v = Verify::default();
            for g in self.events.iter() {
                match g.into_inner() {
                    Ok((k, val)) => {
                        v.events += 1;
                        match serde_json::from_slice::<EventRecord>(&val) {
                            Ok(r) => match { v.count_state(&r); self.bodies.get(timed_key(r.received_at, &k)) } {
                                Ok(Some(b)) if b.len() as u64 == r.body_len => {}
                                Ok(_) => v.missing_bodies += 1,
                                Err(e) => {
                                    v.missing_bodies += 1;
                                    if v.errors.len() < 5 {
                                        v.errors.push(format!("body get: {e:?}"));
                                    }
                                }
                            },
                            Err(_) => v.decode_errors += 1,
                        }
                    }
                    Err(e) => {
                        v.errors.push(format!("events iter: {e:?}"));
                        break;
                    }
                }
            }
            let mut leases = 0;
            for (name, ks, ctr) in [
                ("bodies", &self.bodies, &mut v.bodies),
                ("due", &self.due, &mut v.due),
                ("received", &self.received, &mut v.received),
            ] {
                for g in ks.iter() {
                    match g.into_inner() {
                        Ok((_, val)) => {
                            *ctr += 1;
                            if name == "due" && &val[..] == b"p" {
                                leases += 1;
                            }
                        }
                        Err(e) => {
                            v.errors.push(format!("{name} iter: {e:?}"));
                            break;
                        }
                    }
                }
            }
            v.due_leases = leases;
            v
        }
    }
}

// ---------------------------------------------------------------- redb

mod rd {
    use super::*;
    use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

    pub const CACHE: usize = 64 << 20;
    const EVENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("events");
    const BODIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bodies");
    const DUE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("due");
    const RECEIVED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("received");

    pub struct RedbStore {
        pub db: Database,
    }

    pub fn open(dir: &Path, integrity: bool) -> Result<RedbStore, redb::Error> {
        std::fs::create_dir_all(dir).ok();
        let db = Database::builder()
            .set_cache_size(CACHE)
            .set_check_integrity_on_open(integrity)
            .create(dir.join("hookbox.redb"))?;
        let tx = db.begin_write()?;
        for t in [EVENTS, BODIES, DUE, RECEIVED] {
            tx.open_table(t)?;
        }
        tx.commit()?;
        Ok(RedbStore { db })
    }

    fn wtx(db: &Database) -> redb::WriteTransaction {
        let mut tx = db.begin_write().expect("begin");
        tx.set_durability(Durability::Immediate).expect("durability");
        tx
    }

    impl Store for RedbStore {
        fn accept_group(&mut self, evs: &[NewEvent]) -> usize {
            let tx = wtx(&self.db);
            let mut new = 0;
            {
                let mut events = tx.open_table(EVENTS).unwrap();
                let mut bodies = tx.open_table(BODIES).unwrap();
                let mut due = tx.open_table(DUE).unwrap();
                let mut received = tx.open_table(RECEIVED).unwrap();
                for ev in evs {
                    let key = event_key(&ev.source, &ev.id);
                    // reads inside a write transaction see its own writes: dedupes the batch too
                    if let Some(existing) = events.get(key.as_slice()).unwrap() {
                        let _r: EventRecord =
                            serde_json::from_slice(existing.value()).expect("decode");
                        continue;
                    }
                    let rec = serde_json::to_vec(&queued_record(ev)).unwrap();
                    let timed = timed_key(ev.received_at, &key);
                    events.insert(key.as_slice(), rec.as_slice()).unwrap();
                    bodies.insert(timed.as_slice(), ev.body.as_slice()).unwrap();
                    due.insert(timed.as_slice(), &[][..]).unwrap();
                    received.insert(timed.as_slice(), &[][..]).unwrap();
                    new += 1;
                }
            }
            tx.commit().expect("commit");
            new
        }

        fn worker_pass(&mut self, now: u64) -> usize {
            let upper = (now + 1).to_be_bytes();
            // claim
            let tx = wtx(&self.db);
            let mut claimed = Vec::new();
            {
                let mut events = tx.open_table(EVENTS).unwrap();
                let mut due = tx.open_table(DUE).unwrap();
                let keys: Vec<Vec<u8>> = due
                    .range::<&[u8]>(..&upper[..])
                    .unwrap()
                    .take(PASS_LIMIT)
                    .map(|r| r.unwrap().0.value().to_vec())
                    .collect();
                if keys.is_empty() {
                    drop((events, due));
                    tx.abort().unwrap();
                    return 0;
                }
                for k in &keys {
                    let (_, ek) = split_timed(k);
                    let rec = match events.get(ek).unwrap() {
                        Some(v) => serde_json::from_slice::<EventRecord>(v.value()).expect("decode"),
                        None => continue,
                    };
                    let mut r = rec;
                    claim(&mut r, now);
                    let lease = timed_key(now + LEASE_MS, ek);
                    events.insert(ek, serde_json::to_vec(&r).unwrap().as_slice()).unwrap();
                    due.remove(k.as_slice()).unwrap();
                    due.insert(lease.as_slice(), &b"p"[..]).unwrap();
                    claimed.push((ek.to_vec(), r, lease));
                }
            }
            tx.commit().expect("commit claim");
            // finish
            let done = now_ms();
            let tx = wtx(&self.db);
            let n = claimed.len();
            {
                let mut events = tx.open_table(EVENTS).unwrap();
                let mut due = tx.open_table(DUE).unwrap();
                for (ek, mut r, lease) in claimed {
                    finish(&mut r, done);
                    events.insert(ek.as_slice(), serde_json::to_vec(&r).unwrap().as_slice()).unwrap();
                    due.remove(lease.as_slice()).unwrap();
                }
            }
            tx.commit().expect("commit finish");
            n
        }

        fn verify(&mut self) -> Verify {
            let mut v = Verify::default();
            let rtx = match self.db.begin_read() {
                Ok(t) => t,
                Err(e) => {
                    v.errors.push(format!("begin_read: {e:?}"));
                    return v;
                }
            };
            let open = |d| rtx.open_table(d);
            let (events, bodies) = match (open(EVENTS), open(BODIES)) {
                (Ok(a), Ok(b)) => (a, b),
                (a, b) => {
                    v.errors.push(format!("open_table: {:?} {:?}", a.err(), b.err()));
                    return v;
                }
            };
            match events.iter() {
                Ok(it) => {
                    for r in it {
                        match r {
                            Ok((k, val)) => {
                                v.events += 1;
                                match serde_json::from_slice::<EventRecord>(val.value()) {
                                    Ok(rec) => match { v.count_state(&rec); &bodies }
                                        .get(timed_key(rec.received_at, k.value()).as_slice())
                                    {
                                        Ok(Some(b)) if b.value().len() as u64 == rec.body_len => {}
                                        Ok(_) => v.missing_bodies += 1,
                                        Err(e) => {
                                            v.missing_bodies += 1;
                                            if v.errors.len() < 5 {
                                                v.errors.push(format!("body get: {e:?}"));
                                            }
                                        }
                                    },
                                    Err(_) => v.decode_errors += 1,
                                }
                            }
                            Err(e) => {
                                v.errors.push(format!("events iter: {e:?}"));
                                break;
                            }
                        }
                    }
                }
                Err(e) => v.errors.push(format!("events iter: {e:?}")),
            }
            let mut leases = 0;
            for (name, def, which) in [("bodies", BODIES, 0), ("due", DUE, 1), ("received", RECEIVED, 2)] {
                let ctr = match which {
                    0 => &mut v.bodies,
                    1 => &mut v.due,
                    _ => &mut v.received,
                };
                let t = match rtx.open_table(def) {
                    Ok(t) => t,
                    Err(e) => {
                        v.errors.push(format!("{name} open: {e:?}"));
                        continue;
                    }
                };
                match t.iter() {
                    Ok(it) => {
                        for r in it {
                            match r {
                                Ok((_, val)) => {
                                    *ctr += 1;
                                    if which == 1 && val.value() == b"p" {
                                        leases += 1;
                                    }
                                }
                                Err(e) => {
                                    v.errors.push(format!("{name} iter: {e:?}"));
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => v.errors.push(format!("{name} iter: {e:?}")),
                }
            }
            v.due_leases = leases;
            v
        }
    }
}

// ---------------------------------------------------------------- driver

struct Args {
    cmd: String,
    engine: String,
    dir: PathBuf,
    n: usize,
    events: u64,
    body: usize,
    secs: u64,
    mode: String,
    integrity: bool,
    producers: usize,
    target: String,
}

fn parse() -> Args {
    let mut a = Args {
        cmd: String::new(),
        engine: "fjall".into(),
        dir: PathBuf::from("/tmp/sb"),
        n: 256,
        events: 200_000,
        body: 1024,
        secs: 10,
        mode: "truncate".into(),
        integrity: false,
        producers: 2,
        target: "largest".into(),
    };
    let mut it = std::env::args().skip(1);
    a.cmd = it.next().expect("subcommand");
    while let Some(f) = it.next() {
        let mut val = || it.next().expect("value");
        match f.as_str() {
            "--engine" => a.engine = val(),
            "--dir" => a.dir = PathBuf::from(val()),
            "--n" => a.n = val().parse().unwrap(),
            "--events" => a.events = val().parse().unwrap(),
            "--body" => a.body = val().parse().unwrap(),
            "--secs" => a.secs = val().parse().unwrap(),
            "--mode" => a.mode = val(),
            "--producers" => a.producers = val().parse().unwrap(),
            "--integrity" => a.integrity = true,
            "--target" => a.target = val(),
            x => panic!("unknown flag {x}"),
        }
    }
    a
}

fn open_store(a: &Args) -> Box<dyn Store> {
    match a.engine.as_str() {
        "fjall" => Box::new(fj::open(&a.dir).expect("fjall open")),
        "redb" => Box::new(rd::open(&a.dir, a.integrity).expect("redb open")),
        e => panic!("engine {e}"),
    }
}

/// Producers: each sends up to `limit` events (1 in 100 repeats its previous id) until `stop`.
fn spawn_producers(
    k: usize,
    limit_total: u64,
    body: usize,
    tx: crossbeam_channel::Sender<NewEvent>,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    let pool_len = (16 << 20).max(body * 4);
    let mut pool = vec![0u8; pool_len + body];
    let mut rng = fastrand::Rng::with_seed(42);
    rng.fill(&mut pool);
    let pool = Arc::new(pool);
    (0..k)
        .map(|p| {
            let tx = tx.clone();
            let stop = stop.clone();
            let pool = pool.clone();
            let limit = limit_total / k as u64 + if (p as u64) < limit_total % k as u64 { 1 } else { 0 };
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(p as u64 + 7);
                let mut last_id = String::new();
                for seq in 0..limit {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = if seq % 100 == 99 {
                        last_id.clone()
                    } else {
                        format!("evt_{p}_{seq:010}_{:08x}", rng.u32(..))
                    };
                    last_id = id.clone();
                    let off = rng.usize(..pool_len);
                    let ev = NewEvent {
                        source: "github".into(),
                        id,
                        received_at: now_ms(),
                        event_type: "push".into(),
                        headers: vec![
                            ("content-type".into(), "application/json".into()),
                            ("x-github-delivery".into(), format!("{:032x}", rng.u128(..))),
                        ],
                        body: pool[off..off + body].to_vec(),
                    };
                    if tx.send(ev).is_err() {
                        break;
                    }
                }
            })
        })
        .collect()
}

/// Collect one group: up to `n` events or MAX_GROUP_BYTES of bodies. `block` waits for a full
/// group (accept benchmark); otherwise takes what is there (mixed).
fn collect_group(
    rx: &crossbeam_channel::Receiver<NewEvent>,
    n: usize,
    block: bool,
    wait: Duration,
) -> Option<Vec<NewEvent>> {
    let mut g = Vec::with_capacity(n);
    let mut bytes = 0;
    match rx.recv_timeout(wait) {
        Ok(ev) => {
            bytes += ev.body.len();
            g.push(ev)
        }
        Err(crossbeam_channel::RecvTimeoutError::Timeout) => return Some(g),
        Err(_) => return None,
    }
    while g.len() < n && bytes < MAX_GROUP_BYTES {
        let r = if block { rx.recv().ok() } else { rx.try_recv().ok() };
        match r {
            Some(ev) => {
                bytes += ev.body.len();
                g.push(ev)
            }
            None => break,
        }
    }
    Some(g)
}

struct AcceptStats {
    offered: u64,
    new: u64,
    secs: f64,
    cpu_us: u64,
    groups: u64,
    rss_samples: Vec<f64>,
}

fn run_accepts(store: &mut dyn Store, a: &Args, events: u64, n: usize, sample_every: u64, cap: Duration) -> AcceptStats {
    // in-flight bodies bounded to ~16 MiB (only matters for 1 MiB bodies: 16 slots, else n*4)
    let (tx, rx) = crossbeam_channel::bounded((n * 4).min(((16 << 20) / a.body).max(8)));
    let stop = Arc::new(AtomicBool::new(false));
    let cpu0 = cpu_us();
    let t0 = Instant::now();
    let hs = spawn_producers(a.producers, events, a.body, tx, stop.clone());
    let mut st = AcceptStats { offered: 0, new: 0, secs: 0.0, cpu_us: 0, groups: 0, rss_samples: vec![] };
    let mut next_sample = sample_every;
    while let Some(g) = collect_group(&rx, n, true, Duration::from_secs(5)) {
        if g.is_empty() {
            continue;
        }
        st.offered += g.len() as u64;
        st.new += store.accept_group(&g) as u64;
        st.groups += 1;
        if sample_every > 0 && st.offered >= next_sample {
            st.rss_samples.push(rss_mib());
            next_sample += sample_every;
        }
        if t0.elapsed() > cap {
            eprintln!("time cap hit");
            stop.store(true, Ordering::Relaxed);
            break;
        }
    }
    st.secs = t0.elapsed().as_secs_f64();
    st.cpu_us = cpu_us() - cpu0;
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    for h in hs {
        h.join().unwrap();
    }
    st
}

fn main() {
    let a = parse();
    let cap = Duration::from_secs(600);
    match a.cmd.as_str() {
        "accept" => {
            let _ = std::fs::remove_dir_all(&a.dir);
            let mut s = open_store(&a);
            let st = run_accepts(s.as_mut(), &a, a.events, a.n, 0, cap);
            println!(
                "RESULT accept engine={} n={} body={} offered={} new={} groups={} secs={:.2} accepts_per_s={:.0} cpu_us_per_event={:.1} rss_mib={:.0} disk_mib={:.0}",
                a.engine, a.n, a.body, st.offered, st.new, st.groups, st.secs,
                st.offered as f64 / st.secs, st.cpu_us as f64 / st.offered as f64, rss_mib(),
                dir_size(&a.dir) as f64 / 1048576.0
            );
        }
        "drain" => {
            let _ = std::fs::remove_dir_all(&a.dir);
            let mut s = open_store(&a);
            let st = run_accepts(s.as_mut(), &a, a.events, 256, 0, cap);
            std::thread::sleep(Duration::from_millis(5)); // everything due ≤ now
            let cpu0 = cpu_us();
            let t0 = Instant::now();
            let mut done = 0u64;
            let mut passes = 0u64;
            while t0.elapsed() < Duration::from_secs(300) && passes < 10_000 {
                let n = s.worker_pass(now_ms());
                passes += 1;
                if n == 0 {
                    break;
                }
                done += n as u64;
            }
            let secs = t0.elapsed().as_secs_f64();
            let cpu = cpu_us() - cpu0;
            println!(
                "RESULT drain engine={} prefilled={} prefill_secs={:.2} finished={} passes={} secs={:.2} events_per_s={:.0} cpu_us_per_event={:.1} rss_mib={:.0}",
                a.engine, st.new, st.secs, done, passes, secs, done as f64 / secs, cpu as f64 / done.max(1) as f64, rss_mib()
            );
        }
        "mixed" => {
            let _ = std::fs::remove_dir_all(&a.dir);
            let mut s = open_store(&a);
            let (tx, rx) = crossbeam_channel::bounded(a.n * 4);
            let stop = Arc::new(AtomicBool::new(false));
            let cpu0 = cpu_us();
            let t0 = Instant::now();
            let hs = spawn_producers(2, 50_000_000, a.body, tx, stop.clone());
            let (mut offered, mut new, mut finished, mut groups, mut passes) = (0u64, 0u64, 0u64, 0u64, 0u64);
            let dur = Duration::from_secs(a.secs);
            while t0.elapsed() < dur {
                // one accept group (whatever is queued, up to N), then one worker pass
                if let Some(g) = collect_group(&rx, a.n, false, Duration::from_millis(1)) {
                    if !g.is_empty() {
                        offered += g.len() as u64;
                        new += s.accept_group(&g) as u64;
                        groups += 1;
                    }
                }
                finished += s.worker_pass(now_ms()) as u64;
                passes += 1;
            }
            let secs = t0.elapsed().as_secs_f64();
            let cpu = cpu_us() - cpu0;
            stop.store(true, Ordering::Relaxed);
            drop(rx);
            for h in hs {
                h.join().unwrap();
            }
            println!(
                "RESULT mixed engine={} n={} secs={:.2} offered={} accepted={} finished={} accepted_per_s={:.0} finished_per_s={:.0} backlog={} groups={} passes={} cpu_us_per_accepted={:.1}",
                a.engine, a.n, secs, offered, new, finished, new as f64 / secs, finished as f64 / secs,
                new - finished, groups, passes, cpu as f64 / new.max(1) as f64
            );
        }
        "fill" => {
            let _ = std::fs::remove_dir_all(&a.dir);
            let rss0 = rss_mib();
            let mut s = open_store(&a);
            let every = (a.events / 20).max(1);
            let st = run_accepts(s.as_mut(), &a, a.events, a.n, every, Duration::from_secs(900));
            let after = rss_mib();
            let hwm = hwm_mib();
            drop(s);
            println!(
                "RESULT fill engine={} n={} body={} new={} secs={:.1} accepts_per_s={:.0} rss_start={:.0} rss_after_fill={:.0} hwm={:.0} rss_after_close={:.0} disk_mib={:.0} samples={:?}",
                a.engine, a.n, a.body, st.new, st.secs, st.offered as f64 / st.secs, rss0, after, hwm, rss_mib(),
                dir_size(&a.dir) as f64 / 1048576.0,
                st.rss_samples.iter().map(|x| x.round() as u64).collect::<Vec<_>>()
            );
        }
        "open" => {
            let rss0 = rss_mib();
            let t0 = Instant::now();
            let s = open_store(&a);
            let open_ms = t0.elapsed().as_secs_f64() * 1000.0;
            let rss_open = rss_mib();
            drop(s);
            println!(
                "RESULT open engine={} open_ms={:.1} rss_before={:.0} rss_after_open={:.0} hwm={:.0}",
                a.engine, open_ms, rss0, rss_open, hwm_mib()
            );
        }
        "fault" => fault(&a),
        c => panic!("unknown command {c}"),
    }
}

fn fault(a: &Args) {
    // 1. build a store: 100k events, drain 20k (so there are deletes/overwrites), clean close
    let _ = std::fs::remove_dir_all(&a.dir);
    {
        let mut s = open_store(a);
        let st = run_accepts(s.as_mut(), a, a.events, 256, 0, Duration::from_secs(300));
        std::thread::sleep(Duration::from_millis(5));
        let mut done = 0;
        for _ in 0..20 {
            done += s.worker_pass(now_ms());
        }
        let v = s.verify();
        println!("FAULT before: new={} finished={} verify={:?}", st.new, done, v);
    }
    let mut files = vec![];
    all_files(&a.dir, &mut files);
    files.sort_by_key(|f| std::cmp::Reverse(f.1));
    println!("FAULT files (largest first):");
    for (p, l) in files.iter().take(8) {
        println!("  {:>12} {}", l, p.display());
    }
    let pick = |f: &(PathBuf, u64)| {
        let p = f.0.to_string_lossy();
        match a.target.as_str() {
            "largest" => true,
            "journal" => p.ends_with(".jnl"),
            "sst" => p.contains("/tables/"),
            "blob" => p.contains("/blobs/"),
            t => panic!("target {t}"),
        }
    };
    let (target, len) = files.iter().find(|f| pick(f)).expect("no such file").clone();
    match a.mode.as_str() {
        "truncate" => {
            let f = std::fs::OpenOptions::new().write(true).open(&target).unwrap();
            f.set_len(len / 2).unwrap();
            println!("FAULT truncated {} from {} to {}", target.display(), len, len / 2);
        }
        "garbage" => {
            use std::io::{Seek, SeekFrom, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&target).unwrap();
            let off = (len / 2) & !4095;
            f.seek(SeekFrom::Start(off)).unwrap();
            let mut g = vec![0u8; 4096];
            fastrand::Rng::with_seed(99).fill(&mut g);
            f.write_all(&g).unwrap();
            f.sync_all().unwrap();
            println!("FAULT overwrote 4096 B at offset {} of {} ({} B)", off, target.display(), len);
        }
        "none" => println!("FAULT control: no corruption"),
        m => panic!("mode {m}"),
    }
    // 2. reopen + read everything, catching panics
    std::panic::set_hook(Box::new(|info| {
        eprintln!("PANIC: {info}");
    }));
    let t0 = Instant::now();
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<Box<dyn Store>, String> {
        match a.engine.as_str() {
            "fjall" => fj::open(&a.dir).map(|s| Box::new(s) as Box<dyn Store>).map_err(|e| format!("{e:?} / {e}")),
            _ => rd::open(&a.dir, a.integrity).map(|s| Box::new(s) as Box<dyn Store>).map_err(|e| format!("{e:?} / {e}")),
        }
    }));
    let open_ms = t0.elapsed().as_millis();
    match opened {
        Err(p) => println!("FAULT reopen: PANIC ({}) after {open_ms} ms", panic_msg(&p)),
        Ok(Err(e)) => println!("FAULT reopen: ERROR after {open_ms} ms: {e}"),
        Ok(Ok(mut s)) => {
            println!("FAULT reopen: OK after {open_ms} ms");
            let v = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.verify()));
            match v {
                Ok(v) => println!("FAULT after: verify={v:?}"),
                Err(p) => println!("FAULT after: verify PANIC ({})", panic_msg(&p)),
            }
            // can it still take writes?
            let w = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let ev = NewEvent {
                    source: "github".into(),
                    id: "after-fault".into(),
                    received_at: now_ms(),
                    event_type: "push".into(),
                    headers: vec![],
                    body: vec![1; 1024],
                };
                s.accept_group(&[ev])
            }));
            match w {
                Ok(n) => println!("FAULT write after: ok new={n}"),
                Err(p) => println!("FAULT write after: PANIC ({})", panic_msg(&p)),
            }
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(s)));
        }
    }
}

fn panic_msg(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "?".into()
    }
}
