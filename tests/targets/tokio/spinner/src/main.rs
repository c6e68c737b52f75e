//! A task that spins: it yields to the scheduler forever without waiting
//! for anything, next to a healthy ticker.
use std::time::Duration;

async fn spin_loop() {
    let mut counter = 0u64;
    loop {
        counter = counter.wrapping_add(1);
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
    tokio::spawn(spin_loop());
    tokio::spawn(ticker());
    println!("ready {}", std::process::id());
    std::future::pending::<()>().await;
}
