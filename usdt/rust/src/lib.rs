//! taskscope USDT probes for async runtimes written in Rust.
//!
//! The same ABI as `usdt/taskscope.h` (provider `taskscope`, same probes,
//! argument order, types, semaphores and site layout; see `usdt/README.md`),
//! written with `core::arch::asm!` and no dependencies, so a runtime can emit
//! probes that `readelf -n`, bpftrace `usdt:` probes, libbpf and taskscope
//! understand.
//!
//! ```no_run
//! use taskscope_usdt as probe;
//! probe::task_spawn(7, 0, c"accept_loop", c"src/server.rs:42");
//! probe::poll_start(7);
//! probe::poll_end(7, false);
//! if probe::enabled::resource_new() {
//!     // build an expensive name only when someone listens
//! }
//! ```
//!
//! Every probe function tests its semaphore first: with nobody attached a
//! probe costs one load and a not-taken branch. Probes are emitted on
//! x86_64 Linux only; elsewhere they compile to nothing and `enabled::*`
//! return `false`.
#![no_std]

use core::ffi::CStr;

// A macro so the semaphore group name below can spell it too.
macro_rules! abi_version {
    () => {
        1
    };
}

/// Bumped on every append to the ABI; never on anything else.
pub const ABI_VERSION: u32 = abi_version!();

/// `resource_new` kind; the numbers are ABI.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    Mutex = 1,
    RwLock = 2,
    Semaphore = 3,
    Channel = 4,
    Other = 5,
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    // Semaphores exactly as taskscope.h defines them (see the comments
    // there): unsigned shorts in .probes, in one page-aligned COMDAT group
    // per ABI version that every copy of this crate or of the C header
    // emits and the linker keeps once; hidden, so each shared object has its
    // own; weak, in case two ABI versions meet. The page alignment is what
    // makes them work under lld, rustc's default linker, for a process
    // started after the tracer attached.
    macro_rules! semaphores {
        ($($name:literal),* $(,)?) => {
            core::arch::global_asm!(
                concat!(".pushsection .probes, \"awG\", @progbits, taskscope_semaphores_v",
                        abi_version!(), ", comdat"),
                ".balign 4096",
                $(
                    concat!(".weak taskscope_", $name, "_semaphore"),
                    concat!(".hidden taskscope_", $name, "_semaphore"),
                    concat!(".type taskscope_", $name, "_semaphore, @object"),
                    concat!(".size taskscope_", $name, "_semaphore, 2"),
                    concat!("taskscope_", $name, "_semaphore: .2byte 0"),
                )*
                ".popsection",
                options(att_syntax)
            );
        };
    }
    semaphores!(
        "task_spawn", "poll_start", "poll_end", "wake", "task_drop", "resource_new",
        "wait_begin", "wait_end", "acquire", "release", "channel_len", "abi_version",
    );

    // Read with one rip-relative load in assembly: an `extern static` would
    // go through the GOT (two loads) because rustc cannot mark it
    // dso_local. No `pure`: each call must load again (volatile), so a loop
    // sees an observer that attaches mid-loop.
    macro_rules! is_enabled {
        ($name:ident) => {{
            let count: u32;
            // SAFETY: reads two bytes of this object's .probes section.
            unsafe {
                core::arch::asm!(
                    concat!("movzwl taskscope_", stringify!($name), "_semaphore(%rip), {0:e}"),
                    out(reg) count,
                    options(att_syntax, nostack, readonly, preserves_flags)
                );
            }
            count != 0
        }};
    }
    pub(crate) use is_enabled;

    // The site and its note in one asm! block, laid out exactly as in
    // taskscope.h (see the comments there):
    // - the nop5 is the literal 0f 1f 44 00 00 the kernel optimises into a
    //   call, on an 8-byte boundary so it never straddles a page;
    // - %rsp steps over the 128-byte red zone around it, because that call
    //   pushes below %rsp; every argument is a register operand, so no
    //   %rsp-relative location is described;
    // - numeric labels, so copies made by inlining each carry their note;
    //   "?" keeps the note in the code's COMDAT group.
    // `nostack` is honest: the block itself writes nothing to the stack, and
    // what the kernel's call writes lands below the red zone, as a signal
    // frame would. It lets the surrounding function keep its red zone, which
    // is exactly what the %rsp step protects. No `nomem`: the site is a
    // compiler barrier, so strings are in memory when the probe reads them.
    macro_rules! site {
        ($name:literal, $args:literal, $($operands:tt)*) => {
            core::arch::asm!(
                "lea -128(%rsp), %rsp",
                ".balign 8",
                "990: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00",
                "lea 128(%rsp), %rsp",
                ".pushsection .note.stapsdt, \"?\", \"note\"",
                ".balign 4",
                ".4byte 992f-991f, 994f-993f, 3",
                "991: .asciz \"stapsdt\"",
                "992: .balign 4",
                "993: .8byte 990b",
                ".8byte _.stapsdt.base",
                concat!(".8byte taskscope_", $name, "_semaphore"),
                ".asciz \"taskscope\"",
                concat!(".asciz \"", $name, "\""),
                concat!(".asciz \"", $args, "\""),
                "994: .balign 4",
                ".popsection",
                ".ifndef _.stapsdt.base",
                ".pushsection .stapsdt.base, \"aG\", @progbits, .stapsdt.base, comdat",
                ".weak _.stapsdt.base",
                ".hidden _.stapsdt.base",
                "_.stapsdt.base: .space 1",
                ".size _.stapsdt.base, 1",
                ".popsection",
                ".endif",
                $($operands)*
                options(att_syntax, nostack)
            )
        };
    }
    pub(crate) use site;
}

