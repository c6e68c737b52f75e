/*
 * Sampled mode's burst sizing (user/observe/sampled_burst.c): a burst's
 * traps stay within TS_BURST_BUDGET_PPM of a CPU at the rate the last
 * burst measured, between the shortest and the longest length.
 */
#include "sampled.h"
#include "unit.h"

#define MSEC	(1000ULL * 1000)

int main(void)
{
	uint64_t min = 10 * MSEC, max = TS_BURST_MAX_MS * MSEC, every = 1000 * MSEC;
	uint64_t len;
	double cost;

	/* nothing trapped (an idle process, or the first burst found nothing): longest */
	CHECK("no events: longest burst", sampled_burst__sized(min, max, every, 0) == max);
	/* hyper at saturation under wrk -c16: ~60 k trapped events/s */
	len = sampled_burst__sized(min, max, every, 60000);
	CHECK("hot service: shortest burst", len == min);
	/* healthy target: ~1,300 events/s, 0.7 % of a CPU while attached */
	CHECK("quiet service: longest burst", sampled_burst__sized(min, max, every, 1300) == max);
	/* between the bounds: the budget exactly */
	len = sampled_burst__sized(min, max, every, 20000);
	cost = (double)len / (double)every * 20000 * TS_TRAP_NS / 1e9;
	printf("# 20 k events/s: %.1f ms, traps %.3f %% of a CPU\n", len / 1e6, 100 * cost);
	CHECK("in between: sized to the budget", len > min && len < max &&
	      cost > 0.99 * TS_BURST_BUDGET_PPM / 1e6 && cost < 1.01 * TS_BURST_BUDGET_PPM / 1e6);
	/* longer at lower rates, never above the budget at any rate */
	CHECK("monotonic in the rate", sampled_burst__sized(min, max, every, 10000) >=
	      sampled_burst__sized(min, max, every, 30000));
	CHECK("max below min: min", sampled_burst__sized(min, min / 2, every, 0) == min);
	CHECK("negative or NaN rate: longest", sampled_burst__sized(min, max, every, -5) == max &&
	      sampled_burst__sized(min, max, every, 0.0 / 0.0) == max);
	UNIT_EXIT();
}
