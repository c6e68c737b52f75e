/* Minimal unit-test harness: each check prints PASS/FAIL with its name;
 * tests/run.sh counts those lines across every test binary. */
#ifndef TS_UNIT_H
#define TS_UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_failed;

#define CHECK(name, cond) do {						\
	if (cond) {							\
		printf("PASS %s\n", name);				\
	} else {							\
		printf("FAIL %s (%s:%d: %s)\n", name, __FILE__, __LINE__, #cond); \
		unit_failed++;						\
	}								\
} while (0)

#define CHECK_STR(name, got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (g_ && w_ && strcmp(g_, w_) == 0) {				\
		printf("PASS %s\n", name);				\
	} else {							\
		printf("FAIL %s (%s:%d: got \"%s\", want \"%s\")\n", name, \
		       __FILE__, __LINE__, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
		unit_failed++;						\
	}								\
} while (0)

#define UNIT_EXIT() return unit_failed ? 1 : 0

#endif
