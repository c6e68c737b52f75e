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

static void test_calibration(void)
{
	struct tls_context tc = { .sym_size = 104, .sym_off = -0xd8 };
	uint64_t id[TS_CALIB_WORDS] = {}, one[TS_CALIB_WORDS] = {};
	struct ts_tls_layout l;

	CHECK("calib: too few samples", tls_context__from_calibration(&tc, id, one, 5) == -EAGAIN);
	CHECK("calib: no word stands out", tls_context__from_calibration(&tc, id, one, 100) ==
	      -ENOENT);
	id[5] = 70;
	id[9] = 3;
	one[4] = 95;
	CHECK("calib: tag then id", tls_context__from_calibration(&tc, id, one, 100) == 0 &&
	      tc.opt_off == 32 && tc.tag_off == 0 && tc.id_off == 8 &&
	      tc.source == TLS_FIELD_CALIBRATED);
	tls_context__layout(&tc, &l);
	CHECK("calib: layout relative to fsbase", l.opt_off == -0xd8 + 32 && l.sym_off == -0xd8);
	one[4] = 0;
	CHECK("calib: niche id", tls_context__from_calibration(&tc, id, one, 100) == 0 &&
	      tc.opt_off == 40 && tc.id_off == 0 && tc.tag_size == 8 && tc.tag_none == 0);
	id[9] = 40;
	CHECK("calib: two words alike is no answer",
	      tls_context__from_calibration(&tc, id, one, 100) == -ENOENT);
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
