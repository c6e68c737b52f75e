// SPDX-License-Identifier: (MIT OR Apache-2.0)
/* Every taskscope probe through libbpf's USDT support (usdt.bpf.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "libbpf_usdt.h"

struct probe_event events[MAX_EVENTS];
__u32 n_events;

static __always_inline struct probe_event *event_new(__u32 probe, __u32 nargs)
{
	__u32 slot = __sync_fetch_and_add(&n_events, 1);
	struct probe_event *e;

	if (slot >= MAX_EVENTS)
		return NULL;
	e = &events[slot];
	e->probe = probe;
	e->nargs = nargs;
	return e;
}

static __always_inline int record(__u32 probe, __u32 nargs, __u64 a0, __u64 a1)
{
	struct probe_event *e = event_new(probe, nargs);

	if (!e)
		return 0;
	e->args[0] = a0;
	e->args[1] = a1;
	return 0;
}

SEC("usdt")
int BPF_USDT(task_spawn, __u64 task, __u64 parent, const char *name, const char *location)
{
	struct probe_event *e = event_new(PROBE_TASK_SPAWN, 4);

	if (!e)
		return 0;
	e->args[0] = task;
	e->args[1] = parent;
	bpf_probe_read_user_str(e->str, sizeof(e->str), name);
	bpf_probe_read_user_str(e->str2, sizeof(e->str2), location);
	return 0;
}

SEC("usdt")
int BPF_USDT(resource_new, __u64 res, __u32 kind, const char *name, __u64 capacity)
{
	struct probe_event *e = event_new(PROBE_RESOURCE_NEW, 4);

	if (!e)
		return 0;
	e->args[0] = res;
	e->args[1] = kind;
	e->args[3] = capacity;
	bpf_probe_read_user_str(e->str, sizeof(e->str), name);
	return 0;
}

SEC("usdt")
int BPF_USDT(poll_start, __u64 task) { return record(PROBE_POLL_START, 1, task, 0); }
SEC("usdt")
int BPF_USDT(poll_end, __u64 task, __u32 ready) { return record(PROBE_POLL_END, 2, task, ready); }
SEC("usdt")
int BPF_USDT(wake, __u64 task, __u64 waker) { return record(PROBE_WAKE, 2, task, waker); }
SEC("usdt")
int BPF_USDT(task_drop, __u64 task) { return record(PROBE_TASK_DROP, 1, task, 0); }
SEC("usdt")
int BPF_USDT(wait_begin, __u64 task, __u64 res) { return record(PROBE_WAIT_BEGIN, 2, task, res); }
SEC("usdt")
int BPF_USDT(wait_end, __u64 task, __u64 res) { return record(PROBE_WAIT_END, 2, task, res); }
SEC("usdt")
int BPF_USDT(acquire, __u64 task, __u64 res) { return record(PROBE_ACQUIRE, 2, task, res); }
SEC("usdt")
int BPF_USDT(release, __u64 task, __u64 res) { return record(PROBE_RELEASE, 2, task, res); }
SEC("usdt")
int BPF_USDT(channel_len, __u64 res, __u64 len) { return record(PROBE_CHANNEL_LEN, 2, res, len); }
SEC("usdt")
int BPF_USDT(abi_version, __u32 version) { return record(PROBE_ABI_VERSION, 1, version, 0); }

char LICENSE[] SEC("license") = "Dual MIT/GPL";
