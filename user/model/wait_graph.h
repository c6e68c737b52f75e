/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who waits on whom: the wait-for graph of one task model. Tasks point at
 * what they await (a lock, a channel, another task's JoinHandle); each
 * resource points at the tasks that can free it (a guard's holder, the
 * receiver of a full channel, the senders of an empty one). Built from
 * the await chains' leaves and holds (stock tokio) and from the wait and
 * acquire probes (USDT runtimes). Pure: no process, no BPF.
 *
 * A task's edge is "definite" when exactly one task can free what it
 * waits on and nothing outside the tasks' frames can: a mutex guard, an
 * mpsc receiver, a oneshot sender, an mpsc channel whose every live
 * Sender (its tx_count) sits in one task, a JoinHandle. Deadlocks are the
 * cycles of definite edges; several possible freers never make one.
 */
#ifndef TS_WAIT_GRAPH_H
#define TS_WAIT_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "task_model.h"

#define TS_WG_NONE	UINT32_MAX
#define TS_CYCLE_MAX	16

enum ts_wait_kind {
	TS_WAIT_NONE,		/* not waiting on anything the graph knows */
	TS_WAIT_LOCK,		/* mutex, rwlock, semaphore: its holders free it */
	TS_WAIT_SEND,		/* a full channel: its receiver frees it */
	TS_WAIT_RECV,		/* an empty channel: its senders free it */
	TS_WAIT_JOIN,		/* another task's JoinHandle: that task */
	TS_WAIT_NOTIFY,		/* a Notify: anyone may */
	TS_WAIT_OTHER,		/* a USDT resource of another kind */
};

enum ts_res_role {
	TS_ROLE_HOLDS,		/* a guard or permit */
	TS_ROLE_SENDER,		/* a channel's Sender */
	TS_ROLE_RECEIVER,
	TS_ROLE_WAITS,
};

struct ts_res_link {
	uint64_t object;
	uint32_t task;		/* index into ts_process.tasks */
	uint32_t role;		/* enum ts_res_role */
	uint32_t nholds;	/* the same value held that many times (cloned Senders) */
};

struct ts_wres {
	uint64_t object;	/* address (stock tokio) or the runtime's resource id (USDT) */
	const char *kind;	/* "mutex", "rwlock", "semaphore", "mpsc", ..., "channel" */
	char type[96];		/* "Mutex<u64>", "mpsc::channel<u64>"; "" unknown */
	char name[48];		/* USDT: the name it was given; "" */
	bool usdt;
	bool has_len;
	uint64_t capacity, len;
	bool has_senders;
	uint64_t senders;	/* live Senders (mpsc tx_count) */
	uint32_t first, nlinks;	/* its links: links[first .. first + nlinks) */
	uint32_t nholders, nsenders, nreceivers, nwaiters;	/* tasks */
	uint32_t sender_holds;	/* Sender values in task frames */
};

struct ts_task_wait {
	uint8_t kind;		/* enum ts_wait_kind */
	bool definite;		/* exactly one task can free it: target */
	bool self_freer;	/* the only one that could is the waiter itself: never woken */
	uint16_t nfreers;
	uint32_t res;		/* index into res, TS_WG_NONE (JOIN, or none) */
	uint32_t target;	/* JOIN: the awaited task; else the one freer; TS_WG_NONE */
};

struct ts_wait_cycle {
	uint32_t tasks[TS_CYCLE_MAX];	/* tasks[k] waits on what tasks[k + 1] can free */
	int n;
};

struct ts_wait_graph {
	const struct ts_process *p;
	struct ts_wres *res;
	size_t nres;
	struct ts_res_link *links;	/* grouped by resource */
	size_t nlinks;
	struct ts_task_wait *waits;	/* one per task */
	struct ts_wait_cycle *cycles;
	size_t ncycles, cycles_cap;
};

int ts_wait_graph__build(struct ts_wait_graph *g, const struct ts_process *p);
void ts_wait_graph__free(struct ts_wait_graph *g);
const char *ts_wait_kind_name(enum ts_wait_kind k);
const char *ts_res_role_name(enum ts_res_role r);
/* The resource task i waits on, or NULL. */
const struct ts_wres *ts_wait_graph__waits_on(const struct ts_wait_graph *g, size_t i);
/* The resource with that object, or NULL. */
const struct ts_wres *ts_wait_graph__find(const struct ts_wait_graph *g, uint64_t object);
/*
 * The tasks that can free what a waiter of kind k waits on in r: holders
 * of a lock, the receiver of a full channel, the senders of an empty one.
 * Writes at most max task indexes; returns how many there are.
 */
size_t ts_wait_graph__freers(const struct ts_wait_graph *g, const struct ts_wres *r,
			     enum ts_wait_kind k, uint32_t *out, size_t max);
/*
 * The Ids of the tasks linked to r in role, at most max of them, joined by
 * sep ("3, 5, ..."; a block_on root as T<tid>); "-" when none.
 */
void ts_wres__task_ids(const struct ts_wait_graph *g, const struct ts_wres *r,
		       enum ts_res_role role, size_t max, const char *sep, char *buf, size_t len);
/* "Mutex<u64> 0x55d0c0", "mutex \"account_a\"", "mpsc::channel<u64> 0x.. (4/4 full)". */
void ts_wres__label(const struct ts_wres *r, char *buf, size_t len);
/* What task i waits on, as an edge label: "Mutex<u64> 0x..", "JoinHandle of task 7". */
void ts_wait_graph__edge_label(const struct ts_wait_graph *g, size_t i, char *buf, size_t len);
/*
 * Graphviz DOT: tasks (box, coloured by how long they wait) -> what they
 * await (ellipse) -> who can free it; the cycles' edges in red. Only the
 * tasks and resources on some wait edge are drawn.
 */
void ts_wait_graph__write_dot(const struct ts_wait_graph *g, FILE *out, uint64_t stall_ns);

#endif
