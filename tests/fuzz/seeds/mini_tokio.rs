// A miniature of tokio 1.24's task layout, built as a crate named `tokio`
// (or, with --cfg async_task, of async-task 4.x's), no_std so the seed is
// a few dozen KB: the symbols, vtable relocations, drop glue and DWARF
// (generic raw::poll<T, S>, its `harness` local, Cell.core.stage, an async
// fn's state machine) that runtime_binary.c and user/dwarf/ look for,
// without a 9 MB real target. A fuzzing seed only: never run.
#![no_std]
#![no_main]
#![allow(dead_code)]

use core::future::Future;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

// core at opt-level 0 refers to it even with panic=abort
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

#[link(name = "c")]
extern "C" {}

// A panic location as rustc leaves them in .rodata: names the crate version.
#[cfg(not(async_task))]
pub static SOURCE: &str = "/cargo/registry/src/index.crates.io/tokio-1.24.2/src/runtime/task/raw.rs";
#[cfg(async_task)]
pub static SOURCE: &str = "/cargo/registry/src/index.crates.io/async-std-1.12.0/src/task/builder.rs";

pub struct Guard(u64);

impl Drop for Guard {
    fn drop(&mut self) {
        unsafe { core::ptr::write_volatile(&mut self.0, 0) };
    }
}

pub struct Pending;

impl Future for Pending {
    type Output = ();
    fn poll(self: core::pin::Pin<&mut Self>, _: &mut core::task::Context<'_>) -> core::task::Poll<()> {
        core::task::Poll::Pending
    }
}

pub async fn handler(id: u64) -> u64 {
    let g = Guard(id);
    Pending.await;
    g.0
}

// a second task type: two polls, two vtables to sort and tell apart
pub async fn idle() {
    Pending.await;
}

#[cfg(not(async_task))]
pub mod runtime {
    pub mod task {
        pub mod core {
            use super::super::super::*;

            pub struct Header {
                pub state: usize,
                pub queue_next: usize,
                pub vtable: &'static super::raw::Vtable,
                pub owner_id: u64,
            }
            pub enum Stage<T: Future> {
                Running(T),
                Finished(Result<T::Output, u64>),
                Consumed,
            }
            pub struct CoreStage<T: Future> {
                pub stage: ::core::cell::UnsafeCell<Stage<T>>,
            }
            pub struct Core<T: Future, S> {
                pub scheduler: S,
                pub task_id: u64,
                pub stage: CoreStage<T>,
            }
            pub struct Trailer {
                pub owned_prev: usize,
                pub owned_next: usize,
                pub waker: usize,
            }
            #[repr(C)]
            pub struct Cell<T: Future, S> {
                pub header: Header,
                pub core: Core<T, S>,
                pub trailer: Trailer,
            }
        }
        pub mod harness {
            use super::core::Cell;
            use ::core::ptr::NonNull;

            pub struct Harness<T: ::core::future::Future, S> {
                pub cell: NonNull<Cell<T, S>>,
            }
        }
        pub mod id {
            use ::core::sync::atomic::{AtomicU64, Ordering};

            pub struct Id(pub u64);
            impl Id {
                #[inline(never)]
                pub fn next() -> Id {
                    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
                    Id(NEXT_ID.fetch_add(1, Ordering::Relaxed))
                }
            }
        }
        pub mod raw {
            use super::core::{Cell, Header, Stage};
            use super::harness::Harness;
            use ::core::future::Future;
            use ::core::ptr::NonNull;

            pub struct Vtable {
                pub poll: unsafe fn(NonNull<Header>),
                pub schedule: unsafe fn(NonNull<Header>),
                pub dealloc: unsafe fn(NonNull<Header>),
                pub try_read_output: unsafe fn(NonNull<Header>),
                pub drop_join_handle_slow: unsafe fn(NonNull<Header>),
                pub drop_abort_handle: unsafe fn(NonNull<Header>),
                pub shutdown: unsafe fn(NonNull<Header>),
                pub trailer_offset: usize,
                pub scheduler_offset: usize,
                pub id_offset: usize,
            }

            #[inline(never)]
            pub unsafe fn poll<T: Future, S>(ptr: NonNull<Header>) {
                let harness = Harness::<T, S> { cell: ptr.cast() };
                let stage = &*(*harness.cell.as_ptr()).core.stage.stage.get();
                if let Stage::Consumed = stage {
                    ::core::ptr::write_volatile(ptr.as_ptr() as *mut usize, 0);
                }
            }
            #[inline(never)]
            pub unsafe fn dealloc<T: Future, S>(ptr: NonNull<Header>) {
                ::core::ptr::drop_in_place(ptr.cast::<Cell<T, S>>().as_ptr());
                // a call, not a tail jump: the reader decodes calls only
                ::core::ptr::write_volatile(ptr.as_ptr() as *mut usize, 0);
            }
            // a second caller keeps drop_in_place<Cell<T, S>> out of line
            #[inline(never)]
            pub unsafe fn shutdown<T: Future, S>(ptr: NonNull<Header>) {
                ::core::ptr::drop_in_place(ptr.cast::<Cell<T, S>>().as_ptr());
                ::core::ptr::write_volatile(ptr.as_ptr() as *mut usize, 2);
            }
            #[inline(never)]
            pub unsafe fn nop(_: NonNull<Header>) {}
        }
        pub mod waker {
            use super::core::Header;

