/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "usdt_notes.h"

#define NT_STAPSDT 3

static const char *const probe_names[] = {
	[TS_USDT_TASK_SPAWN] = "task_spawn",	[TS_USDT_POLL_START] = "poll_start",
	[TS_USDT_POLL_END] = "poll_end",	[TS_USDT_WAKE] = "wake",
	[TS_USDT_TASK_DROP] = "task_drop",	[TS_USDT_RESOURCE_NEW] = "resource_new",
	[TS_USDT_WAIT_BEGIN] = "wait_begin",	[TS_USDT_WAIT_END] = "wait_end",
	[TS_USDT_ACQUIRE] = "acquire",		[TS_USDT_RELEASE] = "release",
	[TS_USDT_CHANNEL_LEN] = "channel_len",	[TS_USDT_ABI_VERSION] = "abi_version",
};

uint32_t usdt_probe_kind(const char *name)
{
	uint32_t i;

	for (i = 1; i < ARRAY_SIZE(probe_names); i++)
		if (probe_names[i] && !strcmp(probe_names[i], name))
			return i;
	return 0;
}

/*
 * x86-64 struct pt_regs (arch/x86/include/asm/ptrace.h): the kernel hands
 * it to uprobe programs as ctx. Each register under all its names.
 */
static const struct {
	const char *names[4];
	uint16_t off;
} x86_regs[] = {
	{ { "rax", "eax", "ax", "al" }, 80 },	{ { "rbx", "ebx", "bx", "bl" }, 40 },
	{ { "rcx", "ecx", "cx", "cl" }, 88 },	{ { "rdx", "edx", "dx", "dl" }, 96 },
	{ { "rsi", "esi", "si", "sil" }, 104 },	{ { "rdi", "edi", "di", "dil" }, 112 },
	{ { "rbp", "ebp", "bp", "bpl" }, 32 },	{ { "rsp", "esp", "sp", "spl" }, 152 },
	{ { "r8", "r8d", "r8w", "r8b" }, 72 },	{ { "r9", "r9d", "r9w", "r9b" }, 64 },
	{ { "r10", "r10d", "r10w", "r10b" }, 56 }, { { "r11", "r11d", "r11w", "r11b" }, 48 },
	{ { "r12", "r12d", "r12w", "r12b" }, 24 }, { { "r13", "r13d", "r13w", "r13b" }, 16 },
	{ { "r14", "r14d", "r14w", "r14b" }, 8 }, { { "r15", "r15d", "r15w", "r15b" }, 0 },
};

static int reg_offset(const char *reg)
{
	size_t i, k;

	for (i = 0; i < ARRAY_SIZE(x86_regs); i++)
		for (k = 0; k < 4; k++)
			if (!strcmp(x86_regs[i].names[k], reg))
				return x86_regs[i].off;
	return -1;
}

int usdt_parse_args(const char *args, struct ts_usdt_site *spec)
{
	const char *p = args;
	int n = 0;

	spec->nargs = 0;
	while (*p) {
		char reg[16];
		int size, used = 0, off;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (n >= TS_USDT_MAX_ARGS)
			return -E2BIG;
		/* "N@%reg": anything else (memory, constants) is not our ABI */
		if (sscanf(p, "%d@%%%15[a-z0-9]%n", &size, reg, &used) != 2 || !used ||
		    (p[used] && p[used] != ' '))
			return -EINVAL;
		off = reg_offset(reg);
		if (off < 0 || !size || size > 8 || size < -8)
			return -EINVAL;
		spec->args[n].reg_off = (uint16_t)off;
		spec->args[n].size = (int8_t)size;
		n++;
		p += used;
	}
	spec->nargs = (uint32_t)n;
	return n;
}

int usdt_notes__parse(Elf_Data *notes, uint64_t base_addr, struct usdt_site **sites,
		      size_t *n)
{
	size_t off = 0, name_off, desc_off, cap = *n;
	GElf_Nhdr nh;

	while ((off = gelf_getnote(notes, off, &nh, &name_off, &desc_off)) > 0) {
		const char *desc = (const char *)notes->d_buf + desc_off, *prov, *name, *args;
		uint64_t pc, base, sema;
		struct usdt_site site = {}, *nv;

		/* sizes from the file: the name and the descriptor must lie in the data */
		if (name_off > notes->d_size || nh.n_namesz > notes->d_size - name_off ||
		    desc_off > notes->d_size || nh.n_descsz > notes->d_size - desc_off)
			break;
		if (nh.n_type != NT_STAPSDT || nh.n_descsz < 3 * 8 + 3 ||
		    nh.n_namesz != sizeof("stapsdt") ||
		    memcmp((const char *)notes->d_buf + name_off, "stapsdt", sizeof("stapsdt")))
			continue;
		memcpy(&pc, desc, 8);
		memcpy(&base, desc + 8, 8);
		memcpy(&sema, desc + 16, 8);
		prov = desc + 24;
		name = prov + strnlen(prov, nh.n_descsz - 24) + 1;
		if (name >= desc + nh.n_descsz)
			continue;
		args = name + strnlen(name, (size_t)(desc + nh.n_descsz - name)) + 1;
		if (args > desc + nh.n_descsz)
			continue;
		/* nor may the argument string run past the note */
		if (args < desc + nh.n_descsz &&
		    !memchr(args, '\0', (size_t)(desc + nh.n_descsz - args)))
			continue;
		if (strcmp(prov, TS_USDT_PROVIDER))
			continue;
		site.spec.probe = usdt_probe_kind(name);
		if (!site.spec.probe || usdt_parse_args(args < desc + nh.n_descsz ? args : "",
							&site.spec) < 0)
			continue;
		/* prelink may have moved the file: shift by .stapsdt.base's move */
		site.pc = pc + (base_addr - base);
		site.sema = sema ? sema + (base_addr - base) : 0;
		snprintf(site.name, sizeof(site.name), "%s", name);
		nv = ts_array_add(sites, n, &cap);
		if (!nv)
			return -ENOMEM;
		*nv = site;
	}
	return 0;
}
