//! Ping-pong microbenchmark for bench/run.sh: two tasks bounce one message
//! over two bounded mpsc channels on a 2-worker multi_thread runtime, for a
//! fixed time. Every round trip is two polls (one per task) and two wakes,
//! all on the critical path, so the time per poll is the cost of one
//! tokio poll + wake + channel hand-off, and any cost added per poll or per
//! wake shows up in full in the round-trip rate.
//!
//!     bench_pingpong SECONDS [spawn|mixed]
//!
//! With `spawn`, one task instead spawns an empty task and awaits its
//! JoinHandle, again and again: `polls` then counts spawns (the cost of a
//! spawn, its one poll and the join), for taskscope's per-spawn probe.
//!
//! With `mixed`, three tasks each compute for a fixed time per poll (600,
//! 200 and 50 us) then sleep 1 ms, again and again: polls long next to a
//! trap, and busy shares the program measures itself, printed as
//! `busy_pct_heavy= busy_pct_medium= busy_pct_light=` (% of the run each
//! task spent computing): the truth sampled mode's estimates are held to.
//!
//! Prints `ready PID`, builds the runtime, then waits for one line on stdin
//! (so an observer can attach first), runs for SECONDS, and prints
//!
//!     result round_trips=N polls=N secs=S polls_per_s=R ns_per_poll=T
//!
//! where polls counts every poll of the two tasks (each is wrapped in a
//! counter, so it equals the number of tokio `raw::poll` calls for them).
//! It then stays alive until stdin is closed (the observer may still be
//! attached) and exits; it never lives longer than SECONDS + 120 s.
use std::future::Future;
use std::io::{BufRead, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Counts the polls of the future it wraps.
struct Counted<F> {
    inner: F,
    polls: u64,
}

impl<F: Future> Future for Counted<F> {
    type Output = (F::Output, u64);
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned; it is never moved out.
        let this = unsafe { self.get_unchecked_mut() };
        this.polls += 1;
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        match inner.poll(cx) {
            Poll::Ready(v) => Poll::Ready((v, this.polls)),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn counted<F: Future>(inner: F) -> Counted<F> {
    Counted { inner, polls: 0 }
}

/// Sends n, waits for n + 1, until the deadline; returns the round trips.
async fn pinger(tx: mpsc::Sender<u64>, mut rx: mpsc::Receiver<u64>, deadline: Instant) -> u64 {
    let mut n = 0u64;
    loop {
        tx.send(n).await.unwrap();
        n = rx.recv().await.unwrap();
        if n % 256 == 0 && Instant::now() >= deadline {
            return n;
        }
    }
}

/// Computes for `work` (a busy loop), sleeps 1 ms, until the deadline;
/// returns the time spent computing.
async fn spin_sleep(work: Duration, deadline: Instant) -> Duration {
    let mut busy = Duration::ZERO;
    loop {
        let t = Instant::now();
        while t.elapsed() < work {
            std::hint::spin_loop();
        }
        busy += t.elapsed();
        if Instant::now() >= deadline {
            return busy;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn heavy(deadline: Instant) -> Duration {
    spin_sleep(Duration::from_micros(600), deadline).await
}

async fn medium(deadline: Instant) -> Duration {
    spin_sleep(Duration::from_micros(200), deadline).await
}

async fn light(deadline: Instant) -> Duration {
    spin_sleep(Duration::from_micros(50), deadline).await
}

/// Answers every n with n + 1 until the pinger hangs up.
async fn ponger(mut rx: mpsc::Receiver<u64>, tx: mpsc::Sender<u64>) {
    while let Some(n) = rx.recv().await {
        if tx.send(n + 1).await.is_err() {
            break;
        }
    }
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0 && *s <= 600.0)
        .unwrap_or_else(|| {
            eprintln!("usage: bench_pingpong SECONDS (0 < SECONDS <= 600)");
            std::process::exit(2);
        });
    // Bounded lifetime, whatever the driver does.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(secs + 120.0));
        eprintln!("bench_pingpong: lifetime exceeded, exiting");
        std::process::exit(3);
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();

    let spawn_mode = std::env::args().nth(2).as_deref() == Some("spawn");
    let mixed_mode = std::env::args().nth(2).as_deref() == Some("mixed");
    let mut busy_pct = String::new();
    let stdin = std::io::stdin();
    let mut line = String::new();
    stdin.lock().read_line(&mut line).unwrap();

    let (round_trips, polls, elapsed) = if mixed_mode {
        let (polls, elapsed, shares) = rt.block_on(async move {
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(secs);
            let h = tokio::spawn(counted(heavy(deadline)));
            let m = tokio::spawn(counted(medium(deadline)));
            let l = tokio::spawn(counted(light(deadline)));
            let (bh, ph) = h.await.unwrap();
            let (bm, pm) = m.await.unwrap();
            let (bl, pl) = l.await.unwrap();
            let elapsed = start.elapsed().as_secs_f64();
            let pct = |d: Duration| 100.0 * d.as_secs_f64() / elapsed;
            (ph + pm + pl, elapsed, [pct(bh), pct(bm), pct(bl)])
        });
        busy_pct = format!(
            " busy_pct_heavy={:.2} busy_pct_medium={:.2} busy_pct_light={:.2}",
            shares[0], shares[1], shares[2]
        );
        (polls, polls, elapsed)
    } else if spawn_mode {
        rt.block_on(async move {
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(secs);
            let spawner = tokio::spawn(async move {
                let mut n = 0u64;
                loop {
                    tokio::spawn(async {}).await.unwrap();
                    n += 1;
                    if n % 256 == 0 && Instant::now() >= deadline {
                        return n;
                    }
                }
            });
            let n = spawner.await.unwrap();
            (n, n, start.elapsed().as_secs_f64())
        })
    } else {
        rt.block_on(async move {
        let (ping_tx, ping_rx) = mpsc::channel::<u64>(16);
        let (pong_tx, pong_rx) = mpsc::channel::<u64>(16);
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(secs);
        let a = tokio::spawn(counted(pinger(ping_tx, pong_rx, deadline)));
        let b = tokio::spawn(counted(ponger(ping_rx, pong_tx)));
        let (rts, pa) = a.await.unwrap();
        let ((), pb) = b.await.unwrap();
        (rts, pa + pb, start.elapsed().as_secs_f64())
        })
    };
    println!(
        "result round_trips={} polls={} secs={:.6} polls_per_s={:.1} ns_per_poll={:.1}{}",
        round_trips,
        polls,
        elapsed,
        polls as f64 / elapsed,
        elapsed * 1e9 / polls as f64,
        busy_pct
    );
    std::io::stdout().flush().unwrap();

    // Stay alive (idle) until the driver closes stdin.
    for l in stdin.lock().lines() {
        if l.is_err() {
            break;
        }
    }
    drop(rt);
}
