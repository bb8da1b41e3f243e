/* SPDX-License-Identifier: MIT */
#ifndef PORTSIDE_LIB_IDENTITY_H
#define PORTSIDE_LIB_IDENTITY_H

/* Identities the kernel never hands out twice while the system runs, unlike
 * a pid (anyone can fork until it comes round) or a namespace's inode number
 * (reused once the namespace is freed, and `unshare -rn` makes one without
 * privilege): what tells portside that a process or network namespace it
 * recorded is still the same one.
 *
 *  - a process: its pid with its start time (field 22 of /proc/PID/stat,
 *    clock ticks after boot). Another process with that pid would have to
 *    start in the same tick, which a pid that has to come round cannot.
 *  - a network namespace: its cookie (SO_NETNS_COOKIE, Linux 5.14 and
 *    later), a 64-bit counter, never reused. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The start time in the text of a /proc/PID/stat (BUF, LEN bytes), field 22,
 * counted from the comm's last ')' (a comm may hold spaces and parentheses).
 * -EINVAL when it is not there or not a number. */
int ps_stat_start_time(const char *buf, size_t len, unsigned long long *out);

/* The start time of the process whose /proc directory PROCDIR is (an fd of
 * /proc/PID: it names that process, never a later one with its pid). */
int ps_proc_start_time(int procdir, unsigned long long *out);

/* The boot time in the text of a /proc/stat (BUF, LEN bytes), its "btime"
 * line: seconds since the epoch. -EINVAL when it is not there. */
int ps_stat_boot_time(const char *buf, size_t len, time_t *out);

/* The wall-clock second a process of start time START (ticks after boot)
 * began in, at the earliest (/proc/stat's btime is whole seconds, cut down):
 * what a pid file's mtime is compared with, the file having been written by
 * the process after it started. */
int ps_start_wall_time(unsigned long long start, time_t *out);

/* Process PID pinned, race-free: *PROCDIR (may be NULL) its /proc/PID
 * directory, *START its start time, *PIDFD (may be NULL) a pidfd, all of one
 * process, checked after the pidfd was taken (the directory still names a
 * process and the pidfd's has not exited: both hold PID, so they are one).
 * -ESRCH when it is gone or exited meanwhile (a zombie counts as gone). */
int ps_proc_pin(pid_t pid, int *pidfd, int *procdir, unsigned long long *start);

/* The cookie of the network namespace NSFD (a descriptor of it) in *OUT,
 * read on a socket made there by a short-lived thread (the caller's other
 * threads never change namespace); needs CAP_SYS_ADMIN over the namespace.
 * -ENOPROTOOPT on a kernel before 5.14, which has none. */
int ps_netns_cookie(int nsfd, uint64_t *out);

#endif
