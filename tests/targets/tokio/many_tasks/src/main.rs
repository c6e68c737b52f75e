//! 20,000 tasks (or argv[1]) parked forever on a Notify nobody notifies,
//! plus one ticker: the report must find every parked task in memory,
//! quickly. `many_tasks 1000000` is the scale benchmark.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

async fn parked(n: Arc<Notify>) {
    n.notified().await;
}

async fn ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let n = Arc::new(Notify::new());
    for _ in 0..count {
        tokio::spawn(parked(n.clone()));
    }
    tokio::spawn(ticker());
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("ready {}", std::process::id());
    std::future::pending::<()>().await;
}
