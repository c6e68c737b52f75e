//! tokio::task::block_in_place on a two-worker runtime: a task runs a
//! blocking 2 s call in block_in_place, over and over. tokio hands the
//! worker's core to another thread for that time, so the ticker beside it
//! is never held up: no worker is blocked and nothing starves. What a
//! report must say: the call's long poll is inside block_in_place (the
//! sanctioned way), the runtime has 2 workers (not one per hand-off).
//! With the argument `nested` the call sits in an async fn the task awaits:
//! the hand-off's closure type then names that fn, not the task.
use std::io::Write;
use std::time::Duration;

async fn crunch_ledger() {
    loop {
        tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(2000)));
        tokio::task::yield_now().await;
    }
}

async fn settle_batch() {
    tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(2000)));
}

async fn crunch_nested() {
    loop {
        settle_batch().await;
        tokio::task::yield_now().await;
    }
}

async fn ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("nested") {
        tokio::spawn(crunch_nested());
    } else {
        tokio::spawn(crunch_ledger());
    }
    for _ in 0..2 {
        tokio::spawn(ticker());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    std::future::pending::<()>().await;
}
