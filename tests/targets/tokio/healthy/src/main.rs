//! A busy, healthy service: every task is woken at least every ~10 ms,
//! nothing blocks, nothing spins. taskscope must report no stall here.
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

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
    println!("aggregator done {sum}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
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
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();

    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
