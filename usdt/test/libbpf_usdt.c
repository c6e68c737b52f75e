// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * libbpf_usdt TARGET: attach every taskscope probe of TARGET with
 * bpf_program__attach_usdt (pid -1: any process running TARGET), run TARGET,
 * then print what the BPF side saw as "got <probe> <args>" lines in the
 * shape probes_all prints its "expect" lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "libbpf_usdt.h"
#include "libbpf_usdt.skel.h"

#define MAX_LINKS 16

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void print_event(const struct probe_event *e, const char *name)
{
	switch (e->probe) {
	case PROBE_TASK_SPAWN:
		printf("got %s %llx %llx %s %s\n", name, e->args[0], e->args[1], e->str, e->str2);
		break;
	case PROBE_RESOURCE_NEW:
		printf("got %s %llx %llx %s %llx\n", name, e->args[0], e->args[1], e->str,
		       e->args[3]);
		break;
	default:
		if (e->nargs == 1)
			printf("got %s %llx\n", name, e->args[0]);
		else
			printf("got %s %llx %llx\n", name, e->args[0], e->args[1]);
	}
}

int main(int argc, char **argv)
{
	/* Indexed by enum probe_id; also the BPF program names. */
	static const char *const names[] = {
		"task_spawn", "poll_start", "poll_end", "wake", "task_drop", "resource_new",
		"wait_begin", "wait_end", "acquire", "release", "channel_len", "abi_version",
	};
	struct libbpf_usdt_bpf *skel = NULL;
	struct bpf_link *links[MAX_LINKS];
	unsigned int n_links = 0;
	struct bpf_program *prog;
	int err = 0, status;
	unsigned int i, n;
	pid_t child;

	if (argc != 2) {
		fprintf(stderr, "usage: %s TARGET\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print_libbpf);

	skel = libbpf_usdt_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "error: open/load BPF: %s\n", strerror(errno));
		goto cleanup;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		if (n_links == MAX_LINKS)
			break;
		links[n_links] = bpf_program__attach_usdt(prog, -1, argv[1], "taskscope",
							  bpf_program__name(prog), NULL);
		if (!links[n_links]) {
			err = -errno;
			fprintf(stderr, "error: attach %s: %s\n", bpf_program__name(prog),
				strerror(errno));
			goto cleanup;
		}
		n_links++;
	}

	fflush(stdout);
	child = fork();
	if (child < 0) {
		err = -errno;
		goto cleanup;
	}
	if (child == 0) {
		execl(argv[1], argv[1], (char *)NULL);
		_exit(127);
	}
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "error: target failed (status %d)\n", status);
		err = -ECHILD;
		goto cleanup;
	}

	n = skel->bss->n_events;
	if (n > MAX_EVENTS) {
		fprintf(stderr, "error: %u events overflow %d slots\n", n, MAX_EVENTS);
		n = MAX_EVENTS;
	}
	for (i = 0; i < n; i++) {
		const struct probe_event *e = &skel->bss->events[i];

		if (e->probe < sizeof(names) / sizeof(names[0]))
			print_event(e, names[e->probe]);
	}

cleanup:
	while (n_links)
		bpf_link__destroy(links[--n_links]);
	libbpf_usdt_bpf__destroy(skel);
	return err ? 1 : 0;
}
