//! A small HTTP/1.1 keep-alive server on tokio, for bench/run.sh when hyper
//! is not available: one task per connection, requests parsed up to the
//! blank line (GET/HEAD without body, pipelining allowed), a fixed 13-byte
//! "Hello, world!" answer, `Connection: close` honoured.
//!
//!     bench_http [PORT [MAX_SECONDS]]
//!
//! Listens on 127.0.0.1:PORT only (0, the default, picks a free port) and
//! prints `listening 127.0.0.1:PORT` then `ready PID`. Exits after
//! MAX_SECONDS (default 900) whatever happens, so it never outlives a
//! benchmark by long.
use std::io::Write;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

fn find_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn wants_close(head: &[u8]) -> bool {
    let s = String::from_utf8_lossy(head).to_ascii_lowercase();
    s.contains("\r\nconnection: close")
}

async fn serve(mut sock: TcpStream) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut buf = vec![0u8; 8192];
    let mut filled = 0usize;
    let mut out = Vec::with_capacity(4096);
    loop {
        let n = sock.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut start = 0;
        let mut close = false;
        while let Some(end) = find_end(&buf[start..filled]) {
            close |= wants_close(&buf[start..start + end]);
            out.extend_from_slice(RESPONSE);
            start += end;
        }
        if !out.is_empty() {
            sock.write_all(&out).await?;
            out.clear();
        }
        if close {
            return Ok(());
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            return Ok(()); // header larger than 8 KiB: drop the connection
        }
    }
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

    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    println!("listening {}", listener.local_addr().unwrap());
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    loop {
        let (sock, _) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => continue,
        };
        tokio::spawn(async move {
            let _ = serve(sock).await;
        });
    }
}
