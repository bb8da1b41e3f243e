/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_CLOCK_H
#define PORTSIDE_LIB_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC: deadlines and rate windows, which a
 * change of the wall clock must not stretch or cut. */

#include <stdint.h>
#include <time.h>

static inline int64_t ps_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
