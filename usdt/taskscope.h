/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/*
 * taskscope USDT probe ABI for instrumented async runtimes.
 *
 * Dependency-free (no <sys/sdt.h>): emits standard stapsdt notes that
 * readelf -n, bpftrace usdt: probes and libbpf's bpf_program__attach_usdt
 * understand. The ABI itself (probes, argument order, stability promise) is
 * documented in usdt/README.md; this file is its only definition in C.
 *
 *	if (TASKSCOPE_PROBE_ENABLED(task_spawn))	// optional: skip costly setup
 *		name = format_name(task);
 *	TASKSCOPE_TASK_SPAWN(id, parent, name, "src/server.c:42");
 *	TASKSCOPE_POLL_START(id);
 *
 * Probe macros test their semaphore before evaluating any argument, so
 * arguments must not have side effects.
 *
 * Define TASKSCOPE_DISABLE to compile every probe out. Only x86_64 (nop5,
 * red-zone safe) and aarch64 (plain nop) emit probes; elsewhere they compile
 * out and TASKSCOPE_PROBE_ENABLED() is constant 0.
 */
#ifndef TASKSCOPE_USDT_H
#define TASKSCOPE_USDT_H

/* Bumped on every append to the ABI; never on anything else. */
#define TASKSCOPE_ABI_VERSION		1

/* poll_end: ready */
#define TASKSCOPE_POLL_PENDING		0
#define TASKSCOPE_POLL_READY		1

/* resource_new: kind */
#define TASKSCOPE_RES_MUTEX		1
#define TASKSCOPE_RES_RWLOCK		2
#define TASKSCOPE_RES_SEMAPHORE		3
#define TASKSCOPE_RES_CHANNEL		4
#define TASKSCOPE_RES_OTHER		5

/* BPF programs include this file for the constants above only. */
#if !defined(__bpf__)

#include <stdint.h>

#if defined(TASKSCOPE_DISABLE) || !defined(__GNUC__)
#define TASKSCOPE__ARCH_NONE 1
#elif defined(__x86_64__) && defined(__LP64__)
#define TASKSCOPE__ARCH_X86_64 1
#elif defined(__aarch64__) && defined(__LP64__)
#define TASKSCOPE__ARCH_AARCH64 1
#else
#define TASKSCOPE__ARCH_NONE 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TASKSCOPE__ARCH_NONE)

#define TASKSCOPE_PROBE_ENABLED(name)	0
#define TASKSCOPE__FIRE_FN(name)	static inline void taskscope__fire_##name

#else /* probes emitted */

/*
 * Is-enabled semaphores, one per probe per ELF object, as sys/sdt.h lays
 * them out: an unsigned short in .probes that the kernel increments for
 * every attached uprobe whose ref_ctr_offset names it (libbpf, bpftrace).
 *
 * Defined in assembly so that every translation unit (and the Rust crate)
 * can emit the same COMDAT group, of which the linker keeps one; hidden so
 * each shared object keeps its own set, matching its own notes; weak in
 * case two ABI versions (two groups) meet in one link.
 *
 * The group is page-aligned. The kernel finds a counter through the file
 * mapping (ref_ctr_offset is a file offset) and, for a process that starts
 * after the tracer attached, increments it in the first writable mapping of
 * that file page. lld (rustc's default linker) starts the data segment on
 * the file page where the RELRO segment ends, which is still writable at
 * exec: the kernel then increments the RELRO copy and the program never
 * sees it (measured, kernel 6.18). A page of its own avoids that, for up to
 * 4 KiB of padding.
 */
#define TASKSCOPE__SEMAPHORE_ASM(name)					\
	".weak taskscope_" #name "_semaphore\n\t"			\
	".hidden taskscope_" #name "_semaphore\n\t"			\
	".type taskscope_" #name "_semaphore, @object\n\t"		\
	".size taskscope_" #name "_semaphore, 2\n"			\
	"taskscope_" #name "_semaphore:\n\t"				\
	".2byte 0\n\t"

