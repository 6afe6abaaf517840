/* The `ringvit` command line: one file per subcommand, listed in main.c.
 * Exit codes (DESIGN.md section 8): 0 ok, 1 bad usage, 2 input error, 3 runtime failure. */
#ifndef RINGVIT_CLI_H
#define RINGVIT_CLI_H

#include <ringvit/ringvit.h>

enum { RV_EXIT_OK = 0, RV_EXIT_USAGE = 1, RV_EXIT_INPUT = 2, RV_EXIT_RUNTIME = 3 };

typedef struct rv_cli_command {
  const char *name;
  const char *summary; /* one line for `ringvit --help` */
  int (*main)(int argc, char **argv); /* argv[0] is the subcommand name */
} rv_cli_command;

/* Maps a failing status to the exit code: input errors (format, not found, I/O) give 2,
 * usage errors 1, everything else 3. */
int rv_cli_exit_code(rv_status st);

/* Prints "ringvit CMD: message" plus the library's last error when there is one. */
void rv_cli_error(const char *cmd, rv_status st, const char *what);

#endif
