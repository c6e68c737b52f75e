/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdbool.h>

#include "vtable_shape.h"

/*
 * Header offsets are small multiples of 8: the scheduler follows the
 * 32-byte header (or the cell's alignment, 128 on x86-64 since 1.29), the
 * Id lives in Core next to it, the trailer after the future, which can be
 * large but not megabytes.
 */
static bool plausible_offsets(uint64_t trailer, uint64_t sched, uint64_t id)
{
	if ((trailer | sched | id) & 7)
		return false;
	if (sched < 32 || sched > 4096 || id < sched || id > sched + 256)
		return false;
	return trailer > id && trailer <= (1u << 20);
}

size_t tokio_vtables_by_shape(const struct reloc_word *relocs, size_t nrelocs,
			      uint64_t text_lo, uint64_t text_hi,
			      vaddr_word_reader read_word, void *ctx,
			      struct shaped_vtable *out, size_t max)
{
	size_t k = 0, found = 0;

	while (k + TOKIO_VT_NFNS <= nrelocs) {
		const struct reloc_word *r = &relocs[k];
		struct shaped_vtable vt = { .vaddr = r->where };
		uint64_t words[3];
		size_t j;
		bool ok = true;

		for (j = 0; j < TOKIO_VT_NFNS && ok; j++) {
			ok = r[j].where == vt.vaddr + 8 * j &&
			     r[j].target >= text_lo && r[j].target < text_hi;
			if (ok)
				vt.fns[j] = r[j].target;
		}
		/* the three offsets are plain data: no relocation on them */
		if (ok && k + TOKIO_VT_NFNS < nrelocs &&
		    relocs[k + TOKIO_VT_NFNS].where < vt.vaddr + 8 * (TOKIO_VT_NFNS + 3))
			ok = false;
		for (j = 0; j < 3 && ok; j++)
			ok = !read_word(ctx, vt.vaddr + 8 * (TOKIO_VT_NFNS + j), &words[j]);
		if (ok && plausible_offsets(words[0], words[1], words[2])) {
			vt.trailer_offset = words[0];
			vt.scheduler_offset = words[1];
			vt.id_offset = words[2];
			if (found < max)
				out[found] = vt;
			found++;
			k += TOKIO_VT_NFNS;
			continue;
		}
		k++;
	}
	return found;
}
