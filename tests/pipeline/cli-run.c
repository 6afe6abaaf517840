#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli-run.h"

pid_t rv_spawn(const char *const *argv, const char *err) {
  pid_t pid = fork();
  if (pid == 0) {
    int out = open("/dev/null", O_WRONLY), fd = open(err ? err : "/dev/null",
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(fd, 2);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  return pid;
}

int rv_wait(pid_t pid, double limit_s) {
  int status = 0;
  for (double waited = 0; waited < limit_s; waited += 0.01) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -SIGKILL;
}

char *rv_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *s = malloc((size_t)n + 1);
  size_t got = s ? fread(s, 1, (size_t)n, f) : 0;
  fclose(f);
  if (!s) return NULL;
  s[got] = 0;
  if (len) *len = got;
  return s;
}

int rv_remove_tree(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}
