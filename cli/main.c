/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* taskscope COMMAND [OPTIONS]: dispatch, as bpftool does it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "array.h"
#include "cli.h"

/* cli/serve_cmd.c */
int cmd_serve(int argc, char **argv);

static const struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	const char *summary;
} cmds[] = {
	{ "report", cmd_report, "observe a process for a while, print its tasks and stalls" },
	{ "top", cmd_top, "live view of the tasks of one process or of all (htop-like)" },
	{ "probes", cmd_probes, "what taskscope can observe in a process or binary (no attach)" },
	{ "watch", cmd_watch, "stay on, write a report the moment a stall begins" },
	{ "record", cmd_record, "record a timeline (Perfetto) and snapshots to replay later" },
	{ "run", cmd_run, "run a command (cargo test), report and kill what hangs in it" },
	{ "profile", cmd_profile, "where tasks' time goes, per await point (flame graphs)" },
	{ "serve", cmd_serve, "Prometheus metrics and a web dashboard over HTTP" },
	{ "help", cmd_help, "this text" },
	{ "version", cmd_version, "print the version" },
};

int cmd_version(int argc, char **argv)
{
	printf("taskscope %s\n", TASKSCOPE_VERSION);
	return 0;
}

int cmd_help(int argc, char **argv)
{
	size_t i;

	printf("Usage: taskscope COMMAND [OPTIONS]\n\n"
	       "An eBPF observer of async runtimes (tokio, async-std, smol, runtimes with\n"
	       "usdt/taskscope.h probes): what every task of a running process is doing,\n"
	       "and which ones are stuck. Attaching never stops or writes to the target.\n"
	       "\nCommands:\n");
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		printf("  %-10s %s\n", cmds[i].name, cmds[i].summary);
	printf("\nRun 'taskscope COMMAND --help' for a command's options.\n");
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	/* the commands print one line for a bad option, not getopt's own */
	opterr = 0;
	if (argc < 2) {
		ts_err("no command (see taskscope --help)");
		return TS_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return cmd_version(argc - 1, argv + 1);
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].func(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		ts_err("unknown option '%s' (see taskscope --help)", argv[1]);
	else
		ts_err("unknown command '%s' (see taskscope --help)", argv[1]);
	return TS_EXIT_ERROR;
}
