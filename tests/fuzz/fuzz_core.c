/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The core file reader (core_file__open, core_file__read) on arbitrary
 * files: program headers, NT_FILE / NT_PRSTATUS / NT_PRPSINFO / NT_AUXV
 * notes, and reads at every segment's edges, where a size taken from the
 * file would run past the mapping.
 */
#include <stdint.h>
#include <string.h>

#include "core_file.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct core_file cf;
	char why[256], buf[64];
	size_t i;

	if (core_file__open(&cf, fuzz_file__path(data, size), why, sizeof(why)))
		return 0;
	for (i = 0; i < cf.nsegs && i < 64; i++) {
		const struct core_segment *s = &cf.segs[i];

		core_file__read(&cf, s->vaddr, buf, sizeof(buf));
		core_file__read(&cf, s->vaddr + s->memsz - 8, buf, sizeof(buf));
		core_file__read(&cf, s->vaddr + s->filesz - 1, buf, sizeof(buf));
	}
	core_file__close(&cf);
	return 0;
}
