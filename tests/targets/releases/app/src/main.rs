//! One scenario program, built against each vendored tokio release (see
//! ../README.md). Usage: `app_tokio_1_53 SCENARIO`. Prints `ready <pid>`
//! (flushed) once the scenario is set up, then lives until killed.
//!
//! Runtimes are built with `tokio::runtime::Builder` (no `#[tokio::main]`:
//! the vendored sources have no tokio-macros). Multi-thread runtimes have
//! 2 workers. Every task body is a named `async fn`, so a report can be
//! checked by name. The scenarios mirror tests/targets/tokio/*. The
//! `line N` comments mark where tasks park or block: keep them in step.
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex, Notify};

const SCENARIOS: &[&str] = &[
    "healthy",
    "tree",
    "blocked",
    "parked",
    "channel_full",
    "deadlock",
    "spinner",
    "nested",
    "quiet",
    "current_thread",
    "blocking_pool",
];

fn ready() {
    let mut out = std::io::stdout();
    writeln!(out, "ready {}", std::process::id()).unwrap();
    out.flush().unwrap();
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    match scenario.as_str() {
        "healthy" => multi_thread().block_on(healthy_main()),
        "blocked" => multi_thread().block_on(blocked_main()),
        "parked" => multi_thread().block_on(parked_main()),
        "channel_full" => multi_thread().block_on(channel_full_main()),
        "deadlock" => multi_thread().block_on(deadlock_main()),
        "spinner" => multi_thread().block_on(spinner_main()),
        "nested" => multi_thread().block_on(nested_main()),
        "quiet" => multi_thread().block_on(quiet_main()),
        "tree" => multi_thread().block_on(tree_main()),
        "current_thread" => current_thread().block_on(current_thread_main()),
        "blocking_pool" => multi_thread().block_on(blocking_pool_main()),
        _ => {
            eprintln!("usage: {} SCENARIO   (one of: {})",
                      std::env::args().next().unwrap_or_default(), SCENARIOS.join(", "));
            std::process::exit(2);
        }
    }
}

// ---- healthy: every task is woken at least every ~10 ms; nothing stalls.

