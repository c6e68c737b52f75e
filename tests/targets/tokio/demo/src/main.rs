//! The demo service for `make demo`: an order service that mostly works,
//! with two planted stalls for taskscope to find:
//! - `reconcile_accounts` and `settle_payments` take two locks in opposite
//!   order and deadlock a few hundred milliseconds after start;
//! - `flush_metrics` calls `std::thread::sleep` inside async code, blocking
//!   a worker thread for 1.2 s every 2 s.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

struct Ledger {
    balance: i64,
}

async fn handle_order(id: u64, orders: mpsc::Sender<u64>) {
    tokio::time::sleep(Duration::from_millis(3)).await;
    let _ = orders.send(id).await;
}

async fn accept_orders(orders: mpsc::Sender<u64>) {
    let mut id = 0u64;
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        id += 1;
        tokio::spawn(handle_order(id, orders.clone()));
    }
}

async fn process_orders(mut orders: mpsc::Receiver<u64>) {
    let mut total = 0u64;
    while let Some(id) = orders.recv().await {
        total = total.wrapping_add(id);
    }
}

async fn reconcile_accounts(ledger: Arc<Mutex<Ledger>>, audit: Arc<Mutex<Vec<i64>>>) {
    let started = std::time::Instant::now();
    let mut l = ledger.lock().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut a = audit.lock().await;
    a.push(l.balance + started.elapsed().as_millis() as i64);
    l.balance = 0;
}

async fn settle_payments(ledger: Arc<Mutex<Ledger>>, audit: Arc<Mutex<Vec<i64>>>) {
    let a = audit.lock().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut l = ledger.lock().await;
    l.balance += a.len() as i64;
}

async fn flush_metrics() {
    loop {
        tokio::time::sleep(Duration::from_millis(800)).await;
        // planted: a synchronous call that blocks the worker thread
        std::thread::sleep(Duration::from_millis(1200));
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(process_orders(rx));
    tokio::spawn(accept_orders(tx));
    let ledger = Arc::new(Mutex::new(Ledger { balance: 100 }));
    let audit = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(reconcile_accounts(ledger.clone(), audit.clone()));
    tokio::spawn(settle_payments(ledger, audit));
    tokio::spawn(flush_metrics());
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("ready {}", std::process::id());
    std::future::pending::<()>().await;
}
