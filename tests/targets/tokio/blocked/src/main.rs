//! A worker blocked by a synchronous call inside async code. On this
//! current_thread runtime the blocked worker also starves `ticker`: a
//! plain thread keeps sending it messages, so it is woken but can't be
//! polled while `blocking_handler` sleeps.
use std::time::Duration;
use tokio::sync::mpsc;

async fn ticker(mut rx: mpsc::Receiver<u64>) {
    let mut sum = 0u64;
    while let Some(v) = rx.recv().await {
        sum = sum.wrapping_add(v);
    }
    println!("{sum}");
}

async fn blocking_handler() {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::thread::sleep(Duration::from_millis(1500));
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (tx, rx) = mpsc::channel::<u64>(1024);
    std::thread::spawn(move || {
        let mut n = 0u64;
        while tx.blocking_send(n).is_ok() {
            n += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    tokio::spawn(ticker(rx));
    tokio::spawn(blocking_handler());
    println!("ready {}", std::process::id());
    std::future::pending::<()>().await;
}
