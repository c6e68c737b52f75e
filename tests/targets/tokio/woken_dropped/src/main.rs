//! Wakes lost to a dropped task: every 100 ms a fresh current_thread
//! runtime spawns `doomed`, which parks on a oneshot. The oneshot is then
//! sent while the runtime is not running (scheduling `doomed`), and the
//! runtime is dropped, so the scheduled task is dropped without ever being
//! polled again.
use std::io::Write;
use std::time::Duration;
use tokio::sync::oneshot;

/// Parks on the oneshot; never gets to see the value.
async fn doomed(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

fn main() {
    let mut announced = false;
    loop {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        // The block_on future is not a task; `doomed` is polled once while
        // main sleeps, and parks on `rx`.
        rt.block_on(async {
            tokio::spawn(doomed(rx));
            tokio::time::sleep(Duration::from_millis(5)).await;
        });
        // Wakes `doomed` while its runtime is not running...
        let _ = tx.send(());
        // ...and drops it without polling it again.
        drop(rt);

        if !announced {
            println!("ready {}", std::process::id());
            std::io::stdout().flush().unwrap();
            announced = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
