//! Await-chain target for taskscope's DWARF walk (tests/unit/test_dwarf.c).
//! Every task parks at a known `.await` and stays there; the test asserts
//! those lines (the `line N` comments), so keep them in step.
//! Prints `ready <pid>` once every task has reached its await point.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

async fn db_query(user_id: u64, table: &'static str) -> u64 {
    let attempt: u32 = std::hint::black_box(7);
    tokio::time::sleep(Duration::from_secs(3600)).await; // line 14
    user_id + attempt as u64 + table.len() as u64
}

async fn fetch_user_data(user_id: u64) -> u64 {
    let cached = std::hint::black_box(false);
    let owner = String::from("alice");
    let rows = db_query(user_id, "users").await; // line 21
    rows + owner.len() as u64 + cached as u64
}

async fn handle_request(request_id: u32) -> u64 {
    let route: &str = std::hint::black_box("/api/users/42");
    tokio::task::yield_now().await; // line 27 (passed before parking)
    let n = fetch_user_data(42).await; // line 28
    n + route.len() as u64 + request_id as u64
}

async fn short_timer(label: i32) {
    tokio::time::sleep(Duration::from_secs(30)).await; // line 33
    std::hint::black_box(label);
}

async fn hold_lock(m: Arc<Mutex<u64>>) {
    let mut g = m.lock().await; // line 38
    *g += 1;
    tokio::time::sleep(Duration::from_secs(3600)).await; // line 40
    *g += 1;
}

async fn lock_waiter(m: Arc<Mutex<u64>>) {
    let mut g = m.lock().await; // line 45
    *g += 1;
}

async fn channel_reader(mut rx: mpsc::Receiver<u64>) {
    let mut sum: u64 = 0;
    while let Some(v) = rx.recv().await { // line 51
        sum += v;
    }
    std::hint::black_box(sum);
}

async fn channel_writer(tx: mpsc::Sender<u64>) {
    tx.send(1).await.ok(); // line 58 (fills the channel)
    tx.send(2).await.ok(); // line 59
}

async fn never_finishes() {
    std::future::pending::<()>().await; // line 63
}

async fn join_waiter() {
    let h = tokio::spawn(never_finishes());
    let _ = h.await; // line 68
}

async fn maybe_inner(flag: bool) -> u64 {
    std::future::pending::<()>().await; // line 72
    flag as u64
}

/// A combinator. Coroutines expose no niche in rustc 1.95 (an `Option` of
/// one adds a tag), but a `Pin<Box<F>>` does: `Done` is the null pointer,
/// so `Step`'s variant part has the pointer as its discriminant, `Done` =
/// 0 and `Running` as the default variant without a value (see DWARF).
enum Step<F> {
    Running(Pin<Box<F>>),
    Done,
}

