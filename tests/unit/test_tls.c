/*
 * Where tokio keeps the running task's id (user/runtime/tls.c): the TLS
 * block arithmetic and calibration (pure), and CONTEXT found in the
 * healthy target with its field from DWARF, matching the known 1.24
 * layout (any user; skipped when the targets are not built).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "await_chain.h"
#include "tls.h"
#include "unit.h"

static char repo_root[2048];

static void find_repo_root(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		snprintf(repo_root, sizeof(repo_root), "%.2000s", dirname(dirname(dirname(exe))));
	} else {
		snprintf(repo_root, sizeof(repo_root), ".");
	}
}

static void test_block_offset(void)
{
	/* the 1.24 healthy target: PT_TLS at 0x99a50, memsz 0x100, align 8 */
	CHECK("tls: block of 0x100 bytes ends at fsbase", tls_main_block_offset(0x99a50, 0x100, 8) ==
	      -0x100);
	CHECK("tls: memsz rounded up to the alignment",
	      tls_main_block_offset(0x1000, 0x12c, 8) == -0x130);
	/* vaddr 4 bytes past a 16-byte boundary keeps that misalignment */
	CHECK("tls: misaligned vaddr kept", tls_main_block_offset(0x1004, 0x20, 16) == -0x2c);
}

/* n samples of CONTEXT: word 4 the tag, word 5 the id (launch tasks 1 and 2, task 3) */
static void fill(struct ts_calib_sample *v, size_t n, bool tag, uint64_t constant_one)
{
	size_t i;

	memset(v, 0, n * sizeof(*v));
	for (i = 0; i < n; i++) {
		v[i].tid = 100 + (uint32_t)(i % 2);
		v[i].words[5] = i % 7 == 0 ? 3 : 1 + i % 2;
		v[i].words[4] = tag ? 1 : 0x7f0000001000ULL + i;	/* else a pointer */
		v[i].words[8] = constant_one;
		v[i].words[2] = 0x55aa00000000ULL + i;
	}
}

static void test_calibration(void)
{
	struct tls_context tc = { .sym_size = 104, .sym_off = -0xd8 };
	static struct ts_calib_sample v[100];
	const uint64_t ids[] = { 1, 2, 3, 7 };
	struct ts_tls_layout l;

	fill(v, 10, true, 1);
	CHECK("calib: too few samples", tls_context__from_words(&tc, v, 10, ids, 4) == -EAGAIN);
	fill(v, 100, true, 1);
	CHECK("calib: tag then id; a constant 1 is no id",
	      tls_context__from_words(&tc, v, 100, ids, 4) == 0 && tc.opt_off == 32 &&
	      tc.tag_off == 0 && tc.id_off == 8 && tc.tag_size == 8 && tc.tag_none == 0 &&
	      tc.source == TLS_FIELD_CALIBRATED);
	tls_context__layout(&tc, &l);
	CHECK("calib: layout relative to fsbase", l.opt_off == -0xd8 + 32 && l.sym_off == -0xd8);
	fill(v, 100, false, 0);
	CHECK("calib: no tag word: a niche id",
	      tls_context__from_words(&tc, v, 100, ids, 4) == 0 && tc.opt_off == 40 &&
	      tc.id_off == 0);
	CHECK("calib: ids unknown: no answer yet",
	      tls_context__from_words(&tc, v, 100, ids + 3, 1) == -EAGAIN);
}

static void test_healthy(void)
{
	struct tls_context tc, known;
	struct ts_dwarf *dw = NULL;
	char path[PATH_MAX], why[256];
	int err;

	snprintf(path, sizeof(path), "%s/tests/targets/target/release/healthy", repo_root);
	if (access(path, R_OK)) {
		printf("# %s not built: skipped\n", path);
		return;
	}
	err = tls_context__find(&tc, path);
	CHECK("healthy: CONTEXT found", err == 0 && tc.sym_size == 104);
	if (err)
		return;
	CHECK("healthy: CONTEXT relative to fsbase",
	      tc.sym_off == tls_main_block_offset(tc.tls_vaddr, tc.tls_memsz, tc.tls_align) +
			    (int64_t)tc.sym_value && tc.sym_off < 0);
	known = tc;
	CHECK("healthy: tokio 1.24 layout applies", tls_context__known_layout(&known, "1.24.2") == 0);
	CHECK("healthy: no known layout for 1.53",
	      tls_context__known_layout(&tc, "1.53.1") == -ENOTSUP);
	if (ts_dwarf__open(path, NULL, &dw, why, sizeof(why))) {
		printf("# no DWARF: %s\n", why);
		return;
	}
	err = tls_context__from_dwarf(&tc, dw);
	CHECK("healthy: field from DWARF", err == 0 && tc.source == TLS_FIELD_DWARF);
	printf("# opt_off %u tag_off %u tag_size %u tag_none %lu id_off %u sym_off %ld\n",
	       tc.opt_off, tc.tag_off, tc.tag_size, (unsigned long)tc.tag_none, tc.id_off,
	       (long)tc.sym_off);
	CHECK("healthy: DWARF agrees with the known layout",
	      tc.opt_off == known.opt_off && tc.tag_off == known.tag_off &&
	      tc.tag_size == known.tag_size && tc.tag_none == known.tag_none &&
	      tc.id_off == known.id_off);
	ts_dwarf__close(dw);
}

int main(void)
{
	find_repo_root();
	test_block_offset();
	test_calibration();
	test_healthy();
	UNIT_EXIT();
}
