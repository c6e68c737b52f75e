//! hyper 0.14 "hello world" HTTP/1.1 server (keep-alive, one tokio task per
//! connection, spawned by hyper) for bench/run.sh.
//!
//!     bench_hyper [PORT [MAX_SECONDS]]
//!
//! Listens on 127.0.0.1:PORT only (0, the default, picks a free port),
//! prints `listening 127.0.0.1:PORT` then `ready PID`, and exits after
//! MAX_SECONDS (default 900) whatever happens.
use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Request, Response, Server};
use std::convert::Infallible;
use std::io::Write;
use std::time::Duration;

async fn hello(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::builder()
        .header("Content-Type", "text/plain")
        .body(Body::from("Hello, world!"))
        .unwrap())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let max_secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(900);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(max_secs));
        std::process::exit(0);
    });

    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let make = make_service_fn(|_conn| async { Ok::<_, Infallible>(service_fn(hello)) });
    let server = Server::bind(&addr).http1_only(true).tcp_nodelay(true).serve(make);
    println!("listening {}", server.local_addr());
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    if let Err(e) = server.await {
        eprintln!("bench_hyper: {e}");
    }
}
