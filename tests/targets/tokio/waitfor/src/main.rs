//! Who waits on whom, three scenarios picked by the first argument:
//!
//! * `cycle3`: a three-task cycle through a mutex, a channel and a
//!   JoinHandle. `hold_and_join` holds the mutex and awaits the JoinHandle
//!   of `wait_for_message`, which waits on a channel whose only sender
//!   `lock_then_send` holds while it waits for the mutex.
//! * `chan_cycle`: a channel whose receiver waits on its sender.
//!   `fill_and_send` sends into a full channel (capacity 1) whose receiver
//!   `join_then_drain` awaits `fill_and_send`'s JoinHandle before reading.
//! * `tree`: a healthy parent with 50 children: each child ticks on a
//!   timer for a few hundred ms and ends, and the parent spawns another in
//!   its place, so within a second of attaching every live child was
//!   spawned while taskscope watched. Nothing is stuck.
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;

async fn hold_and_join(m: Arc<Mutex<u64>>, ready: oneshot::Sender<()>,
                       child: oneshot::Receiver<JoinHandle<()>>) {
    let mut guard = m.lock().await;
    let _ = ready.send(());
    let waiter = child.await.unwrap();
    waiter.await.unwrap();
    *guard += 1;
}

async fn wait_for_message(mut rx: mpsc::Receiver<u64>) {
    let n = rx.recv().await;
    println!("got {:?}", n);
}

async fn lock_then_send(m: Arc<Mutex<u64>>, tx: mpsc::Sender<u64>) {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let v = *m.lock().await;
    tx.send(v).await.unwrap();
}

async fn cycle3() {
    let m = Arc::new(Mutex::new(0u64));
    let (tx, rx) = mpsc::channel::<u64>(4);
    let (ready_tx, ready_rx) = oneshot::channel();
    let (child_tx, child_rx) = oneshot::channel();
    tokio::spawn(hold_and_join(m.clone(), ready_tx, child_rx));
    let _ = ready_rx.await;
    let waiter = tokio::spawn(wait_for_message(rx));
    tokio::spawn(lock_then_send(m, tx));
    let _ = child_tx.send(waiter);
}

async fn fill_and_send(tx: mpsc::Sender<u64>) {
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
}

async fn join_then_drain(mut rx: mpsc::Receiver<u64>, sender: oneshot::Receiver<JoinHandle<()>>) {
    let sender = sender.await.unwrap();
    sender.await.unwrap();
    while let Some(v) = rx.recv().await {
        println!("drained {}", v);
    }
}

async fn chan_cycle() {
    let (tx, rx) = mpsc::channel::<u64>(1);
    let (h_tx, h_rx) = oneshot::channel();
    tokio::spawn(join_then_drain(rx, h_rx));
    let _ = h_tx.send(tokio::spawn(fill_and_send(tx)));
}

async fn child(n: u64) {
    for _ in 0..10 + n % 10 {
        tokio::time::sleep(Duration::from_millis(20 + n % 7)).await;
    }
}

async fn parent() {
    let mut children = tokio::task::JoinSet::new();
    let mut n = 0u64;
    while n < 50 {
        children.spawn(child(n));
        n += 1;
    }
    while children.join_next().await.is_some() {
        children.spawn(child(n));
        n += 1;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_else(|| "cycle3".into());
    match scenario.as_str() {
        "cycle3" => cycle3().await,
        "chan_cycle" => chan_cycle().await,
        "tree" => {
            tokio::spawn(parent());
        }
        other => {
            eprintln!("waitfor: unknown scenario {other:?} (cycle3, chan_cycle, tree)");
            std::process::exit(2);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    std::future::pending::<()>().await;
}
