//! Every task parked forever; after start-up no wake ever happens, so no
//! probe fires: taskscope must find the tasks in memory.
use std::time::Duration;
use tokio::sync::oneshot;

async fn wait_forever(_i: u32) {
    std::future::pending::<()>().await;
}

async fn wait_for_signal(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (tx, rx) = oneshot::channel::<()>();
    for i in 0..3 {
        tokio::spawn(wait_forever(i));
    }
    tokio::spawn(wait_for_signal(rx));
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("ready {}", std::process::id());
    let _tx = tx;
    std::future::pending::<()>().await;
}
