//! Three runtimes in one process, each with one task stuck on a oneshot
//! nobody answers: the main multi-thread runtime (workers `rt-main`), a
//! second multi-thread runtime on a thread of its own (workers `rt-side`),
//! and a current-thread runtime running a LocalSet whose `spawn_local`
//! task is stuck (on thread `local-set`). A ticker on each multi-thread
//! runtime keeps it busy; nothing else is wrong.
use std::io::Write;
use std::time::Duration;
use tokio::sync::oneshot;

async fn ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn main_stuck(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

async fn side_stuck(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

async fn local_stuck(rx: oneshot::Receiver<()>) {
    let _ = rx.await;
}

fn main() {
    let (keep_a, rx_a) = oneshot::channel::<()>();
    let (keep_b, rx_b) = oneshot::channel::<()>();
    let (keep_c, rx_c) = oneshot::channel::<()>();

    std::thread::Builder::new().name("side-main".into()).spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2)
            .thread_name("rt-side").enable_all().build().unwrap();
        rt.block_on(async move {
            tokio::spawn(ticker());
            tokio::spawn(side_stuck(rx_b));
            std::future::pending::<()>().await;
        });
    }).unwrap();

    std::thread::Builder::new().name("local-set".into()).spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            tokio::task::spawn_local(local_stuck(rx_c));
            std::future::pending::<()>().await;
        });
    }).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2)
        .thread_name("rt-main").enable_all().build().unwrap();
    rt.block_on(async move {
        tokio::spawn(ticker());
        tokio::spawn(main_stuck(rx_a));
        tokio::time::sleep(Duration::from_millis(300)).await;
        println!("ready {}", std::process::id());
        std::io::stdout().flush().unwrap();
        std::future::pending::<()>().await;
    });
    drop((keep_a, keep_b, keep_c));
}
