//! 20,000 tasks parked forever on a Notify nobody notifies, plus one
//! ticker: the report must find every parked task in memory, quickly.
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
    let n = Arc::new(Notify::new());
    for _ in 0..20_000 {
        tokio::spawn(parked(n.clone()));
    }
    tokio::spawn(ticker());
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("ready {}", std::process::id());
    std::future::pending::<()>().await;
}
