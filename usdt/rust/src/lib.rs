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
// Named labels are safe here only because each one lives in a single
// never-inlined function; see `site!`.
#[allow(named_asm_labels)]
mod imp {
    use core::ffi::c_char;

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

    // The site and its note in one asm! block, laid out as in taskscope.h
    // (see the comments there): the literal nop5 the kernel optimises into
    // a call, on an 8-byte boundary so it never straddles a page; %rsp
    // stepped over the 128-byte red zone around it, because that call
    // pushes below %rsp; register operands only, so no %rsp-relative
    // location is described; the note tied to the site's section ("o") and
    // group ("?").
    //
    // Unlike C, each probe has one site, in a never-inlined function below.
    // SHF_LINK_ORDER needs a label name per site, and asm! has no unique-id
    // operand (C's %=), so a site must not be duplicated: one function, one
    // label. Without "o", lld (rustc's default, always with --gc-sections)
    // keeps the note of a dead site with a bogus address, and libbpf then
    // refuses the whole probe. One site per probe also keeps attaching
    // cheap: generic code monomorphised a hundred times still makes one
    // uprobe. The price is a call on the enabled path only.
    //
    // `nostack` is honest: the block itself writes nothing to the stack, and
    // what the kernel's call writes lands below the red zone, as a signal
    // frame would. No `nomem`: the site is a compiler barrier, so strings are
    // in memory when the probe reads them.
    macro_rules! site {
        ($name:literal, $args:literal, $($operands:tt)*) => {
            core::arch::asm!(
                "lea -128(%rsp), %rsp",
                ".balign 8",
                concat!(".Ltaskscope_", $name, "_site:"),
                ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00",
                "lea 128(%rsp), %rsp",
                concat!(".pushsection .note.stapsdt, \"?o\", \"note\", .Ltaskscope_",
                        $name, "_site"),
                ".balign 4",
                ".4byte 992f-991f, 994f-993f, 3",
                "991: .asciz \"stapsdt\"",
                "992: .balign 4",
                concat!("993: .8byte .Ltaskscope_", $name, "_site"),
                ".8byte _.stapsdt.base",
                concat!(".8byte taskscope_", $name, "_semaphore"),
                ".asciz \"taskscope\"",
                concat!(".asciz \"", $name, "\""),
                concat!(".asciz \"", $args, "\""),
                "994: .balign 4",
                ".popsection",
                // Retained: only the notes refer to it, and they are not
                // allocated, so --gc-sections would drop it.
                ".ifndef _.stapsdt.base",
                ".pushsection .stapsdt.base, \"aGR\", @progbits, .stapsdt.base, comdat",
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

    // SAFETY (all sites): the site reads its register operands and restores
    // %rsp; it touches no memory the program can see.

    #[cold]
    #[inline(never)]
    pub fn task_spawn(task_id: u64, parent_id: u64, name: *const c_char, location: *const c_char) {
        unsafe {
            site!("task_spawn", "8@{a0:r} 8@{a1:r} 8@{a2:r} 8@{a3:r}",
                  a0 = in(reg) task_id, a1 = in(reg) parent_id,
                  a2 = in(reg) name, a3 = in(reg) location,);
        }
    }

    #[cold]
    #[inline(never)]
    pub fn poll_start(task_id: u64) {
        unsafe { site!("poll_start", "8@{a0:r}", a0 = in(reg) task_id,) }
    }

    #[cold]
    #[inline(never)]
    pub fn poll_end(task_id: u64, ready: u32) {
        unsafe { site!("poll_end", "8@{a0:r} 4@{a1:e}", a0 = in(reg) task_id, a1 = in(reg) ready,) }
    }

    #[cold]
    #[inline(never)]
    pub fn wake(task_id: u64, waker_task_id: u64) {
        unsafe { site!("wake", "8@{a0:r} 8@{a1:r}", a0 = in(reg) task_id, a1 = in(reg) waker_task_id,) }
    }

    #[cold]
    #[inline(never)]
    pub fn task_drop(task_id: u64) {
        unsafe { site!("task_drop", "8@{a0:r}", a0 = in(reg) task_id,) }
    }

    #[cold]
    #[inline(never)]
    pub fn resource_new(res_id: u64, kind: u32, name: *const c_char, capacity: u64) {
        unsafe {
            site!("resource_new", "8@{a0:r} 4@{a1:e} 8@{a2:r} 8@{a3:r}",
                  a0 = in(reg) res_id, a1 = in(reg) kind,
                  a2 = in(reg) name, a3 = in(reg) capacity,);
        }
    }

    #[cold]
    #[inline(never)]
    pub fn wait_begin(task_id: u64, res_id: u64) {
        unsafe { site!("wait_begin", "8@{a0:r} 8@{a1:r}", a0 = in(reg) task_id, a1 = in(reg) res_id,) }
    }

    #[cold]
    #[inline(never)]
    pub fn wait_end(task_id: u64, res_id: u64) {
        unsafe { site!("wait_end", "8@{a0:r} 8@{a1:r}", a0 = in(reg) task_id, a1 = in(reg) res_id,) }
    }

    #[cold]
    #[inline(never)]
    pub fn acquire(task_id: u64, res_id: u64) {
        unsafe { site!("acquire", "8@{a0:r} 8@{a1:r}", a0 = in(reg) task_id, a1 = in(reg) res_id,) }
    }

    #[cold]
    #[inline(never)]
    pub fn release(task_id: u64, res_id: u64) {
        unsafe { site!("release", "8@{a0:r} 8@{a1:r}", a0 = in(reg) task_id, a1 = in(reg) res_id,) }
    }

    #[cold]
    #[inline(never)]
    pub fn channel_len(res_id: u64, len: u64) {
        unsafe { site!("channel_len", "8@{a0:r} 8@{a1:r}", a0 = in(reg) res_id, a1 = in(reg) len,) }
    }

    #[cold]
    #[inline(never)]
    pub fn abi_version(version: u32) {
        unsafe { site!("abi_version", "4@{a0:e}", a0 = in(reg) version,) }
    }
}

// Elsewhere the probes compile to nothing.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[allow(unused_variables)]
mod imp {
    use core::ffi::c_char;

    macro_rules! is_enabled {
        ($name:ident) => {
            false
        };
    }
    pub(crate) use is_enabled;

    pub fn task_spawn(task_id: u64, parent_id: u64, name: *const c_char, location: *const c_char) {}
    pub fn poll_start(task_id: u64) {}
    pub fn poll_end(task_id: u64, ready: u32) {}
    pub fn wake(task_id: u64, waker_task_id: u64) {}
    pub fn task_drop(task_id: u64) {}
    pub fn resource_new(res_id: u64, kind: u32, name: *const c_char, capacity: u64) {}
    pub fn wait_begin(task_id: u64, res_id: u64) {}
    pub fn wait_end(task_id: u64, res_id: u64) {}
    pub fn acquire(task_id: u64, res_id: u64) {}
    pub fn release(task_id: u64, res_id: u64) {}
    pub fn channel_len(res_id: u64, len: u64) {}
    pub fn abi_version(version: u32) {}
}

/// Whether anyone listens on each probe: guard argument setup that costs
/// more than the probe's integer arguments.
pub mod enabled {
    macro_rules! enabled_fns {
        ($($name:ident),* $(,)?) => {
            $(
                #[inline(always)]
                pub fn $name() -> bool {
                    crate::imp::is_enabled!($name)
                }
            )*
        };
    }
    enabled_fns!(
        task_spawn, poll_start, poll_end, wake, task_drop, resource_new,
        wait_begin, wait_end, acquire, release, channel_len, abi_version,
    );
}

/// A new task exists. `name`: what the runtime calls it; `location`:
/// where it was spawned (`file:line`).
#[inline(always)]
pub fn task_spawn(task_id: u64, parent_id: u64, name: &CStr, location: &CStr) {
    if enabled::task_spawn() {
        imp::task_spawn(task_id, parent_id, name.as_ptr(), location.as_ptr());
    }
}

/// A worker thread starts polling the task.
#[inline(always)]
pub fn poll_start(task_id: u64) {
    if enabled::poll_start() {
        imp::poll_start(task_id);
    }
}

/// The poll returned `Ready` (`true`) or `Pending` (`false`).
#[inline(always)]
pub fn poll_end(task_id: u64, ready: bool) {
    if enabled::poll_end() {
        imp::poll_end(task_id, ready as u32);
    }
}

/// `task_id` was woken, by the running task `waker_task_id` (0: not a task).
#[inline(always)]
pub fn wake(task_id: u64, waker_task_id: u64) {
    if enabled::wake() {
        imp::wake(task_id, waker_task_id);
    }
}

/// The task is gone; its id may be reused after this.
#[inline(always)]
pub fn task_drop(task_id: u64) {
    if enabled::task_drop() {
        imp::task_drop(task_id);
    }
}

/// A lock, semaphore or channel exists. `capacity`: 0 if unbounded or n/a.
#[inline(always)]
pub fn resource_new(res_id: u64, kind: ResourceKind, name: &CStr, capacity: u64) {
    if enabled::resource_new() {
        imp::resource_new(res_id, kind as u32, name.as_ptr(), capacity);
    }
}

/// The task starts waiting for the resource (the contended path).
#[inline(always)]
pub fn wait_begin(task_id: u64, res_id: u64) {
    if enabled::wait_begin() {
        imp::wait_begin(task_id, res_id);
    }
}

/// The task stops waiting for the resource (acquired it, or gave up).
#[inline(always)]
pub fn wait_end(task_id: u64, res_id: u64) {
    if enabled::wait_end() {
        imp::wait_end(task_id, res_id);
    }
}

/// The task now holds the resource (a guard, a permit).
#[inline(always)]
pub fn acquire(task_id: u64, res_id: u64) {
    if enabled::acquire() {
        imp::acquire(task_id, res_id);
    }
}

/// The task no longer holds the resource.
#[inline(always)]
pub fn release(task_id: u64, res_id: u64) {
    if enabled::release() {
        imp::release(task_id, res_id);
    }
}

/// The channel now holds `len` queued items.
#[inline(always)]
pub fn channel_len(res_id: u64, len: u64) {
    if enabled::channel_len() {
        imp::channel_len(res_id, len);
    }
}

/// Says which ABI this binary speaks ([`ABI_VERSION`]). Observers cannot
/// read it statically (arguments live in registers), so call it wherever it
/// is cheap to call often (a worker parking, a timer tick): one load until
/// someone attaches.
#[inline(always)]
pub fn announce_abi() {
    if enabled::abi_version() {
        imp::abi_version(ABI_VERSION);
    }
}
