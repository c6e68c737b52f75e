// SPDX-License-Identifier: (MIT OR Apache-2.0)
#include "comdat.h"

int comdat_a(int x);

int comdat_a(int x)
{
	return comdat_poll(x) + comdat_wake(x);
}
