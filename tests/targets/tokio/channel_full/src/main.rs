//! A bounded-channel sender stuck because its receiver stopped receiving:
//! `consumer` takes 8 items and then parks forever while holding the
//! receiver, so the channel (capacity 4) fills up and `producer` waits in
//! `send` forever.
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

/// Sends an increasing counter forever.
async fn producer(tx: mpsc::Sender<u64>) {
    let mut n = 0u64;
    loop {
        tx.send(n).await.unwrap();
        n += 1;
    }
}

/// Receives exactly 8 items, then parks forever still holding `rx`.
async fn consumer(mut rx: mpsc::Receiver<u64>) {
    for _ in 0..8 {
        rx.recv().await.unwrap();
    }
    std::future::pending::<()>().await;
    drop(rx);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (tx, rx) = mpsc::channel::<u64>(4);
    tokio::spawn(producer(tx));
    tokio::spawn(consumer(rx));

    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();

    std::future::pending::<()>().await;
}
