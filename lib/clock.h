/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_CLOCK_H
#define PORTSIDE_LIB_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC: deadlines and rate windows, which a
 * change of the wall clock must not stretch or cut. */

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

static inline int64_t ps_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since ST's mtime, by the wall clock a file's times are in;
 * negative for a time in the future (the clock went back). What a stamp
 * file's age is measured with (ps_gc_due, the uid scan's record). */
static inline int64_t ps_mtime_age_ms(const struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return ((int64_t)now.tv_sec - st->st_mtim.tv_sec) * 1000 + (now.tv_nsec - st->st_mtim.tv_nsec) / 1000000;
}

#endif
