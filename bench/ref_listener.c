/*
 * ref_listener: the minimal C reference listener of the storm benchmark.
 *
 *   ref_listener --root PID [--batch N] [--rcvbuf BYTES] [--settle-ms MS]
 *
 * It opens a NETLINK_CONNECTOR socket, binds it to CN_IDX_PROC (nl_pid 0),
 * forces the receive buffer (SO_RCVBUFFORCE, default 8 MiB), subscribes with
 * the 4-byte PROC_CN_MCAST_LISTEN, waits for its acknowledgement and prints
 * {"ready":PID}. Then it drains the socket with recvmmsg batches (poll, then
 * recvmmsg MSG_DONTWAIT until empty) and counts the events of the process
 * tree under --root (descendants learnt from FORK events; the root's own
 * events are not counted), until "stop" or EOF on stdin, and then until
 * 100 ms after the root's own EXIT (so the whole tree is counted: a child's
 * EXIT is sent after its parent is woken). It prints one
 * JSON line: events counted, the kernel's drops (SO_MEMINFO), its CPU time
 * since the first counted event (getrusage) with the number of events of any
 * process received meanwhile ("window"), and the delivery latency
 * (CLOCK_MONOTONIC at receipt minus the event's timestamp_ns). With
 * --settle-ms, the first MS milliseconds after the first counted event are a
 * settling time, as for bench/cnproc_listener.ts: their events are counted,
 * their latency, CPU time and events processed go to "settlingLatency",
 * "settlingCpuUs" and "settlingWindow", and "latency", "cpuUs" and "window"
 * start after it.
 *
 * Build: cc -O2 -pthread -o bench/out/ref_listener bench/ref_listener.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define DEFAULT_BATCH 64
#define DEFAULT_RCVBUF (8 << 20)
/* One slot per datagram: an event is 76 bytes; leave room for more. */
#define SLOT_SIZE 1024
#define ACK_TIMEOUT_MS 1000
#define STOP_GRACE_MS 10000
#define STOP_POLL_MS 10
/* The kernel sends a task's EXIT after waking its parent, so a worker's
 * EXIT can follow the root's: read on this long after the root's EXIT. */
#define LINGER_MS 100
/* Latency histogram: 1 us buckets up to 100 ms, then one overflow bucket. */
#define LAT_BUCKETS 100000
#define NS_PER_US 1000
#define NS_PER_S 1000000000LL
#define US_PER_S 1000000LL
/* pids index a bitmap; pid_max is at most 2^22 on Linux. */
#define PID_LIMIT (1 << 22)

static unsigned char tracked[PID_LIMIT];
struct histogram {
  uint32_t buckets[LAT_BUCKETS + 1];
  uint64_t count, max_ns;
};
static struct histogram latency, settling_latency;
/* The settling time, and when it ends (-1: no event counted yet). */
static int64_t settle_ns, settled_at = -1;
static uint64_t n_fork, n_exec, n_exit, n_other, n_all, n_window, n_enobufs;
/* Events processed while settling, and the settling time's CPU time. */
static uint64_t n_settling;
static int64_t settling_cpu_us;
static struct rusage settling_usage0;
static int root_pid;
static int root_exited;
static int started;
static struct rusage usage0;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t cpu_us(const struct rusage *u) {
  return (int64_t)(u->ru_utime.tv_sec + u->ru_stime.tv_sec) * US_PER_S +
         u->ru_utime.tv_usec + u->ru_stime.tv_usec;
}

static int is_tracked(uint32_t pid) { return pid < PID_LIMIT && tracked[pid]; }

static void record_latency(struct histogram *h, uint64_t ts_ns, int64_t now) {
  int64_t d = now - (int64_t)ts_ns;
  if (d < 0) d = 0;
  uint64_t us = (uint64_t)d / NS_PER_US;
  h->buckets[us < LAT_BUCKETS ? us : LAT_BUCKETS]++;
  if ((uint64_t)d > h->max_ns) h->max_ns = (uint64_t)d;
  h->count++;
}

/* Count one event if it belongs to the tree; returns 1 if counted. */
static int count_event(const struct proc_event *ev) {
  switch (ev->what) {
    case PROC_EVENT_FORK: {
      uint32_t parent = ev->event_data.fork.parent_tgid;
      uint32_t child = ev->event_data.fork.child_tgid;
      if (!is_tracked(parent) && !is_tracked(child)) return 0;
      if (child < PID_LIMIT) tracked[child] = 1;
      n_fork++;
      return 1;
    }
    case PROC_EVENT_EXEC:
      if (!is_tracked(ev->event_data.exec.process_tgid)) return 0;
      n_exec++;
      return 1;
    case PROC_EVENT_EXIT: {
      uint32_t pid = ev->event_data.exit.process_tgid;
      if ((int)pid == root_pid &&
          ev->event_data.exit.process_pid == root_pid) {
        root_exited = 1;
      }
      if (!is_tracked(pid) || (int)pid == root_pid) return 0;
      if ((uint32_t)ev->event_data.exit.process_pid == pid) tracked[pid] = 0;
      n_exit++;
      return 1;
    }
    case PROC_EVENT_NONE:
      return 0;
    default:
      /* uid, gid, sid, comm...: the first union member is pid, tgid. */
      if (!is_tracked(ev->event_data.id.process_tgid)) return 0;
      n_other++;
      return 1;
  }
}

