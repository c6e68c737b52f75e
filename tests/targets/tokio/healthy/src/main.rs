use std::time::Duration;
async fn worker(id: u32) {
    loop {
        tokio::time::sleep(Duration::from_millis(5 + id as u64)).await;
    }
}
#[tokio::main(worker_threads = 2)]
async fn main() {
    for i in 0..4 { tokio::spawn(worker(i)); }
    println!("ready {}", std::process::id());
    loop { tokio::time::sleep(Duration::from_secs(1)).await; }
}
