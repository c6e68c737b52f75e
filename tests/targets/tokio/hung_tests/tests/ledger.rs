//! Integration tests `taskscope run` watches (tests/e2e/test_run.py).
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

#[tokio::test]
async fn passes_quickly() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tokio::spawn(async move { tx.send(7).await.unwrap() });
    assert_eq!(rx.recv().await, Some(7));
    println!("passes_quickly: got 7");
}

/// A task takes the ledger's lock, then waits forever for an audit that
/// never comes; the test waits for the lock.
#[tokio::test]
#[ignore]
async fn reconciles_ledger_after_audit() {
    let ledger = Arc::new(Mutex::new(0u64));
    let (_audit_tx, mut audit_rx) = mpsc::channel::<()>(1);
    let held = ledger.clone();
    tokio::spawn(async move {
        let mut guard = held.lock().await;
        audit_rx.recv().await; // the test keeps _audit_tx and never sends
        *guard += 1;
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let total = ledger.lock().await;
    assert_eq!(*total, 1);
}

/// Waits for a reply on a channel whose sender is kept but never used.
#[tokio::test]
#[ignore]
async fn waits_for_settlement_reply() {
    let (reply_tx, mut reply_rx) = mpsc::channel::<u64>(4);
    let reply = reply_rx.recv().await;
    drop(reply_tx);
    assert_eq!(reply, Some(1));
}