#define TASKSCOPE__STR2(x)		#x
#define TASKSCOPE__STR(x)		TASKSCOPE__STR2(x)

__asm__(".pushsection .probes, \"awG\", @progbits, taskscope_semaphores_v"
	TASKSCOPE__STR(TASKSCOPE_ABI_VERSION) ", comdat\n\t"
	".balign 4096\n\t"
	TASKSCOPE__SEMAPHORE_ASM(task_spawn)
	TASKSCOPE__SEMAPHORE_ASM(poll_start)
	TASKSCOPE__SEMAPHORE_ASM(poll_end)
	TASKSCOPE__SEMAPHORE_ASM(wake)
	TASKSCOPE__SEMAPHORE_ASM(task_drop)
	TASKSCOPE__SEMAPHORE_ASM(resource_new)
	TASKSCOPE__SEMAPHORE_ASM(wait_begin)
	TASKSCOPE__SEMAPHORE_ASM(wait_end)
	TASKSCOPE__SEMAPHORE_ASM(acquire)
	TASKSCOPE__SEMAPHORE_ASM(release)
	TASKSCOPE__SEMAPHORE_ASM(channel_len)
	TASKSCOPE__SEMAPHORE_ASM(abi_version)
	".popsection\n");

#define TASKSCOPE__SEMAPHORE(name)					\
	extern __attribute__((visibility("hidden")))			\
	volatile unsigned short taskscope_##name##_semaphore

TASKSCOPE__SEMAPHORE(task_spawn);
TASKSCOPE__SEMAPHORE(poll_start);
TASKSCOPE__SEMAPHORE(poll_end);
TASKSCOPE__SEMAPHORE(wake);
TASKSCOPE__SEMAPHORE(task_drop);
TASKSCOPE__SEMAPHORE(resource_new);
TASKSCOPE__SEMAPHORE(wait_begin);
TASKSCOPE__SEMAPHORE(wait_end);
TASKSCOPE__SEMAPHORE(acquire);
TASKSCOPE__SEMAPHORE(release);
TASKSCOPE__SEMAPHORE(channel_len);
TASKSCOPE__SEMAPHORE(abi_version);

