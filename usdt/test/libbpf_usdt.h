/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/* Shared by libbpf_usdt.bpf.c and libbpf_usdt.c: what one probe hit left. */
#ifndef LIBBPF_USDT_H
#define LIBBPF_USDT_H

#define MAX_EVENTS	64
#define MAX_STR		48

enum probe_id {
	PROBE_TASK_SPAWN,
	PROBE_POLL_START,
	PROBE_POLL_END,
	PROBE_WAKE,
	PROBE_TASK_DROP,
	PROBE_RESOURCE_NEW,
	PROBE_WAIT_BEGIN,
	PROBE_WAIT_END,
	PROBE_ACQUIRE,
	PROBE_RELEASE,
	PROBE_CHANNEL_LEN,
	PROBE_ABI_VERSION,
};

struct probe_event {
	unsigned int probe;
	unsigned int nargs;
	unsigned long long args[4];
	char str[MAX_STR];	/* name (task_spawn, resource_new) */
	char str2[MAX_STR];	/* location (task_spawn) */
};

#endif
