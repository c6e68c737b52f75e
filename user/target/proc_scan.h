/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * System-wide discovery: which processes run a tokio binary. A binary is
 * told by its file, so the verdict is cached by (device, inode, size,
 * mtime) and every binary on the host is read once however many processes
 * run it and however often /proc is rescanned.
 */
#ifndef TS_PROC_SCAN_H
#define TS_PROC_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_scan_bin {
	uint64_t dev, ino;
	int64_t size, mtime_ns;
	bool tokio;
};

struct proc_scan {
	struct proc_scan_bin *bins;
	size_t nbins, cap;
	uint64_t binaries_read;		/* ELF files loaded, for tests and -v */
	uint64_t pids_seen;		/* processes looked at by the last scan */
};

/* True when /proc/PID/exe is a binary with tokio task symbols. */
bool proc_scan__is_supported(struct proc_scan *s, pid_t pid);
/*
 * Every process (but this one) running a tokio binary, ascending, at most
 * max. Returns the count or -errno.
 */
int proc_scan__tokio_pids(struct proc_scan *s, pid_t *pids, size_t max);
void proc_scan__free(struct proc_scan *s);

#endif