            #[inline(never)]
            pub unsafe fn wake_by_val(ptr: *const Header) {
                ::core::ptr::write_volatile(ptr as *mut usize, 4);
            }
            #[inline(never)]
            pub unsafe fn wake_by_ref(ptr: *const Header) {
                ::core::ptr::write_volatile(ptr as *mut usize, 4);
            }
        }
    }

    use task::core::Cell;
    use task::raw::*;

    struct Offsets<T, S>(::core::marker::PhantomData<(T, S)>);

    impl<T: ::core::future::Future, S> Offsets<T, S> {
        const TRAILER: usize = ::core::mem::offset_of!(Cell<T, S>, trailer);
    }

    // As tokio's raw::vtable(): promoted to a static, one per <T, S>.
    pub fn vtable<T: ::core::future::Future>(_: &T) -> &'static Vtable {
        &Vtable {
            poll: poll::<T, u32>,
            schedule: nop,
            dealloc: dealloc::<T, u32>,
            try_read_output: nop,
            drop_join_handle_slow: nop,
            drop_abort_handle: nop,
            shutdown: shutdown::<T, u32>,
            trailer_offset: Offsets::<T, u32>::TRAILER,
            scheduler_offset: 32,
            id_offset: 40,
        }
    }
}

#[cfg(async_task)]
pub mod raw {
    use core::future::Future;
    use core::marker::PhantomData;

    pub struct TaskVTable {
        pub schedule: unsafe fn(*const ()),
        pub drop_future: unsafe fn(*const ()),
        pub get_output: unsafe fn(*const ()),
        pub drop_ref: unsafe fn(*const ()),
        pub destroy: unsafe fn(*const ()),
        pub run: unsafe fn(*const ()),
        pub clone_waker: unsafe fn(*const ()),
        pub layout_info: usize,
    }

    pub struct RawTask<F, T, S> {
        pub future: *mut F,
        _t: PhantomData<(T, S)>,
    }

    impl<F: Future<Output = T>, T, S> RawTask<F, T, S> {
        #[inline(never)]
        pub unsafe fn run(ptr: *const ()) {
            core::ptr::write_volatile(ptr as *mut usize, 2);
        }
        #[inline(never)]
        pub unsafe fn destroy(ptr: *const ()) {
            core::ptr::write_volatile(ptr as *mut usize, 0);
        }
        #[inline(never)]
        pub unsafe fn drop_future(ptr: *const ()) {
            core::ptr::drop_in_place(ptr as *mut F);
            // a call, not a tail jump: the reader decodes calls only
            core::ptr::write_volatile(ptr as *mut usize, 0);
        }
        #[inline(never)]
        pub unsafe fn wake(ptr: *const ()) {
            core::ptr::write_volatile(ptr as *mut usize, 1);
        }
        #[inline(never)]
        pub unsafe fn wake_by_ref(ptr: *const ()) {
            core::ptr::write_volatile(ptr as *mut usize, 1);
        }
    }

    #[inline(never)]
    pub unsafe fn nop(_: *const ()) {}

    pub fn vtable<F: Future<Output = T>, T>(_: &F) -> &'static TaskVTable {
        &TaskVTable {
            schedule: nop,
            drop_future: RawTask::<F, T, u32>::drop_future,
            get_output: nop,
            drop_ref: nop,
            destroy: RawTask::<F, T, u32>::destroy,
            run: RawTask::<F, T, u32>::run,
            clone_waker: nop,
            layout_info: 0,
        }
    }

    pub fn wakers<F: Future<Output = T>, T>(_: &F) -> [unsafe fn(*const ()); 2] {
        [RawTask::<F, T, u32>::wake, RawTask::<F, T, u32>::wake_by_ref]
    }
}

#[cfg(not(async_task))]
#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let src = unsafe { core::ptr::read_volatile(&SOURCE) };
    let fut = handler(7);
    let vt = unsafe { core::ptr::read_volatile(&runtime::vtable(&fut)) };
    let idle = idle();
    let vt2 = unsafe { core::ptr::read_volatile(&runtime::vtable(&idle)) };
    let id = runtime::task::id::Id::next();
    unsafe {
        runtime::task::waker::wake_by_val(core::ptr::null());
        runtime::task::waker::wake_by_ref(core::ptr::null());
    }
    (vt.id_offset + vt2.id_offset) as i32 + id.0 as i32 + src.len() as i32
}

#[cfg(async_task)]
#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let src = unsafe { core::ptr::read_volatile(&SOURCE) };
    let fut = handler(7);
    let vt = unsafe { core::ptr::read_volatile(&raw::vtable(&fut)) };
    let idle = idle();
    let vt2 = unsafe { core::ptr::read_volatile(&raw::vtable(&idle)) };
    let w = unsafe { core::ptr::read_volatile(&raw::wakers(&fut)) };
    (vt.layout_info + vt2.layout_info + w.len() + src.len()) as i32
}
