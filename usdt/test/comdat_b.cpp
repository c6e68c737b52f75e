// SPDX-License-Identifier: (MIT OR Apache-2.0)
#include "comdat.h"

int comdat_a(int x);

int main()
{
	return comdat_poll(3) + comdat_wake(4) + comdat_a(1) > 100;
}
