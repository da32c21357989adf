/*
 * idle_ref: the C reference of the goals bench's idle table: a process-events
 * listener that receives nothing, and what it costs to keep it open.
 *
 *   idle_ref
 *
 * It opens a NETLINK_CONNECTOR socket bound to CN_IDX_PROC and subscribes
 * with the 8-byte struct proc_input (Linux 6.6+) to PROC_EVENT_COREDUMP
 * only, so the kernel's per-socket filter lets (almost) nothing through,
 * as cnproc's `listen({ events: ["coredump"] })` does. Then it prints
 * {"ready":PID} and blocks in poll() on the socket and stdin. Protocol (the
 * same as bench/goals/idle_listener.ts), one command per line on stdin:
 * `start` starts the measurement (getrusage, CLOCK_MONOTONIC); `lap` prints
 * {"lap":{"seconds","cpuUs"}} for the time since `start` or the last `lap`;
 * `stop` (or EOF) ends it and prints
 * {"idle":{"seconds","cpuUs","events","datagrams"}}. Datagrams can
 * still come: the kernel sends its acknowledgement of any process's
 * subscription to every listener, unfiltered.
 *
 * Build: cc -O2 -o bench/out/idle_ref bench/goals/idle_ref.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define US_PER_S 1000000LL
#define BUF_SIZE 4096
#define LINE_SIZE 256
/* Not in older headers: Linux 6.6's filter flag and request. */
#define COREDUMP_EVENT 0x40000000u
struct proc_input_6_6 {
  uint32_t mcast_op;
  uint32_t event_type;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t cpu_us(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (int64_t)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * US_PER_S +
         u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

static int subscribe(int fd) {
  struct {
    struct nlmsghdr nh;
    struct cn_msg cn;
    struct proc_input_6_6 in;
  } __attribute__((packed)) req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = NLMSG_DONE;
  req.cn.id.idx = CN_IDX_PROC;
  req.cn.id.val = CN_VAL_PROC;
  req.cn.len = sizeof req.in;
  req.in.mcast_op = PROC_CN_MCAST_LISTEN;
  req.in.event_type = COREDUMP_EVENT;
  return send(fd, &req, sizeof req, 0) == (ssize_t)sizeof req ? 0 : -1;
}

int main(void) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      subscribe(fd) != 0) {
    perror("idle_ref: subscribe");
    return 1;
  }
  printf("{\"ready\":%d}\n", (int)getpid());
  fflush(stdout);

  static unsigned char buf[BUF_SIZE];
  char line[LINE_SIZE];
  size_t used = 0;
  int64_t t0 = 0, cpu0 = 0, lap_t0 = 0, lap_cpu0 = 0;
  int started = 0;
  uint64_t events = 0, datagrams = 0;
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      perror("idle_ref: poll");
      return 1;
    }
    if (p[0].revents & POLLIN) {
      ssize_t len = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (len > 0) {
        datagrams++;
        const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
        size_t rest = (size_t)len;
        for (; NLMSG_OK(nh, rest); nh = NLMSG_NEXT(nh, rest)) {
          const struct cn_msg *cn = NLMSG_DATA(nh);
          struct proc_event ev;
          if (cn->len < sizeof ev) continue;
          memcpy(&ev, cn->data, sizeof ev);
          if (ev.what != PROC_EVENT_NONE) events++;
        }
      }
    }
    if (!(p[1].revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
    int stop = n <= 0;
    if (n > 0) used += (size_t)n;
    line[used] = 0;
    char *nl;
    while (!stop && (nl = strchr(line, '\n')) != NULL) {
      *nl = 0;
      if (!started && strcmp(line, "start") == 0) {
        started = 1;
        t0 = lap_t0 = now_ns();
        cpu0 = lap_cpu0 = cpu_us();
      } else if (started && strcmp(line, "lap") == 0) {
        int64_t t = now_ns(), cpu = cpu_us();
        printf("{\"lap\":{\"seconds\":%.3f,\"cpuUs\":%lld}}\n",
               (double)(t - lap_t0) / NS_PER_S, (long long)(cpu - lap_cpu0));
        fflush(stdout);
        lap_t0 = t;
        lap_cpu0 = cpu;
      } else if (strcmp(line, "stop") == 0) {
        stop = 1;
      }
      used -= (size_t)(nl + 1 - line);
      memmove(line, nl + 1, used + 1);
    }
    if (used >= sizeof line - 1) used = 0; /* a line too long: dropped */
    if (stop) break;
  }
  double seconds = started ? (double)(now_ns() - t0) / NS_PER_S : 0;
  printf("{\"idle\":{\"seconds\":%.3f,\"cpuUs\":%lld,\"events\":%llu,"
         "\"datagrams\":%llu}}\n",
         seconds, started ? (long long)(cpu_us() - cpu0) : -1LL,
         (unsigned long long)events, (unsigned long long)datagrams);
  return 0;
}
