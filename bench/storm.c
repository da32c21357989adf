/*
 * storm: a bounded load generator of process events.
 *
 *   storm -m fork|exec|thread|vfork|mix [-j workers] [-t seconds] [-p]
 *         [-r tasks_per_second] [-w]
 *
 * The root process forks `-j` workers (default 1); each worker creates tasks
 * (processes or threads) one after the other until `-t` seconds (default 3)
 * have passed, at most `-r` per second in total if given; `mix` cycles
 * through fork, exec, thread and vfork, one second each. `-p` pins worker i
 * to CPU i (modulo the CPU count). With `-w` the root prints its pid as
 * `{"ready":PID}` and waits for a line on stdin before it starts, so a
 * listener can be told which process tree to count.
 *
 * When done, the root prints one JSON line: the tasks created and the
 * process events that the storm's tree (the workers and their tasks, not the
 * root itself) must have caused:
 *   fork, vfork, thread: FORK + EXIT per task
 *   exec:                FORK + EXEC + EXIT per task (/bin/true)
 *   each worker:         FORK + EXIT
 *
 * Build: cc -O2 -pthread -o bench/out/storm bench/storm.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define NS_PER_S 1000000000LL
/* Events per task, and per worker (its own FORK and EXIT). */
#define EVENTS_FORK_EXIT 2
#define EVENTS_FORK_EXEC_EXIT 3
#define EVENTS_PER_WORKER 2
#define EXEC_FAILED_STATUS 127

enum mode { MODE_FORK, MODE_EXEC, MODE_THREAD, MODE_VFORK, MODE_MIX };
#define MIX_MODES 4
#define MIX_PERIOD_NS NS_PER_S

/* Per-worker results, in memory shared with the root. */
struct worker_result {
  int64_t tasks;
  int64_t events; /* events the tasks cause (before exec failures) */
  int64_t failed; /* exec storm: children whose exec failed */
  int64_t errors; /* fork/clone failures (EAGAIN...) */
  int pid;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void *thread_main(void *arg) { return arg; }

static void pin_to(int cpu) {
  cpu_set_t set;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  CPU_ZERO(&set);
  CPU_SET(cpu % (ncpu > 0 ? ncpu : 1), &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
}

/* One task; returns 1 if created, 0 on failure (counted in r). */
static int one_task(enum mode mode, struct worker_result *r) {
  pid_t child = -1;
  int status;
  switch (mode) {
    case MODE_THREAD: {
      pthread_t t;
      if (pthread_create(&t, NULL, thread_main, NULL) != 0) {
        r->errors++;
        return 0;
      }
      pthread_join(t, NULL);
      return 1;
    }
    case MODE_VFORK:
      child = vfork();
      if (child == 0) _exit(0);
      break;
    case MODE_FORK:
      child = fork();
      if (child == 0) _exit(0);
      break;
    case MODE_MIX: /* worker() picks the concrete mode */
      return 0;
    case MODE_EXEC:
      child = fork();
      if (child == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(EXEC_FAILED_STATUS);
      }
      break;
  }
  if (child < 0) {
    r->errors++;
    return 0;
  }
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (mode == MODE_EXEC && WIFEXITED(status) &&
      WEXITSTATUS(status) == EXEC_FAILED_STATUS) {
    r->failed++;
  }
  return 1;
}

static void worker(enum mode mode, int64_t deadline, double rate,
                   struct worker_result *r) {
  int64_t interval = rate > 0 ? (int64_t)(NS_PER_S / rate) : 0;
  int64_t start = now_ns();
  int64_t next = start;
  r->pid = getpid();
  while (now_ns() < deadline) {
    if (interval > 0) {
      struct timespec ts = {next / NS_PER_S, next % NS_PER_S};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
      next += interval;
      if (next >= deadline) break;
    }
    enum mode m = mode;
    if (mode == MODE_MIX) {
      m = (enum mode)(((now_ns() - start) / MIX_PERIOD_NS) % MIX_MODES);
    }
    if (one_task(m, r)) {
      r->tasks++;
      r->events += m == MODE_EXEC ? EVENTS_FORK_EXEC_EXIT : EVENTS_FORK_EXIT;
    }
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: storm -m fork|exec|thread|vfork|mix [-j workers] [-t seconds] "
          "[-p] [-r tasks_per_second] [-w]\n");
  exit(2);
}

int main(int argc, char **argv) {
  enum mode mode = MODE_FORK;
  const char *mode_name = NULL;
  int jobs = 1, pin = 0, wait_go = 0;
  double seconds = 3, rate = 0;
  int opt;
  while ((opt = getopt(argc, argv, "m:j:t:pr:w")) != -1) {
    switch (opt) {
      case 'm':
        mode_name = optarg;
        if (strcmp(optarg, "fork") == 0) mode = MODE_FORK;
        else if (strcmp(optarg, "exec") == 0) mode = MODE_EXEC;
        else if (strcmp(optarg, "thread") == 0) mode = MODE_THREAD;
        else if (strcmp(optarg, "vfork") == 0) mode = MODE_VFORK;
        else if (strcmp(optarg, "mix") == 0) mode = MODE_MIX;
        else usage();
        break;
      case 'j': jobs = atoi(optarg); break;
      case 't': seconds = atof(optarg); break;
      case 'p': pin = 1; break;
      case 'r': rate = atof(optarg); break;
      case 'w': wait_go = 1; break;
      default: usage();
    }
  }
  if (mode_name == NULL || jobs < 1 || jobs > MAX_WORKERS || seconds <= 0 ||
      seconds > 3600 || rate < 0) {
    usage();
  }
  struct worker_result *results =
      mmap(NULL, sizeof(struct worker_result) * MAX_WORKERS,
           PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (results == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  if (wait_go) {
    char line[64];
    printf("{\"ready\":%d}\n", (int)getpid());
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL) return 1;
  }
  int64_t start = now_ns();
  int64_t deadline = start + (int64_t)(seconds * NS_PER_S);
  int started = 0;
  for (int i = 0; i < jobs; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      break;
    }
    if (pid == 0) {
      if (pin) pin_to(i);
      worker(mode, deadline, rate / jobs, &results[i]);
      _exit(0);
    }
    started++;
  }
  for (int i = 0; i < started; i++) {
    while (wait(NULL) < 0 && errno == EINTR) {
    }
  }
  int64_t end = now_ns();
  int64_t tasks = 0, events = 0, failed = 0, errors = 0;
  for (int i = 0; i < started; i++) {
    tasks += results[i].tasks;
    events += results[i].events;
    failed += results[i].failed;
    errors += results[i].errors;
  }
  /* A failed exec gives FORK + EXIT only. */
  int64_t expected = events - failed + (int64_t)started * EVENTS_PER_WORKER;
  double elapsed = (double)(end - start) / NS_PER_S;
  printf("{\"mode\":\"%s\",\"jobs\":%d,\"pinned\":%s,\"root\":%d,\"workers\":[",
         mode_name, started, pin ? "true" : "false", (int)getpid());
  for (int i = 0; i < started; i++) printf("%s%d", i ? "," : "", results[i].pid);
  printf("],\"tasks\":%lld,\"expected\":%lld,\"execFailed\":%lld,"
         "\"errors\":%lld,\"seconds\":%.6f,\"startNs\":%lld,\"endNs\":%lld}\n",
         (long long)tasks, (long long)expected, (long long)failed,
         (long long)errors, elapsed, (long long)start, (long long)end);
  fflush(stdout);
  return started == jobs ? 0 : 1;
}
