/* Running command-line programs from tests: spawn with stderr to a file, wait with a
 * limit (a hang fails the test instead of holding ctest), read a file whole. */
#ifndef RINGVIT_TEST_CLI_RUN_H
#define RINGVIT_TEST_CLI_RUN_H

#include <stddef.h>
#include <sys/types.h>

/* Starts argv[0] (a path) with argv; stdout to /dev/null, stderr to `err` (NULL: none). */
pid_t rv_spawn(const char *const *argv, const char *err);
/* Waits for pid at most limit_s seconds (then kills it: -SIGKILL). Returns the exit status,
 * or -signal. */
int rv_wait(pid_t pid, double limit_s);
/* The file's bytes with a NUL after them (NULL when it cannot be read); *len may be NULL. */
char *rv_slurp(const char *path, size_t *len);
/* rm -rf dir: 0 on success (test teardowns). */
int rv_remove_tree(const char *dir);

#endif