impl<F: Future> Future for Step<F> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let ready = match &mut *self {
            Step::Running(f) => f.as_mut().poll(cx).is_ready(),
            Step::Done => true,
        };
        if ready {
            *self = Step::Done;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

async fn niche_holder() {
    Step::Running(Box::pin(maybe_inner(true))).await; // line 101
}

async fn boxed_dyn() {
    let f: Pin<Box<dyn Future<Output = u64> + Send>> = Box::pin(db_query(9, "boxed"));
    let _ = f.await; // line 106
}

async fn with_timeout() {
    let _ = tokio::time::timeout(Duration::from_secs(1800), db_query(5, "timeout")).await; // line 110
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    #[allow(dead_code)]
    Idle,
    Fast,
}

async fn enum_vars(mode: Mode, retry: Option<u32>, last: Option<u32>) {
    tokio::time::sleep(Duration::from_secs(3600)).await; // line 121
    std::hint::black_box((mode, retry, last));
}

#[tokio::main(worker_threads = 2)]
async fn main() {
    tokio::spawn(handle_request(7));
    tokio::spawn(short_timer(-5));
    let m = Arc::new(Mutex::new(0u64));
    tokio::spawn(hold_lock(m.clone()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    tokio::spawn(lock_waiter(m.clone()));
    let (tx, rx) = mpsc::channel::<u64>(4);
    tokio::spawn(channel_reader(rx));
    let (full_tx, full_rx) = mpsc::channel::<u64>(1);
    tokio::spawn(channel_writer(full_tx));
    tokio::spawn(join_waiter());
    tokio::spawn(niche_holder());
    tokio::spawn(boxed_dyn());
    tokio::spawn(with_timeout());
    tokio::spawn(enum_vars(Mode::Fast, Some(3), None));
    let batch: u16 = 12;
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3600)).await; // line 144
        std::hint::black_box(batch);
    });
    // A runtime nobody drives: its task stays Unresumed.
    let idle_rt = Box::leak(Box::new(
        tokio::runtime::Builder::new_current_thread().build().unwrap(),
    ));
    idle_rt.spawn(never_polled(77));
    tokio::spawn(joiner());
    tokio::spawn(selector());
    let notify = Arc::new(tokio::sync::Notify::new());
    tokio::spawn(notify_waiter(notify.clone()));
    let (otx, orx) = tokio::sync::oneshot::channel::<u32>();
    tokio::spawn(oneshot_waiter(orx));
    let lock = Arc::new(tokio::sync::RwLock::new(0u32));
    tokio::spawn(rwlock_reader(lock.clone()));
    tokio::time::sleep(Duration::from_millis(20)).await;
    tokio::spawn(rwlock_writer(lock.clone()));
    tokio::spawn(semaphore_waiter(Arc::new(tokio::sync::Semaphore::new(0))));
    let (wtx, wrx) = tokio::sync::watch::channel(0u32);
    tokio::spawn(watch_waiter(wrx));
    let (btx, brx) = tokio::sync::broadcast::channel::<u32>(4);
    tokio::spawn(broadcast_waiter(brx));
    let (utx, urx) = mpsc::unbounded_channel::<u32>();
    tokio::spawn(unbounded_reader(urx));
    let senders = (notify, otx, wtx, btx, utx);
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("ready {}", std::process::id());
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let _ = tx.try_send(0);
        std::hint::black_box(&full_rx);
        std::hint::black_box(&senders);
    }
}

async fn never_polled(id: u32) { // line 180 (Unresumed: the fn's line)
    tokio::time::sleep(Duration::from_secs(id as u64)).await;
}

async fn quick(n: u64) -> u64 {
    n + 1
}

async fn joiner() {
    let (a, b) = tokio::join!(quick(1), db_query(3, "join")); // line 189
    std::hint::black_box((a, b));
}

async fn selector() {
    tokio::select! { // line 194
        v = db_query(4, "select") => { std::hint::black_box(v); }
        _ = never_finishes() => {}
    }
}

async fn notify_waiter(n: Arc<tokio::sync::Notify>) {
    n.notified().await; // line 201
}

async fn oneshot_waiter(rx: tokio::sync::oneshot::Receiver<u32>) {
    let _ = rx.await; // line 205
}

async fn rwlock_reader(l: Arc<tokio::sync::RwLock<u32>>) {
    let r = l.read().await; // line 209
    tokio::time::sleep(Duration::from_secs(3600)).await; // line 210
    std::hint::black_box(*r);
}

async fn rwlock_writer(l: Arc<tokio::sync::RwLock<u32>>) {
    let mut w = l.write().await; // line 215
    *w += 1;
}

async fn semaphore_waiter(s: Arc<tokio::sync::Semaphore>) {
    let _p = s.acquire().await; // line 220
}

async fn watch_waiter(mut rx: tokio::sync::watch::Receiver<u32>) {
    let _ = rx.changed().await; // line 224
}

async fn broadcast_waiter(mut rx: tokio::sync::broadcast::Receiver<u32>) {
    let _ = rx.recv().await; // line 228
}

async fn unbounded_reader(mut rx: mpsc::UnboundedReceiver<u32>) {
    let _ = rx.recv().await; // line 232
}
