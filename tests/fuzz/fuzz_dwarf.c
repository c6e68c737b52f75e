/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The DWARF side as `report` drives it: open (the file's own DWARF, or a
 * search for separate debuginfo), then the future type behind each
 * raw::poll instance the ELF reader found, plus addresses no function
 * starts at, then a struct member lookup (the CU index and type cache).
 */
#include <stdint.h>
#include <stdlib.h>

#include "await_chain.h"
#include "fuzz_file.h"
#include "runtime_binary.h"

#define FUZZ_MAX_POLLS	8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t addrs[FUZZ_MAX_POLLS + 2] = { 0, 0x1000 }, off;
	struct runtime_binary *tb = malloc(sizeof(*tb));
	const char *path = fuzz_file__path(data, size);
	size_t naddrs = 2, i;
	struct ts_dwarf *dw;
	char why[512], name[256];

	if (!tb)
		return 0;
	if (!runtime_binary__load(tb, path))
		for (i = 0; i < tb->npolls && naddrs < FUZZ_MAX_POLLS + 2; i++)
			addrs[naddrs++] = tb->polls[i].fn.vaddr;
	runtime_binary__free(tb);
	free(tb);
	if (ts_dwarf__open(path, NULL, &dw, why, sizeof(why)))
		return 0;
	for (i = 0; i < naddrs; i++)
		ts_dwarf__future_name(dw, addrs[i], name, sizeof(name));
	ts_dwarf__member_offset(dw, "tokio::runtime::task::raw::Vtable", "poll", &off);
	ts_dwarf__close(dw);
	return 0;
}
