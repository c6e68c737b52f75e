//! A target for `taskscope profile` (issue 14): where the time goes.
//!
//! * 4 `client` tasks loop over "requests"; each request awaits one slow
//!   step (`slow_backend`: a 50 ms sleep) and one fast step (`fast_cache`:
//!   a oneshot the `cache` task answers at once).
//! * 3 `locker` tasks contend for one tokio Mutex, each holding it across
//!   a 20 ms sleep: at any moment one holds it and two wait.
//!
//! The lines the tests look for carry a `// profile:` marker; the test
//! finds them by it, and asserts taskscope names exactly those lines.
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Answers each request at once.
async fn cache(mut rx: mpsc::Receiver<oneshot::Sender<u64>>) {
    while let Some(reply) = rx.recv().await { // profile: cache recv
        let _ = reply.send(7);
    }
}

async fn slow_backend(n: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(50)).await; // profile: slow
    n + 1
}

async fn fast_cache(tx: &mpsc::Sender<oneshot::Sender<u64>>) -> u64 {
    let (reply_tx, reply_rx) = oneshot::channel();
    tx.send(reply_tx).await.unwrap();
    reply_rx.await.unwrap() // profile: fast
}

async fn client(tx: mpsc::Sender<oneshot::Sender<u64>>) {
    let mut total = 0u64;
    loop {
        let v = slow_backend(total).await;
        total = total.wrapping_add(fast_cache(&tx).await + v);
    }
}

async fn locker(m: Arc<Mutex<u64>>) {
    loop {
        let mut guard = m.lock().await; // profile: lock
        tokio::time::sleep(Duration::from_millis(20)).await; // profile: held
        *guard += 1;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(cache(rx));
    for _ in 0..4 {
        tokio::spawn(client(tx.clone()));
    }
    let m = Arc::new(Mutex::new(0u64));
    for _ in 0..3 {
        tokio::spawn(locker(m.clone()));
    }
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    std::future::pending::<()>().await;
}
