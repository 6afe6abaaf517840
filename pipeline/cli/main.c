#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Subcommands: each issue that adds one adds its row here. */
extern const rv_cli_command rv_cli_info;
extern const rv_cli_command rv_cli_analyze;
extern const rv_cli_command rv_cli_synth;
extern const rv_cli_command rv_cli_eval;

static const rv_cli_command *const commands[] = {
    &rv_cli_analyze,
    &rv_cli_eval,
    &rv_cli_info,
    &rv_cli_synth,
    NULL,
};

int rv_cli_exit_code(rv_status st) {
  switch (st) {
  case RV_OK:
  case RV_EOF: return RV_EXIT_OK;
  case RV_ERR_INVALID: return RV_EXIT_USAGE;
  case RV_ERR_FORMAT:
  case RV_ERR_NOT_FOUND:
  case RV_ERR_IO: return RV_EXIT_INPUT;
  default: return RV_EXIT_RUNTIME;
  }
}

void rv_cli_error(const char *cmd, rv_status st, const char *what) {
  const char *detail = rv_last_error();
  if (detail[0])
    fprintf(stderr, "ringvit %s: %s: %s (%s)\n", cmd, what, rv_status_str(st), detail);
  else
    fprintf(stderr, "ringvit %s: %s: %s\n", cmd, what, rv_status_str(st));
}

static void usage(FILE *out) {
  fprintf(out, "usage: ringvit COMMAND [options]   (ringvit COMMAND --help for its options)\n\ncommands:\n");
  for (size_t i = 0; commands[i]; i++) fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(out, "\n  --version  print version and the optional parts built in\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return RV_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(stdout);
    return RV_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("%s\n", rv_version_string());
    return RV_EXIT_OK;
  }
  for (size_t i = 0; commands[i]; i++)
    if (!strcmp(argv[1], commands[i]->name)) return commands[i]->main(argc - 1, argv + 1);
  fprintf(stderr, "ringvit: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return RV_EXIT_USAGE;
}
