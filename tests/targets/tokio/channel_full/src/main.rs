//! A bounded-channel sender stuck because its receiver stopped receiving.
use tokio::sync::mpsc;

async fn producer(tx: mpsc::Sender<u64>) {
    let mut n = 0u64;
    loop {
        tx.send(n).await.unwrap();
        n += 1;
    }
}

async fn consumer(mut rx: mpsc::Receiver<u64>) {
    for _ in 0..8 {
        rx.recv().await;
    }
    // keeps rx alive, never receives again: the channel fills up
    std::future::pending::<()>().await;
    drop(rx);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (tx, rx) = mpsc::channel::<u64>(4);
    tokio::spawn(producer(tx));
    tokio::spawn(consumer(rx));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    println!("ready {}", std::process::id());
    std::future::pending::<()>().await;
}
