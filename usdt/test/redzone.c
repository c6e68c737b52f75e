// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * Red-zone safety of an attached probe site.
 *
 * leaf_safe() and leaf_naive() keep 128 bytes of live data in their red zone
 * across a probe site: leaf_safe through TASKSCOPE_POLL_START, leaf_naive
 * through a bare nop5 with the same stapsdt note (provider taskscope_test,
 * probe naive), i.e. what a probe macro without the %rsp step would emit.
 * Once the kernel has turned an attached nop5 into a call, the call's return
 * address (and the trampoline's pushes) land below %rsp.
 *
 *	redzone safe|naive N [PC...]
 *
 * waits (30 s max) for the probe's semaphore, calls the leaf N times, then
 * prints the calls whose data changed and, for each note PC given (link-time
 * address of the site, read from readelf -n), the five bytes now there
 * (e8 = the kernel optimised the site into a call) and whether the
 * uprobe trampoline is mapped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskscope.h"

__attribute__((weak, visibility("hidden"), section(".probes")))
volatile unsigned short taskscope_test_naive_semaphore = 0;

/* The pre-ABI layout: stapsdt note, bare nop5, nothing around it. */
#define NAIVE_PROBE(x)							\
	__asm__ __volatile__(						\
		".balign 8\n"						\
		"990:\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"		\
		".pushsection .note.stapsdt, \"?\", \"note\"\n\t"	\
		".balign 4\n\t"						\
		".4byte 992f-991f, 994f-993f, 3\n"			\
		"991:\t.asciz \"stapsdt\"\n"				\
		"992:\t.balign 4\n"					\
		"993:\t.8byte 990b\n\t"					\
		".8byte _.stapsdt.base\n\t"				\
		".8byte taskscope_test_naive_semaphore\n\t"		\
		".asciz \"taskscope_test\"\n\t"				\
		".asciz \"naive\"\n\t"					\
		".asciz \"8@%q[a0]\"\n"					\
		"994:\t.balign 4\n\t"					\
		".popsection\n"						\
		: : [a0] "r" ((uint64_t)(x)) : "memory")

#define LIVE_WORDS 14	/* 112 bytes: the most gcc -O2 keeps in the red zone without sub %rsp */

static inline uint64_t pattern(uint64_t seed, unsigned int i)
{
	return seed * 0x9e3779b97f4a7c15ull + i;
}

/*
 * volatile keeps the array in memory (the red zone, since the function is a
 * leaf and needs no frame) and every read a real load after the site.
 */
__attribute__((noinline)) uint64_t leaf_safe(uint64_t seed)
{
	volatile uint64_t live[LIVE_WORDS];
	uint64_t changed = 0;
	unsigned int i;

	for (i = 0; i < LIVE_WORDS; i++)
		live[i] = pattern(seed, i);
	TASKSCOPE_POLL_START(seed);
	for (i = 0; i < LIVE_WORDS; i++)
		changed += live[i] != pattern(seed, i);
	return changed;
}

__attribute__((noinline)) uint64_t leaf_naive(uint64_t seed)
{
	volatile uint64_t live[LIVE_WORDS];
	uint64_t changed = 0;
	unsigned int i;

	for (i = 0; i < LIVE_WORDS; i++)
		live[i] = pattern(seed, i);
	if (__builtin_expect(taskscope_test_naive_semaphore != 0, 0))
		NAIVE_PROBE(seed);
	for (i = 0; i < LIVE_WORDS; i++)
		changed += live[i] != pattern(seed, i);
	return changed;
}

static int wait_semaphore(volatile unsigned short *count)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 3000 && !*count; i++)
		nanosleep(&step, NULL);
	return *count ? 0 : -1;
}

static int trampoline_mapped(void)
{
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!maps)
		return -1;
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "[uprobes-trampoline]"))
			found = 1;
	fclose(maps);
	return found;
}

/* The ELF header, i.e. where link address 0 of this PIE was loaded (ld and lld). */
extern const unsigned char __ehdr_start[];

int main(int argc, char **argv)
{
	int naive = argc > 1 && !strcmp(argv[1], "naive");
	uint64_t (*leaf)(uint64_t) = naive ? leaf_naive : leaf_safe;
	volatile unsigned short *sem = naive ? &taskscope_test_naive_semaphore
					     : &taskscope_poll_start_semaphore;
	uint64_t n, k, words = 0, calls = 0;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: %s safe|naive N [PC...]\n", argv[0]);
		return 2;
	}
	n = strtoull(argv[2], NULL, 0);
	if (wait_semaphore(sem)) {
		printf("semaphore-timeout\n");
		return 3;
	}
	for (k = 1; k <= n; k++) {
		uint64_t changed = leaf(k);

		words += changed;
		calls += changed != 0;
	}
	printf("mode %s calls %" PRIu64 " corrupted_calls %" PRIu64
	       " corrupted_words %" PRIu64 "\n", naive ? "naive" : "safe", n, calls, words);
	for (i = 3; i < argc; i++) {
		const unsigned char *site = __ehdr_start + strtoull(argv[i], NULL, 0);

		printf("site %s bytes %02x %02x %02x %02x %02x\n", argv[i],
		       site[0], site[1], site[2], site[3], site[4]);
	}
	printf("trampoline_mapped %d\n", trampoline_mapped());
	return 0;
}
