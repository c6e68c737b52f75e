/* /proc readers: processes with no program to observe (kernel threads, zombies). */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"
#include "unit.h"

int main(void)
{
	const char *why;
	char comm[64] = "";
	uint64_t ticks = 0;
	pid_t child;

	CHECK("self has a program", proc_no_program(getpid()) == NULL);
	CHECK("self start time read", proc_start_ticks(getpid(), &ticks) == 0 && ticks > 0);

	/* in a PID namespace, 2 may be anything: only kthreadd is checked */
	if (!proc_comm(2, 0, comm, sizeof(comm)) && !strcmp(comm, "kthreadd")) {
		why = proc_no_program(2);
		CHECK("kthreadd is a kernel thread", why && strstr(why, "kernel thread"));
	} else {
		printf("SKIP kthreadd is not PID 2 here\n");
	}

	child = fork();
	if (child == 0)
		_exit(0);
	if (child > 0) {
		char state = 0;
		int i;

		/* exited, not reaped: a zombie until waitpid */
		for (i = 0; i < 200 && !(proc_state(child, &state) == 0 && state == 'Z'); i++)
			usleep(10000);
		why = proc_no_program(child);
		CHECK("an unreaped child is a zombie", why && strstr(why, "zombie"));
		waitpid(child, NULL, 0);
	}
	UNIT_EXIT();
}
