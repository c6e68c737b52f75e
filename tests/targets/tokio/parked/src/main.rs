//! Every task is parked forever and no wake ever happens: no timers,
//! no I/O, a oneshot whose sender is kept alive but never used.
use std::io::Write;
use std::time::Duration;
use tokio::sync::oneshot;

/// Parks forever on a future that is never ready.
async fn wait_forever(_id: u32) {
    std::future::pending::<()>().await;
}

/// Parks forever on a oneshot that is never sent.
async fn wait_for_signal(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `_tx` (not `_`) keeps the sender alive until main ends, i.e. forever.
    let (_tx, rx) = oneshot::channel::<()>();
    for i in 0..3 {
        tokio::spawn(wait_forever(i));
    }
    tokio::spawn(wait_for_signal(rx));

    // Let every task be polled once; this is the last timer that fires.
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();

    std::future::pending::<()>().await;
}
