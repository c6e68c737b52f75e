/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tokio vtables found by shape alone (stripped binaries). */
#include <stdint.h>

#include "unit.h"
#include "vtable_shape.h"

#define TEXT_LO	0x26ac0
#define TEXT_HI	0x80000

struct image {
	uint64_t base;
	uint64_t words[64];
};

static int read_word(void *ctx, uint64_t vaddr, uint64_t *w)
{
	struct image *im = ctx;
	uint64_t i = (vaddr - im->base) / 8;

	if (vaddr < im->base || i >= 64)
		return -1;
	*w = im->words[i];
	return 0;
}

/* Lays out a vtable at word index at: 7 relocated fns, 3 offsets. */
static size_t put_vtable(struct image *im, struct reloc_word *r, size_t nr, size_t at,
			 uint64_t fn0, uint64_t trailer, uint64_t sched, uint64_t id)
{
	size_t j;

	for (j = 0; j < 7; j++) {
		r[nr].where = im->base + 8 * (at + j);
		r[nr].target = fn0 + 0x10 * j;
		im->words[at + j] = 0;	/* RELA: the file holds 0, the addend the target */
		nr++;
	}
	im->words[at + 7] = trailer;
	im->words[at + 8] = sched;
	im->words[at + 9] = id;
	return nr;
}

int main(void)
{
	struct image im = { .base = 0x8c0b8 };
	struct reloc_word r[64];
	struct shaped_vtable out[8];
	size_t nr = 0, n;

	/* two task vtables and a blocking one, back to back, as in a 1.24 build */
	nr = put_vtable(&im, r, nr, 0, 0x2e460, 0x50, 0x20, 0x28);
	nr = put_vtable(&im, r, nr, 10, 0x2e440, 0x50, 0x20, 0x28);
	nr = put_vtable(&im, r, nr, 20, 0x34f00, 0x48, 0x20, 0x20);
	n = tokio_vtables_by_shape(r, nr, TEXT_LO, TEXT_HI, read_word, &im, out, 8);
	CHECK("shape: three vtables", n == 3);
	CHECK("shape: addresses", n == 3 && out[0].vaddr == 0x8c0b8 &&
	      out[1].vaddr == 0x8c0b8 + 80 && out[2].vaddr == 0x8c0b8 + 160);
	CHECK("shape: poll and dealloc slots", n == 3 && out[0].fns[TOKIO_VT_POLL] == 0x2e460 &&
	      out[0].fns[TOKIO_VT_DEALLOC] == 0x2e480);
	CHECK("shape: offsets read", n == 3 && out[1].trailer_offset == 0x50 &&
	      out[1].scheduler_offset == 0x20 && out[1].id_offset == 0x28);
	CHECK("shape: max bounds the output, count still told",
	      tokio_vtables_by_shape(r, nr, TEXT_LO, TEXT_HI, read_word, &im, out, 1) == 3);

	/* a trait-object vtable: drop, size, align (plain), then methods */
	{
		struct image t = { .base = 0x9000 };
		struct reloc_word tr[16];
		size_t k, ntr = 0;

		tr[ntr].where = 0x9000; tr[ntr++].target = 0x30000;	/* drop */
		t.words[1] = 48; t.words[2] = 8;			/* size, align */
		for (k = 0; k < 7; k++) {
			tr[ntr].where = 0x9000 + 8 * (3 + k);
			tr[ntr++].target = 0x30100 + 0x10 * k;
		}
		/* the next vtable's drop right after: relocated, so no offsets */
		tr[ntr].where = 0x9000 + 8 * 10; tr[ntr++].target = 0x30200;
		t.words[11] = 48; t.words[12] = 8;
		n = tokio_vtables_by_shape(tr, ntr, TEXT_LO, TEXT_HI, read_word, &t, out, 8);
		CHECK("shape: a trait vtable followed by another is not a task vtable", n == 0);
	}

	/* pointers outside .text (data, strings) are not code */
	{
		struct image d = { .base = 0xa000 };
		struct reloc_word dr[16];

		n = put_vtable(&d, dr, 0, 0, 0x90000, 0x50, 0x20, 0x28);
		CHECK("shape: targets outside .text rejected",
		      tokio_vtables_by_shape(dr, n, TEXT_LO, TEXT_HI, read_word, &d, out, 8) == 0);
		n = put_vtable(&d, dr, 0, 0, 0x2e460, 0x50, 0x20, 0x10000);
		CHECK("shape: implausible id offset rejected",
		      tokio_vtables_by_shape(dr, n, TEXT_LO, TEXT_HI, read_word, &d, out, 8) == 0);
		n = put_vtable(&d, dr, 0, 0, 0x2e460, 0x51, 0x20, 0x28);
		CHECK("shape: unaligned offset rejected",
		      tokio_vtables_by_shape(dr, n, TEXT_LO, TEXT_HI, read_word, &d, out, 8) == 0);
	}
	UNIT_EXIT();
}
