//! Fires every taskscope probe, for checking the crate with readelf -n,
//! bpftrace or libbpf.
//!
//!     taskscope-usdt-fire [N]          fire each probe N times (default 1)
//!                                      after every probe is enabled
//!                                      (30 s max), printing each firing as
//!                                      "expect <probe> <args>" (hex)
//!     taskscope-usdt-fire loop         fire each probe forever, once a
//!                                      second (for trying bpftrace by hand)
//!     taskscope-usdt-fire stack N [PC...]
//!                                      N calls of a function that keeps
//!                                      live data on its stack across an
//!                                      attached poll_start, then the bytes
//!                                      now at each note PC (e8: the kernel
//!                                      made the nop5 a call)
use std::ffi::CStr;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use taskscope_usdt as probe;
use taskscope_usdt::ResourceKind;

fn all_enabled() -> bool {
    use probe::enabled::*;
    task_spawn() && poll_start() && poll_end() && wake() && task_drop() && resource_new()
        && wait_begin() && wait_end() && acquire() && release() && channel_len()
        && abi_version()
}

fn fire_all(round: u64) {
    // High bits set on purpose: a 4-byte read or a sign slip shows.
    let task = black_box(0xfeed_face_0000_0000 | round);
    let parent = black_box(0x8000_0000_0000_0000 | round);
    let chan = black_box(0x7f00_dead_0000_0000 | round);
    let (name, location): (&CStr, &CStr) = (c"rust-task", c"usdt/rust/src/bin/fire.rs:33");
    let chan_name: &CStr = c"jobs";

    probe::announce_abi();
    println!("expect abi_version {:x}", probe::ABI_VERSION);
    probe::task_spawn(task, parent, name, location);
    println!("expect task_spawn {task:x} {parent:x} {} {}",
             name.to_str().unwrap(), location.to_str().unwrap());
    probe::poll_start(task);
    println!("expect poll_start {task:x}");
    probe::poll_end(task, false);
    println!("expect poll_end {task:x} 0");
    probe::wake(task, parent);
    println!("expect wake {task:x} {parent:x}");
    probe::poll_end(task, true);
    println!("expect poll_end {task:x} 1");
    probe::resource_new(chan, ResourceKind::Channel, chan_name, 16);
    println!("expect resource_new {chan:x} {:x} jobs {:x}", ResourceKind::Channel as u32, 16);
    probe::wait_begin(task, chan);
    println!("expect wait_begin {task:x} {chan:x}");
    probe::wait_end(task, chan);
    println!("expect wait_end {task:x} {chan:x}");
    probe::acquire(task, chan);
    println!("expect acquire {task:x} {chan:x}");
    probe::channel_len(chan, round + 0x1_0000_0000);
    println!("expect channel_len {chan:x} {:x}", round + 0x1_0000_0000);
    probe::release(task, chan);
    println!("expect release {task:x} {chan:x}");
    probe::task_drop(task);
    println!("expect task_drop {task:x}");
}

const LIVE_WORDS: usize = 12;

/// Keeps live data on the stack across a probe and returns how many words
/// changed. In Rust the site is in its own function, so this caller makes a
/// call on the enabled path and keeps its data above %rsp, never in the red
/// zone (the C test, usdt/test/redzone.c, covers sites inlined into a leaf).
#[inline(never)]
fn keep_stack_data(seed: u64) -> u64 {
    let mut live = [0u64; LIVE_WORDS];
    for (i, w) in live.iter_mut().enumerate() {
        // Volatile so the array lives in memory (the red zone) and every
        // read after the site is a real load.
        unsafe { std::ptr::write_volatile(w, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) + i as u64) };
    }
    probe::poll_start(seed);
    let mut changed = 0;
    for (i, w) in live.iter().enumerate() {
        let v = unsafe { std::ptr::read_volatile(w) };
        changed += (v != seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) + i as u64) as u64;
    }
    changed
}

extern "C" {
    /// The ELF header: where link address 0 of this PIE was loaded.
    static __ehdr_start: u8;
}

fn print_site(pc: &str) {
    let Ok(offset) = u64::from_str_radix(pc.trim_start_matches("0x"), 16) else {
        return;
    };
    // SAFETY: offset is a note PC of this executable, so inside its text.
    let bytes = unsafe {
        let site = (&raw const __ehdr_start).add(offset as usize);
        std::slice::from_raw_parts(site, 5)
    };
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    println!("site {pc} bytes {}", hex.join(" "));
}

fn wait_for(enabled: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !enabled() {
        if start.elapsed() > Duration::from_secs(30) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("loop") => {
            for round in 0.. {
                fire_all(round);
                std::thread::sleep(Duration::from_secs(1));
            }
            ExitCode::SUCCESS
        }
        Some("stack") => {
            let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
            if !wait_for(probe::enabled::poll_start) {
                println!("semaphore-timeout");
                return ExitCode::from(3);
            }
            let (mut calls, mut words) = (0u64, 0u64);
            for k in 1..=n {
                let changed = keep_stack_data(black_box(k));
                words += changed;
                calls += (changed != 0) as u64;
            }
            println!("mode rust calls {n} corrupted_calls {calls} corrupted_words {words}");
            for pc in &args[3..] {
                print_site(pc);
            }
            ExitCode::SUCCESS
        }
        other => {
            let n: u64 = other.and_then(|s| s.parse().ok()).unwrap_or(1);
            if !wait_for(all_enabled) {
                println!("semaphore-timeout");
                return ExitCode::from(3);
            }
            for round in 0..n {
                fire_all(round);
            }
            ExitCode::SUCCESS
        }
    }
}