static void handle_datagram(const unsigned char *buf, size_t len, int64_t now) {
  const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
  for (; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
    const struct cn_msg *cn = NLMSG_DATA(nh);
    if (cn->id.idx != CN_IDX_PROC || cn->len < sizeof(struct proc_event)) {
      continue;
    }
    struct proc_event ev; /* copied: timestamp_ns is not 8-aligned here */
    memcpy(&ev, cn->data, sizeof ev);
    if (ev.what == PROC_EVENT_NONE) continue;
    n_all++;
    if (started) n_window++;
    else if (settled_at >= 0) n_settling++;
    if (count_event(&ev)) {
      if (settled_at < 0) { /* the first counted event */
        settled_at = now + settle_ns;
        getrusage(RUSAGE_SELF, &settling_usage0);
        n_settling = 1;
      }
      if (now < settled_at) {
        record_latency(&settling_latency, ev.timestamp_ns, now);
        continue;
      }
      if (!started) {
        started = 1;
        n_window = 1;
        n_settling--; /* this event starts the timed part */
        getrusage(RUSAGE_SELF, &usage0);
        settling_cpu_us = cpu_us(&usage0) - cpu_us(&settling_usage0);
      }
      record_latency(&latency, ev.timestamp_ns, now);
    }
  }
}

static struct mmsghdr msgs[MAX_BATCH];
static struct iovec iovs[MAX_BATCH];
static unsigned char bufs[MAX_BATCH][SLOT_SIZE];

/* Drain until the socket is empty. */
static void drain(int fd, int batch) {
  for (;;) {
    for (int i = 0; i < batch; i++) msgs[i].msg_hdr.msg_flags = 0;
    int n = recvmmsg(fd, msgs, batch, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == ENOBUFS) {
        n_enobufs++;
        continue;
      }
      if (errno != EAGAIN && errno != EINTR) perror("recvmmsg");
      return;
    }
    int64_t now = now_ns();
    for (int i = 0; i < n; i++) handle_datagram(bufs[i], msgs[i].msg_len, now);
    if (n < batch) return;
  }
}

static int send_op(int fd, enum proc_cn_mcast_op op, uint32_t nonce) {
  struct {
    struct nlmsghdr nh;
    struct cn_msg cn;
    enum proc_cn_mcast_op op;
  } __attribute__((packed)) req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = NLMSG_DONE;
  req.nh.nlmsg_pid = 0;
  req.cn.id.idx = CN_IDX_PROC;
  req.cn.id.val = CN_VAL_PROC;
  req.cn.ack = nonce;
  req.cn.len = sizeof req.op;
  req.op = op;
  return send(fd, &req, sizeof req, 0) == (ssize_t)sizeof req ? 0 : -1;
}

/* Wait for the acknowledgement of our LISTEN (cn_msg.ack == nonce + 1). */
static int wait_ack(int fd, uint32_t nonce) {
  int64_t deadline = now_ns() + (int64_t)ACK_TIMEOUT_MS * (NS_PER_S / 1000);
  unsigned char buf[SLOT_SIZE];
  for (;;) {
    int64_t left = deadline - now_ns();
    if (left <= 0) return -1;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)(left / (NS_PER_S / 1000)) + 1) <= 0) continue;
    ssize_t len = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (len <= 0) continue;
    const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
    size_t rest = (size_t)len;
    for (; NLMSG_OK(nh, rest); nh = NLMSG_NEXT(nh, rest)) {
      const struct cn_msg *cn = NLMSG_DATA(nh);
      struct proc_event ev;
      memcpy(&ev, cn->data, sizeof ev);
      if (ev.what == PROC_EVENT_NONE && cn->ack == nonce + 1) {
        return (int)ev.event_data.ack.err;
      }
    }
  }
}

static uint64_t percentile_us(const struct histogram *h, double q) {
  if (h->count == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)h->count);
  if (want >= h->count) want = h->count - 1;
  uint64_t seen = 0;
  for (int i = 0; i <= LAT_BUCKETS; i++) {
    seen += h->buckets[i];
    if (seen > want) return (uint64_t)i;
  }
  return LAT_BUCKETS;
}

/* A histogram as the listeners print it: {"n":..,"p50Us":..,...}. */
static void print_histogram(const struct histogram *h) {
  printf("{\"n\":%llu,\"p50Us\":%llu,\"p99Us\":%llu,\"maxUs\":%llu}",
         (unsigned long long)h->count, (unsigned long long)percentile_us(h, 0.5),
         (unsigned long long)percentile_us(h, 0.99),
         (unsigned long long)(h->max_ns / NS_PER_US));
}

