//! A quiet, healthy process: a two-worker runtime with one task that is
//! idle but for a short tick, and nothing else to do. Whatever the
//! observation window, taskscope must report no finding here: tokio's own
//! tasks (the workers' launch tasks run for the process's life) are no stall.
use std::io::Write;
use std::time::Duration;

/// Sleeps in 500 ms steps: idle, never for longer than --stall-ms (1 s)
/// (a task idle for longer is a finding by design: see the parked target).
async fn idle_task() {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tokio::spawn(idle_task());
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    std::future::pending::<()>().await;
}
