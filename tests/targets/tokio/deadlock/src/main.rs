//! Two tasks take two tokio mutexes in opposite order and deadlock.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

async fn lock_ab(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let mut ga = a.lock().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let gb = b.lock().await;
    *ga += *gb;
}

async fn lock_ba(a: Arc<Mutex<u64>>, b: Arc<Mutex<u64>>) {
    let mut gb = b.lock().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ga = a.lock().await;
    *gb += *ga * 2;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = Arc::new(Mutex::new(1u64));
    let b = Arc::new(Mutex::new(2u64));
    tokio::spawn(lock_ab(a.clone(), b.clone()));
    tokio::spawn(lock_ba(a, b));
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("ready {}", std::process::id());
    std::future::pending::<()>().await;
}