/* Volatile read: a loop must see an observer that attaches mid-loop. */
#define TASKSCOPE_PROBE_ENABLED(name)					\
	(__builtin_expect(taskscope_##name##_semaphore != 0, 0) != 0)

#define TASKSCOPE__FIRE_FN(name)					\
	static inline __attribute__((always_inline)) void taskscope__fire_##name

#if defined(TASKSCOPE__ARCH_X86_64)
/*
 * The site is a 5-byte nop (0f 1f 44 00 00, spelled out rather than .nops 5
 * so every assembler emits the exact bytes the kernel matches): kernel 6.18
 * turns an attached nop5 into a call to a trampoline, about 4x cheaper per
 * hit than the int3 trap a 1-byte nop needs.
 *
 * That call pushes a return address (and the trampoline three registers)
 * below %rsp, into the 128-byte red zone where a leaf function may keep live
 * data the compiler never told the asm about. So %rsp steps over the red
 * zone for the duration of the site; lea leaves the flags alone. Every
 * argument is an "r" operand, so the note never describes an %rsp-relative
 * location that the step would make wrong.
 *
 * .balign 8 keeps the nop5 inside one page: the kernel will not optimise a
 * site that straddles pages (it cannot patch across them atomically).
 */
#define TASKSCOPE__SITE_ASM						\
	"lea -128(%%rsp), %%rsp\n\t"					\
	".balign 8\n"							\
	TASKSCOPE__SITE_LABEL ":\n\t"					\
	".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"			\
	"lea 128(%%rsp), %%rsp\n\t"
#define TASKSCOPE__ADDR			".8byte"
#define TASKSCOPE__U64(n)		"8@%q[a" #n "]"
#define TASKSCOPE__U32(n)		"4@%k[a" #n "]"
#elif defined(TASKSCOPE__ARCH_AARCH64)
/* No red zone on AArch64 Linux and uprobes trap with brk: a plain nop. */
#define TASKSCOPE__SITE_ASM						\
	TASKSCOPE__SITE_LABEL ":\n\t"					\
	"nop\n\t"
#define TASKSCOPE__ADDR			".8byte"
#define TASKSCOPE__U64(n)		"8@%x[a" #n "]"
#define TASKSCOPE__U32(n)		"4@%w[a" #n "]"
#endif

/*
 * One asm statement holds both the site and its note, so if the compiler
 * duplicates the statement (unrolling, inlining) each copy carries its own
 * note; %= makes each copy's label unique. The note is tied to the code it
 * describes, so that it disappears with it:
 * - "o" (SHF_LINK_ORDER to the site's section): when --gc-sections drops a
 *   dead function, lld (rustc's default) drops the note too. Without it the
 *   note survives with a bogus address (measured: 0x10), and libbpf 1.1
 *   then refuses to attach that probe anywhere in the binary;
 * - "?" (the code's section group): a C++ inline function or template copy
 *   the linker folds away takes its note with it (with "o" alone, lld
 *   refuses the link: "sh_link points to discarded section").
 * Needs binutils >= 2.36 or LLVM >= 13 ("o" with a symbol, "R").
 * The "memory" clobber makes the site a compiler barrier: pointed-to strings
 * are in memory when the probe reads them, and the event sits where the
 * caller wrote it.
 */
#define TASKSCOPE__SITE_LABEL		".Ltaskscope_site_%="
#define TASKSCOPE__PROBE_ASM(name, args)				\
	TASKSCOPE__SITE_ASM						\
	".pushsection .note.stapsdt, \"?o\", \"note\", "		\
		TASKSCOPE__SITE_LABEL "\n\t"				\
	".balign 4\n\t"							\
	".4byte 992f-991f, 994f-993f, 3\n"				\
	"991:\t.asciz \"stapsdt\"\n"					\
	"992:\t.balign 4\n"						\
	"993:\t" TASKSCOPE__ADDR " " TASKSCOPE__SITE_LABEL "\n\t"	\
	TASKSCOPE__ADDR " _.stapsdt.base\n\t"				\
	TASKSCOPE__ADDR " taskscope_" #name "_semaphore\n\t"		\
	".asciz \"taskscope\"\n\t"					\
	".asciz \"" #name "\"\n\t"					\
	".asciz \"" args "\"\n"						\
	"994:\t.balign 4\n\t"						\
	".popsection\n\t"						\
	/* Consumers subtract this section's link-time address to undo	\
	 * prelink; one copy per object (comdat), retained ("R") because	\
	 * only the non-allocated notes refer to it and --gc-sections	\
	 * would drop it. */						\
	".ifndef _.stapsdt.base\n\t"					\
	".pushsection .stapsdt.base, \"aGR\", @progbits, .stapsdt.base, comdat\n\t" \
	".weak _.stapsdt.base\n\t"					\
	".hidden _.stapsdt.base\n"					\
	"_.stapsdt.base:\n\t"						\
	".space 1\n\t"							\
	".size _.stapsdt.base, 1\n\t"					\
	".popsection\n\t"						\
	".endif\n"

#define TASKSCOPE__PROBE1(name, f0, x0)					\
	__asm__ __volatile__(TASKSCOPE__PROBE_ASM(name, f0(0))		\
			     : : [a0] "r" (x0) : "memory")
#define TASKSCOPE__PROBE2(name, f0, x0, f1, x1)				\
	__asm__ __volatile__(TASKSCOPE__PROBE_ASM(name,			\
					f0(0) " " f1(1))			\
			     : : [a0] "r" (x0), [a1] "r" (x1) : "memory")
#define TASKSCOPE__PROBE4(name, f0, x0, f1, x1, f2, x2, f3, x3)	\
	__asm__ __volatile__(TASKSCOPE__PROBE_ASM(name,			\
					f0(0) " " f1(1) " " f2(2) " " f3(3))	\
			     : : [a0] "r" (x0), [a1] "r" (x1),		\
				 [a2] "r" (x2), [a3] "r" (x3) : "memory")

#endif /* probes emitted */

/*
 * The firing functions are internal: they give the macros' arguments real
 * parameter types (a pointer passed as an id is a compile error) and are
 * only reached once the semaphore says someone listens.
 */
#if defined(TASKSCOPE__ARCH_NONE)
#define TASKSCOPE__BODY1(name, f0, x0)					\
	{ (void)(x0); }
#define TASKSCOPE__BODY2(name, f0, x0, f1, x1)				\
	{ (void)(x0); (void)(x1); }
#define TASKSCOPE__BODY4(name, f0, x0, f1, x1, f2, x2, f3, x3)	\
	{ (void)(x0); (void)(x1); (void)(x2); (void)(x3); }
#else
#define TASKSCOPE__BODY1(name, f0, x0)					\
	{ TASKSCOPE__PROBE1(name, f0, x0); }
#define TASKSCOPE__BODY2(name, f0, x0, f1, x1)				\
	{ TASKSCOPE__PROBE2(name, f0, x0, f1, x1); }
#define TASKSCOPE__BODY4(name, f0, x0, f1, x1, f2, x2, f3, x3)	\
	{ TASKSCOPE__PROBE4(name, f0, x0, f1, x1, f2, x2, f3, x3); }
#endif

TASKSCOPE__FIRE_FN(task_spawn)(uint64_t task_id, uint64_t parent_id,
			       const char *name, const char *location)
TASKSCOPE__BODY4(task_spawn, TASKSCOPE__U64, task_id, TASKSCOPE__U64, parent_id,
		 TASKSCOPE__U64, name, TASKSCOPE__U64, location)

TASKSCOPE__FIRE_FN(poll_start)(uint64_t task_id)
TASKSCOPE__BODY1(poll_start, TASKSCOPE__U64, task_id)

TASKSCOPE__FIRE_FN(poll_end)(uint64_t task_id, uint32_t ready)
TASKSCOPE__BODY2(poll_end, TASKSCOPE__U64, task_id, TASKSCOPE__U32, ready)

TASKSCOPE__FIRE_FN(wake)(uint64_t task_id, uint64_t waker_task_id)
TASKSCOPE__BODY2(wake, TASKSCOPE__U64, task_id, TASKSCOPE__U64, waker_task_id)

TASKSCOPE__FIRE_FN(task_drop)(uint64_t task_id)
TASKSCOPE__BODY1(task_drop, TASKSCOPE__U64, task_id)

TASKSCOPE__FIRE_FN(resource_new)(uint64_t res_id, uint32_t kind,
				 const char *name, uint64_t capacity)
TASKSCOPE__BODY4(resource_new, TASKSCOPE__U64, res_id, TASKSCOPE__U32, kind,
		 TASKSCOPE__U64, name, TASKSCOPE__U64, capacity)

TASKSCOPE__FIRE_FN(wait_begin)(uint64_t task_id, uint64_t res_id)
TASKSCOPE__BODY2(wait_begin, TASKSCOPE__U64, task_id, TASKSCOPE__U64, res_id)

TASKSCOPE__FIRE_FN(wait_end)(uint64_t task_id, uint64_t res_id)
TASKSCOPE__BODY2(wait_end, TASKSCOPE__U64, task_id, TASKSCOPE__U64, res_id)

TASKSCOPE__FIRE_FN(acquire)(uint64_t task_id, uint64_t res_id)
TASKSCOPE__BODY2(acquire, TASKSCOPE__U64, task_id, TASKSCOPE__U64, res_id)

TASKSCOPE__FIRE_FN(release)(uint64_t task_id, uint64_t res_id)
TASKSCOPE__BODY2(release, TASKSCOPE__U64, task_id, TASKSCOPE__U64, res_id)

TASKSCOPE__FIRE_FN(channel_len)(uint64_t res_id, uint64_t len)
TASKSCOPE__BODY2(channel_len, TASKSCOPE__U64, res_id, TASKSCOPE__U64, len)

TASKSCOPE__FIRE_FN(abi_version)(uint32_t version)
TASKSCOPE__BODY1(abi_version, TASKSCOPE__U32, version)

#ifdef __cplusplus
}
#endif

#define TASKSCOPE__IF(name, call)					\
	do {								\
		if (TASKSCOPE_PROBE_ENABLED(name))			\
			call;						\
	} while (0)

/* A new task exists. name and location: NUL-terminated, may be NULL. */
#define TASKSCOPE_TASK_SPAWN(task_id, parent_id, name, location)	\
	TASKSCOPE__IF(task_spawn, taskscope__fire_task_spawn((task_id),	\
				(parent_id), (name), (location)))
/* A worker thread starts polling the task. */
#define TASKSCOPE_POLL_START(task_id)					\
	TASKSCOPE__IF(poll_start, taskscope__fire_poll_start((task_id)))
/* The poll returned: TASKSCOPE_POLL_READY or TASKSCOPE_POLL_PENDING. */
#define TASKSCOPE_POLL_END(task_id, ready)				\
	TASKSCOPE__IF(poll_end, taskscope__fire_poll_end((task_id), (ready)))
/* task_id was woken by the running task waker_task_id (0: not a task). */
#define TASKSCOPE_WAKE(task_id, waker_task_id)				\
	TASKSCOPE__IF(wake, taskscope__fire_wake((task_id), (waker_task_id)))
/* The task is gone; its id may be reused after this. */
#define TASKSCOPE_TASK_DROP(task_id)					\
	TASKSCOPE__IF(task_drop, taskscope__fire_task_drop((task_id)))
/* A lock, semaphore or channel exists. capacity: 0 if unbounded/n.a. */
#define TASKSCOPE_RESOURCE_NEW(res_id, kind, name, capacity)		\
	TASKSCOPE__IF(resource_new, taskscope__fire_resource_new((res_id),\
				(kind), (name), (capacity)))
/* The task starts/stops waiting for the resource (contended path). */
#define TASKSCOPE_WAIT_BEGIN(task_id, res_id)				\
	TASKSCOPE__IF(wait_begin, taskscope__fire_wait_begin((task_id), (res_id)))
#define TASKSCOPE_WAIT_END(task_id, res_id)				\
	TASKSCOPE__IF(wait_end, taskscope__fire_wait_end((task_id), (res_id)))
/* The task now holds / no longer holds the resource (guard, permit). */
#define TASKSCOPE_ACQUIRE(task_id, res_id)				\
	TASKSCOPE__IF(acquire, taskscope__fire_acquire((task_id), (res_id)))
#define TASKSCOPE_RELEASE(task_id, res_id)				\
	TASKSCOPE__IF(release, taskscope__fire_release((task_id), (res_id)))
/* The channel now holds len queued items. */
#define TASKSCOPE_CHANNEL_LEN(res_id, len)				\
	TASKSCOPE__IF(channel_len, taskscope__fire_channel_len((res_id), (len)))
/*
 * Says which ABI this binary speaks. Observers cannot read it statically
 * (arguments live in registers), so runtimes call this wherever it is
 * cheap to call often (a worker parking, a timer tick): it costs one load
 * until someone attaches.
 */
#define TASKSCOPE_ANNOUNCE_ABI()					\
	TASKSCOPE__IF(abi_version,					\
		      taskscope__fire_abi_version(TASKSCOPE_ABI_VERSION))

#endif /* !__bpf__ */

#endif /* TASKSCOPE_USDT_H */