static int64_t meminfo_drops(int fd) {
  uint32_t mem[SK_MEMINFO_VARS];
  socklen_t len = sizeof mem;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0) return -1;
  return mem[SK_MEMINFO_DROPS];
}

int main(int argc, char **argv) {
  int batch = DEFAULT_BATCH, rcvbuf = DEFAULT_RCVBUF, settle_ms = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--root") == 0) root_pid = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--batch") == 0) batch = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--rcvbuf") == 0) rcvbuf = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--settle-ms") == 0) settle_ms = atoi(argv[i + 1]);
  }
  if (root_pid <= 0 || root_pid >= PID_LIMIT || batch < 1 ||
      batch > MAX_BATCH || settle_ms < 0) {
    fprintf(stderr, "usage: ref_listener --root PID [--batch N<=%d] "
                    "[--rcvbuf BYTES] [--settle-ms MS>=0]\n", MAX_BATCH);
    return 2;
  }
  settle_ns = (int64_t)settle_ms * (NS_PER_S / 1000);
  tracked[root_pid] = 1;
  for (int i = 0; i < MAX_BATCH; i++) {
    iovs[i].iov_base = bufs[i];
    iovs[i].iov_len = SLOT_SIZE;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    perror("SO_RCVBUFFORCE");
  }
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_pid = 0,
                             .nl_groups = CN_IDX_PROC};
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    perror("bind");
    return 1;
  }
  uint32_t nonce = (uint32_t)now_ns() ^ (uint32_t)getpid();
  if (send_op(fd, PROC_CN_MCAST_LISTEN, nonce) != 0) {
    perror("send");
    return 1;
  }
  int err = wait_ack(fd, nonce);
  if (err != 0) {
    fprintf(stderr, "subscription failed: %s\n",
            err < 0 ? "no acknowledgement" : strerror(err));
    return 1;
  }
  printf("{\"ready\":%d}\n", (int)getpid());
  fflush(stdout);

  struct pollfd fds[2] = {{fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
  char line[256];
  size_t line_len = 0;
  int stop = 0;
  int64_t stop_deadline = 0;
  int lingering = 0;
  /* After "stop", read on until LINGER_MS after the root's own EXIT, or
   * STOP_GRACE_MS without it. */
  while (!(stop && now_ns() > stop_deadline)) {
    if (poll(fds, stop ? 1 : 2, stop ? STOP_POLL_MS : -1) < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      break;
    }
    if (fds[0].revents & (POLLIN | POLLERR)) drain(fd, batch);
    if (!stop && (fds[1].revents & (POLLIN | POLLHUP))) {
      ssize_t r = read(STDIN_FILENO, line + line_len, sizeof line - 1 - line_len);
      if (r > 0) {
        line_len += (size_t)r;
        line[line_len] = 0;
        if (line_len >= sizeof line - 1) line_len = 0;
      }
      if (!stop && (r <= 0 || strstr(line, "stop") != NULL)) {
        stop = 1;
        stop_deadline = now_ns() + (int64_t)STOP_GRACE_MS * (NS_PER_S / 1000);
      }
    }
    if (stop && root_exited && !lingering) {
      lingering = 1;
      stop_deadline = now_ns() + (int64_t)LINGER_MS * (NS_PER_S / 1000);
    }
  }
  drain(fd, batch);
  struct rusage usage1;
  getrusage(RUSAGE_SELF, &usage1);
  int64_t drops = meminfo_drops(fd);
  send_op(fd, PROC_CN_MCAST_IGNORE, 0);
  close(fd);
  uint64_t received = n_fork + n_exec + n_exit + n_other;
  printf("{\"listener\":\"c\",\"received\":%llu,\"fork\":%llu,\"exec\":%llu,"
         "\"exit\":%llu,\"other\":%llu,\"all\":%llu,\"window\":%llu,\"drops\":%lld,"
         "\"lost\":%lld,\"rootExitSeen\":%s,\"enobufs\":%llu,\"cpuUs\":%lld,",
         (unsigned long long)received, (unsigned long long)n_fork,
         (unsigned long long)n_exec, (unsigned long long)n_exit,
         (unsigned long long)n_other, (unsigned long long)n_all,
         (unsigned long long)n_window,
         (long long)drops, (long long)drops, root_exited ? "true" : "false",
         (unsigned long long)n_enobufs,
         (long long)(started ? cpu_us(&usage1) - cpu_us(&usage0) : 0));
  printf("\"settlingWindow\":%llu,\"settlingCpuUs\":%lld,",
         (unsigned long long)n_settling, (long long)settling_cpu_us);
  printf("\"latency\":");
  print_histogram(&latency);
  printf(",\"settlingLatency\":");
  print_histogram(&settling_latency);
  printf("}\n");
  fflush(stdout);
  return 0;
}
