//! A two-worker runtime whose blocking pool grew to 64 threads: 64
//! spawn_blocking jobs, all finished before `ready`. tokio names its
//! blocking threads like its workers (tokio-runtime-worker), and each
//! worker itself runs inside a blocking-pool task: an observer must still
//! count 2 workers and flag nothing. One ticker keeps the runtime alive.
//! With BUSY (argv[1]) that many more blocking jobs keep running (sleeping
//! for an hour): blocking work in the pool, which is not a blocked worker.
use std::io::Write;
use std::time::Duration;

async fn ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut jobs = Vec::new();
    for i in 0..64u64 {
        jobs.push(tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(200));
            i
        }));
    }
    for j in jobs {
        j.await.unwrap();
    }
    let busy: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    for _ in 0..busy {
        tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_secs(3600)));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::spawn(ticker());
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    std::future::pending::<()>().await;
}
