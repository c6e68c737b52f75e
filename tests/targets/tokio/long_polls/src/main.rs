//! Every poll of `sleeper` blocks its worker for 300 ms (a synchronous
//! sleep, then `yield_now`): far below a 1 s stall, a thousand times
//! tokio's 10-100 us guidance. On this one-worker runtime `ticker`, due
//! every 10 ms, waits behind each of those polls.
use std::io::Write;
use std::time::Duration;

async fn sleeper() {
    loop {
        std::thread::sleep(Duration::from_millis(300));
        tokio::task::yield_now().await;
    }
}

async fn ticker() {
    let mut n = 0u64;
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        n = n.wrapping_add(1);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tokio::spawn(ticker());
    tokio::spawn(sleeper());
    tokio::time::sleep(Duration::from_millis(50)).await;
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    std::future::pending::<()>().await;
}