// One probe site; the operands are named a0..a3 to match the argument
// string, which is spelled out per probe below because it is the ABI.
macro_rules! fire {
    ($name:literal, $args:literal $(, $n:ident = $v:expr)*) => {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        // SAFETY: the site reads its register operands and restores %rsp;
        // it touches no Rust-visible memory.
        unsafe {
            imp::site!($name, $args, $($n = in(reg) $v,)*);
        }
    };
}

macro_rules! gate {
    ($name:ident, $body:block) => {
        if enabled::$name() $body
    };
}

/// Whether anyone listens on each probe: guard argument setup that costs
/// more than the probe's integer arguments.
pub mod enabled {
    macro_rules! enabled_fns {
        ($($name:ident),* $(,)?) => {
            $(
                #[inline(always)]
                pub fn $name() -> bool {
                    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
                    return crate::imp::is_enabled!($name);
                    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
                    return false;
                }
            )*
        };
    }
    enabled_fns!(
        task_spawn,
        poll_start,
        poll_end,
        wake,
        task_drop,
        resource_new,
        wait_begin,
        wait_end,
        acquire,
        release,
        channel_len,
        abi_version,
    );
}

/// A new task exists. `name`: what the runtime calls it; `location`:
/// where it was spawned (`file:line`).
#[inline(always)]
pub fn task_spawn(task_id: u64, parent_id: u64, name: &CStr, location: &CStr) {
    gate!(task_spawn, {
        fire!("task_spawn", "8@{a0:r} 8@{a1:r} 8@{a2:r} 8@{a3:r}",
              a0 = task_id, a1 = parent_id, a2 = name.as_ptr(), a3 = location.as_ptr());
    })
}

/// A worker thread starts polling the task.
#[inline(always)]
pub fn poll_start(task_id: u64) {
    gate!(poll_start, {
        fire!("poll_start", "8@{a0:r}", a0 = task_id);
    })
}

/// The poll returned `Ready` (`true`) or `Pending` (`false`).
#[inline(always)]
pub fn poll_end(task_id: u64, ready: bool) {
    gate!(poll_end, {
        fire!("poll_end", "8@{a0:r} 4@{a1:e}", a0 = task_id, a1 = ready as u32);
    })
}

/// `task_id` was woken, by the running task `waker_task_id` (0: not a task).
#[inline(always)]
pub fn wake(task_id: u64, waker_task_id: u64) {
    gate!(wake, {
        fire!("wake", "8@{a0:r} 8@{a1:r}", a0 = task_id, a1 = waker_task_id);
    })
}

/// The task is gone; its id may be reused after this.
#[inline(always)]
pub fn task_drop(task_id: u64) {
    gate!(task_drop, {
        fire!("task_drop", "8@{a0:r}", a0 = task_id);
    })
}

/// A lock, semaphore or channel exists. `capacity`: 0 if unbounded or n/a.
#[inline(always)]
pub fn resource_new(res_id: u64, kind: ResourceKind, name: &CStr, capacity: u64) {
    gate!(resource_new, {
        fire!("resource_new", "8@{a0:r} 4@{a1:e} 8@{a2:r} 8@{a3:r}",
              a0 = res_id, a1 = kind as u32, a2 = name.as_ptr(), a3 = capacity);
    })
}

/// The task starts waiting for the resource (the contended path).
#[inline(always)]
pub fn wait_begin(task_id: u64, res_id: u64) {
    gate!(wait_begin, {
        fire!("wait_begin", "8@{a0:r} 8@{a1:r}", a0 = task_id, a1 = res_id);
    })
}

/// The task stops waiting for the resource (acquired it, or gave up).
#[inline(always)]
pub fn wait_end(task_id: u64, res_id: u64) {
    gate!(wait_end, {
        fire!("wait_end", "8@{a0:r} 8@{a1:r}", a0 = task_id, a1 = res_id);
    })
}

/// The task now holds the resource (a guard, a permit).
#[inline(always)]
pub fn acquire(task_id: u64, res_id: u64) {
    gate!(acquire, {
        fire!("acquire", "8@{a0:r} 8@{a1:r}", a0 = task_id, a1 = res_id);
    })
}

/// The task no longer holds the resource.
#[inline(always)]
pub fn release(task_id: u64, res_id: u64) {
    gate!(release, {
        fire!("release", "8@{a0:r} 8@{a1:r}", a0 = task_id, a1 = res_id);
    })
}

/// The channel now holds `len` queued items.
#[inline(always)]
pub fn channel_len(res_id: u64, len: u64) {
    gate!(channel_len, {
        fire!("channel_len", "8@{a0:r} 8@{a1:r}", a0 = res_id, a1 = len);
    })
}

/// Says which ABI this binary speaks ([`ABI_VERSION`]). Observers cannot
/// read it statically (arguments live in registers), so call it wherever it
/// is cheap to call often (a worker parking, a timer tick): one load until
/// someone attaches.
#[inline(always)]
pub fn announce_abi() {
    gate!(abi_version, {
        fire!("abi_version", "4@{a0:e}", a0 = ABI_VERSION);
    })
}