/// Sends a ping, waits for the pong, sleeps 2 ms, repeats.
async fn pinger(tx: mpsc::Sender<u64>, mut rx: mpsc::Receiver<u64>) {
    let mut n = 0u64;
    loop {
        tx.send(n).await.unwrap();
        n = rx.recv().await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Answers every ping with ping + 1.
async fn ponger(mut rx: mpsc::Receiver<u64>, tx: mpsc::Sender<u64>) {
    while let Some(n) = rx.recv().await {
        tx.send(n.wrapping_add(1)).await.unwrap();
    }
}

/// Wakes every 5 + i ms, does a little arithmetic, reports to the aggregator.
async fn ticker(i: u64, tx: mpsc::Sender<u64>) {
    let mut acc = i;
    loop {
        tokio::time::sleep(Duration::from_millis(5 + i)).await;
        acc = acc.wrapping_mul(31).wrapping_add(7);
        tx.send(acc).await.unwrap();
    }
}

/// Receives the tickers' reports (about one every 1-2 ms).
async fn aggregator(mut rx: mpsc::Receiver<u64>) {
    let mut sum = 0u64;
    while let Some(v) = rx.recv().await {
        sum = sum.wrapping_add(v);
    }
    std::hint::black_box(sum);
}

async fn healthy_main() {
    let (ping_tx, ping_rx) = mpsc::channel::<u64>(16);
    let (pong_tx, pong_rx) = mpsc::channel::<u64>(16);
    tokio::spawn(pinger(ping_tx, pong_rx));
    tokio::spawn(ponger(ping_rx, pong_tx));
    let (agg_tx, agg_rx) = mpsc::channel::<u64>(16);
    for i in 0..4 {
        tokio::spawn(ticker(i, agg_tx.clone()));
    }
    drop(agg_tx);
    tokio::spawn(aggregator(agg_rx));

    tokio::time::sleep(Duration::from_millis(50)).await;
    ready();
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---- blocked: a task blocks its worker thread (std::thread::sleep inside
// a poll) for 1.2 s, every 200 ms; `message_counter` next to it is fed by a
// plain thread and is healthy whenever it gets a worker.

/// Receives a message every 10 ms from a plain thread.
async fn message_counter(mut rx: mpsc::Receiver<u64>) {
    let mut sum = 0u64;
    while let Some(v) = rx.recv().await {
        sum = sum.wrapping_add(v);
    }
    std::hint::black_box(sum);
}

/// Sleeps 200 ms (async), then blocks the worker 1.2 s (sync), forever.
async fn blocking_handler() {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::thread::sleep(Duration::from_millis(1200)); // line 146
    }
}

async fn blocked_main() {
    let (tx, rx) = mpsc::channel::<u64>(1024);
    std::thread::spawn(move || {
        let mut n = 0u64;
        while tx.blocking_send(n).is_ok() {
            n += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    tokio::spawn(message_counter(rx));
    tokio::spawn(blocking_handler());
    ready();
    std::future::pending::<()>().await;
}

// ---- parked: every task waits forever, no wake ever comes (no timers
// after setup, senders kept alive but never used).

/// Parks forever on a future that is never ready.
async fn wait_forever(id: u32) {
    std::future::pending::<()>().await; // line 170
    std::hint::black_box(id);
}

/// Parks forever on a oneshot that is never sent.
async fn wait_for_signal(rx: oneshot::Receiver<()>) {
    let _ = rx.await; // line 176
}

/// Parks forever on a Notify that is never notified.
async fn wait_notified(n: Arc<Notify>) {
    n.notified().await; // line 181
}

async fn parked_main() {
    let (tx, rx) = oneshot::channel::<()>();
    let notify = Arc::new(Notify::new());
    for i in 0..3 {
        tokio::spawn(wait_forever(i));
    }
    tokio::spawn(wait_for_signal(rx));
    tokio::spawn(wait_notified(notify.clone()));

    // Let every task be polled once; this is the last timer that fires.
    tokio::time::sleep(Duration::from_millis(100)).await;
    ready();
    std::future::pending::<()>().await;
    drop((tx, notify));
}

// ---- channel_full: `consumer` takes 8 items then parks forever holding
// the receiver; the channel (capacity 4) fills and `producer` waits in
// `send` forever.

/// Sends an increasing counter forever.
async fn producer(tx: mpsc::Sender<u64>) {
    let mut n = 0u64;
    loop {
        tx.send(n).await.unwrap(); // line 208
        n += 1;
    }
}

/// Receives exactly 8 items, then parks forever still holding `rx`.
async fn consumer(mut rx: mpsc::Receiver<u64>) {
    for _ in 0..8 {
        rx.recv().await.unwrap();
    }
    std::future::pending::<()>().await; // line 218
    drop(rx);
}

async fn channel_full_main() {
    let (tx, rx) = mpsc::channel::<u64>(4);
    tokio::spawn(producer(tx));
    tokio::spawn(consumer(rx));
    tokio::time::sleep(Duration::from_millis(100)).await;
    ready();
    std::future::pending::<()>().await;
}

// ---- deadlock: `lock_ab` holds A and waits for B, `lock_ba` holds B and
// waits for A (tokio Mutexes).

/// Locks A, then (50 ms later) B.
async fn lock_ab(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let mut ga = a.lock().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let gb = b.lock().await; // line 238: waits forever
    *ga += *gb;
}

/// Locks B, then (50 ms later) A.
async fn lock_ba(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let mut gb = b.lock().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ga = a.lock().await; // line 246: waits forever
    *gb += *ga;
}

async fn deadlock_main() {
    let a = Arc::new(Mutex::new(0u64));
    let b = Arc::new(Mutex::new(0u64));
    tokio::spawn(lock_ab(a.clone(), b.clone()));
    tokio::spawn(lock_ba(a, b));
    tokio::time::sleep(Duration::from_millis(200)).await;
    ready();
    std::future::pending::<()>().await;
}

// ---- spinner: `spin_loop` yields back to the scheduler forever without
// progress; `spin_ticker` next to it is healthy.

/// Busy-yields forever: always runnable, never does useful work.
async fn spin_loop() {
    let mut counter = 0u64;
    loop {
        counter = counter.wrapping_add(1);
        tokio::task::yield_now().await; // line 268
    }
}

/// Healthy: sleeps 10 ms in a loop.
async fn spin_ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn spinner_main() {
    tokio::spawn(spin_loop());
    tokio::spawn(spin_ticker());
    tokio::time::sleep(Duration::from_millis(50)).await;
    ready();
    std::future::pending::<()>().await;
}

// ---- nested: an await chain three async fns deep, ending in a one-hour
// sleep: handle_request -> fetch_user_data -> db_query.

async fn db_query(user_id: u64, table: &'static str) -> u64 {
    let attempt: u32 = std::hint::black_box(7);
    tokio::time::sleep(Duration::from_secs(3600)).await; // line 292: nested: leaf
    user_id + attempt as u64 + table.len() as u64
}

async fn fetch_user_data(user_id: u64) -> u64 {
    let owner = String::from("alice");
    let rows = db_query(user_id, "users").await; // line 298: nested: middle
    rows + owner.len() as u64
}

async fn handle_request(request_id: u32) -> u64 {
    let route: &str = std::hint::black_box("/api/users/42");
    let n = fetch_user_data(42).await; // line 304: nested: root
    n + route.len() as u64 + request_id as u64
}

async fn nested_main() {
    tokio::spawn(handle_request(7));
    tokio::time::sleep(Duration::from_millis(50)).await;
    ready();
    std::future::pending::<()>().await;
}

// ---- tree: a parent keeping 8 short-lived children alive (each replaced
// as it ends), so the children alive at any time were spawned moments ago:
// taskscope sees their spawns and names the parent.

async fn tree_child(n: u64) {
    for _ in 0..5 + n % 5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn tree_parent() {
    let mut children = tokio::task::JoinSet::new();
    let mut n = 0u64;
    while n < 8 {
        children.spawn(tree_child(n));
        n += 1;
    }
    while children.join_next().await.is_some() {
        children.spawn(tree_child(n));
        n += 1;
    }
}

async fn tree_main() {
    tokio::spawn(tree_parent());
    tokio::time::sleep(Duration::from_millis(50)).await;
    ready();
    std::future::pending::<()>().await;
}

// ---- quiet: a 2-worker runtime with one task of its own, idle on a
// pending future. Nothing must be reported.

/// Waits forever; the only task of the quiet scenario.
async fn idle_task() {
    std::future::pending::<()>().await; // line 350
}

async fn quiet_main() {
    tokio::spawn(idle_task());
    tokio::time::sleep(Duration::from_millis(50)).await;
    ready();
    std::future::pending::<()>().await;
}

// ---- current_thread: a current-thread runtime (the main thread is its
// only worker) running a few healthy tasks and one parked one.

/// Sleeps 10 ms in a loop.
async fn ct_ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends a counter every 5 ms.
async fn ct_sender(tx: mpsc::Sender<u64>) {
    let mut n = 0u64;
    loop {
        tx.send(n).await.unwrap();
        n += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Receives ct_sender's counter.
async fn ct_receiver(mut rx: mpsc::Receiver<u64>) {
    let mut sum = 0u64;
    while let Some(v) = rx.recv().await {
        sum = sum.wrapping_add(v);
    }
    std::hint::black_box(sum);
}

/// Parks forever on a oneshot that is never sent.
async fn ct_parked(rx: oneshot::Receiver<()>) {
    let _ = rx.await; // line 391
}

async fn current_thread_main() {
    let (tx, rx) = mpsc::channel::<u64>(8);
    let (otx, orx) = oneshot::channel::<()>();
    tokio::spawn(ct_ticker());
    tokio::spawn(ct_sender(tx));
    tokio::spawn(ct_receiver(rx));
    tokio::spawn(ct_parked(orx));
    tokio::time::sleep(Duration::from_millis(50)).await;
    ready();
    std::future::pending::<()>().await;
    drop(otx);
}

// ---- blocking_pool: 64 spawn_blocking calls (20 ms each) that all finish,
// then two idle async tasks. The blocking threads stay around (idle) for
// tokio's keep-alive (10 s) after the batch.

/// The closure body run on the blocking pool.
fn blocking_work(i: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(20));
    i.wrapping_mul(2654435761)
}

/// Runs 64 spawn_blocking calls and waits for them all.
async fn run_blocking_batch() -> u64 {
    let handles: Vec<_> = (0..64u64)
        .map(|i| tokio::task::spawn_blocking(move || blocking_work(i)))
        .collect();
    let mut sum = 0u64;
    for h in handles {
        sum = sum.wrapping_add(h.await.unwrap());
    }
    sum
}

/// Waits forever after the batch.
async fn idle_after_blocking(id: u32) {
    std::future::pending::<()>().await; // line 431
    std::hint::black_box(id);
}

async fn blocking_pool_main() {
    let sum = tokio::spawn(run_blocking_batch()).await.unwrap();
    std::hint::black_box(sum);
    for i in 0..2 {
        tokio::spawn(idle_after_blocking(i));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    ready();
    std::future::pending::<()>().await;
}
