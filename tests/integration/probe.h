#ifndef RB_PROBE_H
#define RB_PROBE_H

/* Small socket helpers the C test probes share. */

/* poll() fd for ev up to ms, across EINTR: revents, 0 on timeout. */
int probe_wait(int fd, short ev, int ms);

/* An int socket option, or -1 when it cannot be read. */
int probe_int(int fd, int level, int name);

/* TCP_INFO's tcpi_state, or -1. */
int probe_tcp_state(int fd);

/* How many of descriptors 0-1023 are open. */
int probe_count_fds(void);

#endif
