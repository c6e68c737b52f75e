//! Wakes lost to dropped tasks: `doomed` is parked on a oneshot, woken
//! while its runtime is not running, and the runtime is dropped before it
//! polls the task again. Repeats every 100 ms.
use std::time::Duration;
use tokio::sync::oneshot;

async fn doomed(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

fn main() {
    let mut first = true;
    loop {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        rt.block_on(async {
            tokio::spawn(doomed(rx));
            tokio::time::sleep(Duration::from_millis(5)).await;
        });
        let _ = tx.send(());
        drop(rt);
        if first {
            println!("ready {}", std::process::id());
            first = false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
