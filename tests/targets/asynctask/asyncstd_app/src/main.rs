//! async-std (async-task underneath): a healthy ticker and a task stuck on
//! a channel nobody sends to.
use async_std::channel;
use async_std::task;
use std::time::Duration;

async fn ticker() {
    let mut n = 0u64;
    loop {
        task::sleep(Duration::from_millis(10)).await;
        n = n.wrapping_add(1);
    }
}

async fn stuck_receiver(rx: channel::Receiver<u64>) {
    let _ = rx.recv().await;
}

fn main() {
    let (tx, rx) = channel::bounded::<u64>(1);
    task::spawn(ticker());
    task::spawn(stuck_receiver(rx));
    task::block_on(async {
        task::sleep(Duration::from_millis(100)).await;
        println!("ready {}", std::process::id());
        let _tx = tx;
        std::future::pending::<()>().await;
    });
}
