//! A worker blocked by a synchronous call inside async code. On a
//! current_thread runtime the blocked worker also starves `ticker`.
use std::time::Duration;

async fn ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn blocking_handler() {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::thread::sleep(Duration::from_millis(1500));
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tokio::spawn(ticker());
    tokio::spawn(blocking_handler());
    println!("ready {}", std::process::id());
    std::future::pending::<()>().await;
}
