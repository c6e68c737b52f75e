//! Healthy at first, stuck later, for `taskscope watch`: a ticker runs all
//! along; after DELAY_MS (argv[1], default 3000) `wait_for_reply` starts
//! waiting on a oneshot whose sender `slow_replier` keeps for HOLD_MS
//! (argv[2], default: forever). The stall begins at DELAY_MS and, when
//! HOLD_MS is given, ends when the reply is sent.
use std::io::Write;
use std::time::Duration;
use tokio::sync::oneshot;

async fn ticker() {
    let mut n: u64 = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        n = n.wrapping_add(1);
    }
}

async fn wait_for_reply(rx: oneshot::Receiver<u64>) -> u64 {
    rx.await.unwrap_or(0)
}

async fn slow_replier(tx: oneshot::Sender<u64>, hold_ms: Option<u64>) {
    match hold_ms {
        Some(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let _ = tx.send(42);
        }
        None => {
            std::future::pending::<()>().await;
            drop(tx);
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let delay_ms: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3000);
    let hold_ms: Option<u64> = args.get(2).and_then(|s| s.parse().ok());
    tokio::spawn(ticker());
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();

    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(slow_replier(tx, hold_ms));
    let waiter = tokio::spawn(wait_for_reply(rx));
    let _ = waiter.await;
    std::future::pending::<()>().await;
}
