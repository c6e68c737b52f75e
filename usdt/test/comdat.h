/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/*
 * Probes inside C++ inline functions and templates, which every including
 * object emits in a COMDAT group: the linker keeps one copy, and the note of
 * each dropped copy must go with it (else: "defined in discarded section").
 */
#include "taskscope.h"

template <typename T> inline T comdat_poll(T x)
{
	TASKSCOPE_POLL_START(static_cast<uint64_t>(x));
	return x + 1;
}

inline int comdat_wake(int x)
{
	TASKSCOPE_WAKE(static_cast<uint64_t>(x), 0);
	return x * 2;
}
