//! A two-worker runtime whose blocking pool grew to 64 threads: 64
//! spawn_blocking jobs, all finished before `ready`. tokio names its
//! blocking threads like its workers (tokio-runtime-worker), and each
//! worker itself runs inside a blocking-pool task: an observer must still
//! count 2 workers and flag nothing. One ticker keeps the runtime alive.
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
    tokio::spawn(ticker());
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    std::future::pending::<()>().await;
}
