//! A healthy busy service: every task is woken at least every 20 ms, none
//! blocks, none spins. taskscope must report no stall here.
use std::time::Duration;
use tokio::sync::mpsc;

async fn pinger(tx: mpsc::Sender<u64>, mut rx: mpsc::Receiver<u64>) {
    let mut n = 0u64;
    loop {
        tx.send(n).await.unwrap();
        n = rx.recv().await.unwrap() + 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn ponger(mut rx: mpsc::Receiver<u64>, tx: mpsc::Sender<u64>) {
    while let Some(n) = rx.recv().await {
        tx.send(n).await.unwrap();
    }
}

async fn ticker(i: u64, out: mpsc::Sender<u64>) {
    let mut acc = i;
    loop {
        tokio::time::sleep(Duration::from_millis(5 + i)).await;
        acc = acc.wrapping_mul(31).wrapping_add(7);
        out.send(acc).await.unwrap();
    }
}

async fn aggregator(mut rx: mpsc::Receiver<u64>) {
    let mut sum = 0u64;
    while let Some(v) = rx.recv().await {
        sum = sum.wrapping_add(v);
    }
    println!("{sum}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (a_tx, a_rx) = mpsc::channel(16);
    let (b_tx, b_rx) = mpsc::channel(16);
    tokio::spawn(pinger(a_tx, b_rx));
    tokio::spawn(ponger(a_rx, b_tx));
    let (agg_tx, agg_rx) = mpsc::channel(16);
    for i in 0..4 {
        tokio::spawn(ticker(i, agg_tx.clone()));
    }
    drop(agg_tx);
    tokio::spawn(aggregator(agg_rx));
    println!("ready {}", std::process::id());
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
