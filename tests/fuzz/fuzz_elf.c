/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ELF reader (runtime_binary__load): symbol tables, relocations,
 * program headers, notes, .rodata and the code it decodes for drop glue,
 * all from a file that may lie about every size and offset.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_file.h"
#include "runtime_binary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct runtime_binary *tb = malloc(sizeof(*tb));
	size_t i;

	if (!tb)
		return 0;
	runtime_binary__load(tb, fuzz_file__path(data, size));
	/* what the callers index with must stay in bounds */
	for (i = 0; i < tb->nvtables; i++)
		if (tb->vtables[i].poll_idx < 0 || (size_t)tb->vtables[i].poll_idx >= tb->npolls)
			abort();
	for (i = 0; i < tb->npolls; i++)
		if (runtime_binary__poll_index(tb, tb->polls[i].fn.vaddr) < 0)
			abort();
	runtime_binary__free(tb);
	free(tb);
	return 0;
}
