//! smol (async-task underneath): a healthy ticker and a task stuck on a
//! channel nobody sends to, on a two-thread executor.
use std::sync::Arc;
use std::time::Duration;

async fn ticker() {
    let mut n = 0u64;
    loop {
        smol::Timer::after(Duration::from_millis(10)).await;
        n = n.wrapping_add(1);
    }
}

async fn stuck_receiver(rx: smol::channel::Receiver<u64>) {
    let _ = rx.recv().await;
}

fn main() {
    let ex = Arc::new(smol::Executor::new());
    let (tx, rx) = smol::channel::bounded::<u64>(1);
    ex.spawn(ticker()).detach();
    ex.spawn(stuck_receiver(rx)).detach();
    for _ in 0..2 {
        let ex = ex.clone();
        std::thread::spawn(move || smol::block_on(ex.run(std::future::pending::<()>())));
    }
    std::thread::sleep(Duration::from_millis(100));
    println!("ready {}", std::process::id());
    let _tx = tx;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
