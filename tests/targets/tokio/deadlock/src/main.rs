//! Two tasks in a mutex deadlock: `lock_ab` holds A and waits for B,
//! `lock_ba` holds B and waits for A.
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Locks A, then (50 ms later) B.
async fn lock_ab(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let mut ga = a.lock().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let gb = b.lock().await;
    *ga += *gb;
}

/// Locks B, then (50 ms later) A.
async fn lock_ba(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let mut gb = b.lock().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ga = a.lock().await;
    *gb += *ga;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = Arc::new(Mutex::new(0u64));
    let b = Arc::new(Mutex::new(0u64));
    tokio::spawn(lock_ab(a.clone(), b.clone()));
    tokio::spawn(lock_ba(a, b));

    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();

    std::future::pending::<()>().await;
}
