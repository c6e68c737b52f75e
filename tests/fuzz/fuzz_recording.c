/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A recording read back (recording__load: report --from, top --replay) from
 * arbitrary files: the section's search, json-c's parse, every snapshot's
 * fields, counts, strings and enums, which the views then index with.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_file.h"
#include "recording.h"

/* read by nobody: keeps the reads of the loop below */
size_t fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recording rec;
	char why[512];
	size_t i, k;

	if (recording__load(&rec, fuzz_file__path(data, size), why, sizeof(why)))
		return 0;
	/* what the views read: names, chains' frames and holds */
	for (i = 0; i < rec.nsnaps; i++) {
		const struct ts_process *p = &rec.snaps[i];

		for (k = 0; k < p->ntasks; k++) {
			const struct ts_await_chain *c = p->tasks[k].chain;

			fuzz_sink += strlen(p->tasks[k].name);
			if (c && c->nholds)
				fuzz_sink += (size_t)c->frames[c->holds[0].frame].line;
		}
	}
	(void)recording__index_at(&rec, 1.5);
	recording__free(&rec);
	return 0;
}
