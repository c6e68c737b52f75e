//! A task that spins: `spin_loop` yields back to the scheduler forever
//! without making progress; `ticker` next to it is healthy.
use std::io::Write;
use std::time::Duration;

/// Busy-yields forever: always runnable, never does useful work.
async fn spin_loop() {
    let mut counter = 0u64;
    loop {
        counter = counter.wrapping_add(1);
        tokio::task::yield_now().await;
    }
}

/// Healthy: sleeps 10 ms in a loop.
async fn ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tokio::spawn(spin_loop());
    tokio::spawn(ticker());

    tokio::time::sleep(Duration::from_millis(50)).await;
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();

    std::future::pending::<()>().await;
}
