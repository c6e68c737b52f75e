//! A tokio process that replaces its program while being observed: after
//! argv[1] ms (default 1000) it execs argv[2..] (default `sleep 60`). An
//! observer must not report the old program's tasks as the new one's.
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::time::Duration;

async fn ticker() {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let after: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let cmd: Vec<String> = if args.len() > 2 {
        args[2..].to_vec()
    } else {
        vec!["sleep".into(), "60".into()]
    };
    tokio::spawn(ticker());
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_millis(after)).await;
    let err = std::process::Command::new(&cmd[0]).args(&cmd[1..]).exec();
    panic!("exec {cmd:?}: {err}");
}
