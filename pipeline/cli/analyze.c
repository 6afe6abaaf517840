/* ringvit analyze IN: the whole pipeline from a video file to tracks, actions and a report. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/annot.h>
#include <ringvit/comm.h>
#include <ringvit/pipeline.h>
#include <ringvit/report.h>

#include "cli.h"
#include "progress.h"

typedef struct analyze_opts {
  rv_pipeline_cfg cfg;
  const char *out, *mot, *report;
  int quiet, resume;
} analyze_opts;

static void usage(FILE *f) {
  fprintf(f, "usage: ringvit analyze IN [options]\n"
             "  Tracks objects and finds actions in a video; writes JSON Lines (one line per\n"
             "  sampled frame, action events on their own lines).\n\n"
             "  -o, --output FILE    JSON Lines output (default: stdout)\n"
             "      --mot FILE       MOTChallenge txt of the tracks\n"
             "      --report FILE    self-contained HTML report\n"
             "      --model FILE     model (default: the demo model, or $RINGVIT_MODEL)\n"
             "      --fps F          sampling rate (default: the model's)\n"
             "      --device D       cpu, cuda or auto (default auto)\n"
             "      --threads N      CPU threads (default: all cores)\n"
             "      --mode M         offline (whole recording) or stream (frame-causal)\n"
             "      --window S       offline: temporal context of +-S seconds, the past S for a\n"
             "                       frame-causal model (default: all)\n"
             "      --context S      stream: seconds of history (default 60)\n"
             "      --threshold X    detection score threshold (default: the model's, else 0.3)\n"
             "      --start T        start at T seconds\n"
             "      --end T          stop at T seconds\n"
             "      --resume         continue an interrupted run from its -o (and --mot) file\n"
             "  -q, --quiet          no progress output, no info lines (RINGVIT_LOG overrides)\n"
             "  -h, --help           this text\n\n"
             "Under `mpirun -np R ringvit analyze ...` the work is spread over the R processes:\n"
             "each decodes the input but keeps and encodes only its share of the frames (the\n"
             "temporal stage is ring-distributed; offline, memory per rank is about 1/R), and\n"
             "rank 0 gathers the heads' outputs and writes (the others print only errors). RINGVIT_COMM_TIMEOUT (seconds, default 60) bounds\n"
             "each wait for another rank; a rank that dies makes the others fail within it.\n\n"
             "exit status: 0 ok, 1 bad usage, 2 input error, 3 runtime failure\n");
}

static int parse_double(const char *s, double lo, double hi, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return 0;
  *out = v;
  return 1;
}

static int bad_value(const char *opt, const char *val) {
  fprintf(stderr, "ringvit analyze: bad value for --%s: '%s' (see --help)\n", opt, val);
  return RV_EXIT_USAGE;
}

/* Options that take a number. Returns 0 or an exit code. */
static int number_opt(analyze_opts *o, const char *name, const char *val) {
  double v = 0;
  struct {
    const char *name;
    double lo, hi;
    double *dst;
  } nums[] = {
      {"fps", 0.001, 1000, &o->cfg.fps},          {"window", 0.001, 1e7, &o->cfg.window_s},
      {"context", 0.001, 1e7, &o->cfg.context_s}, {"start", 0, 1e9, &o->cfg.start_s},
      {"end", 0.001, 1e9, &o->cfg.end_s},
  };
  for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
    if (strcmp(name, nums[i].name)) continue;
    if (!parse_double(val, nums[i].lo, nums[i].hi, &v)) return bad_value(name, val);
    *nums[i].dst = v;
    return 0;
  }
  if (!strcmp(name, "threshold")) {
    if (!parse_double(val, 0.001, 0.999, &v)) return bad_value(name, val);
    o->cfg.threshold = (float)v;
  } else if (!strcmp(name, "threads")) {
    if (!parse_double(val, 1, 1024, &v) || v != floor(v)) return bad_value(name, val);
    o->cfg.threads = (int)v;
  }
  return 0;
}

static int choice_opt(analyze_opts *o, const char *name, const char *val) {
  if (!strcmp(name, "device")) {
    if (!strcmp(val, "cpu"))
      o->cfg.device = RV_DEVICE_CPU;
    else if (!strcmp(val, "cuda"))
      o->cfg.device = RV_DEVICE_CUDA;
    else if (!strcmp(val, "auto"))
      o->cfg.device = RV_DEVICE_AUTO;
    else
      return bad_value("device", val);
  } else if (!strcmp(name, "mode")) {
    if (!strcmp(val, "offline"))
      o->cfg.mode = RV_MODE_OFFLINE;
    else if (!strcmp(val, "stream"))
      o->cfg.mode = RV_MODE_STREAM;
    else
      return bad_value("mode", val);
  }
  return 0;
}

static int parse_args(int argc, char **argv, analyze_opts *o) {
  static const struct option longs[] = {{"output", required_argument, 0, 'o'},
                                        {"mot", required_argument, 0, 0},
                                        {"report", required_argument, 0, 0},
                                        {"model", required_argument, 0, 0},
                                        {"fps", required_argument, 0, 0},
                                        {"device", required_argument, 0, 0},
                                        {"threads", required_argument, 0, 0},
                                        {"mode", required_argument, 0, 0},
                                        {"window", required_argument, 0, 0},
                                        {"context", required_argument, 0, 0},
                                        {"threshold", required_argument, 0, 0},
                                        {"start", required_argument, 0, 0},
                                        {"end", required_argument, 0, 0},
                                        {"resume", no_argument, 0, 0},
                                        {"quiet", no_argument, 0, 'q'},
                                        {"help", no_argument, 0, 'h'},
                                        {0, 0, 0, 0}};
  int c, idx = 0, rc;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:qh", longs, &idx)) != -1) {
    if (c == 'o')
      o->out = optarg;
    else if (c == 'q')
      o->quiet = 1;
    else if (c == 'h')
      return usage(stdout), -1;
    else if (c != 0) {
      fprintf(stderr, "ringvit analyze: unknown or incomplete option '%s' (see --help)\n",
              argv[optind - 1]);
      return RV_EXIT_USAGE;
    } else {
      const char *n = longs[idx].name;
      if (!strcmp(n, "mot"))
        o->mot = optarg;
      else if (!strcmp(n, "report"))
        o->report = optarg;
      else if (!strcmp(n, "model"))
        o->cfg.model = optarg;
      else if (!strcmp(n, "resume"))
        o->resume = 1;
      else if ((rc = number_opt(o, n, optarg)) || (rc = choice_opt(o, n, optarg)))
        return rc;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "ringvit analyze: expected one input file (see --help)\n");
    return RV_EXIT_USAGE;
  }
  o->cfg.input = argv[optind];
  if (o->resume && (!o->out || !strcmp(o->out, "-"))) {
    fprintf(stderr, "ringvit analyze: --resume needs an output file (-o)\n");
    return RV_EXIT_USAGE;
  }
  return 0;
}

/* ---- the run ---- */

typedef struct run_state {
  analyze_opts *o;
  rv_pipeline *p;
  rv_jsonl_writer *jsonl;
  rv_mot_writer *mot;
  rv_report *report;
  rv_progress progress;
  int64_t frames, actions;
  uint64_t max_id;
  int64_t n_ids;
  double first_s, last_s;
} run_state;

static void on_progress(void *user, const rv_pipeline_progress *pr) {
  run_state *r = user;
  rv_progress_update(&r->progress, rv_progress_now(), (int64_t)(pr->position_s * 1e9),
                     (int64_t)(pr->duration_s * 1e9), pr->frames);
}

static rv_status write_frame(run_state *r, const rv_frame_result *fr) {
  rv_status st = RV_OK;
  rv_annot_object objs_stack[64], *objs = objs_stack;
  rv_report_object robjs_stack[64], *robjs = robjs_stack;
  if (fr->n_objects > 64) {
    objs = malloc((size_t)fr->n_objects * sizeof *objs);
    robjs = malloc((size_t)fr->n_objects * sizeof *robjs);
    if (!objs || !robjs) RV_TRY_FAIL(RV_ERR_NOMEM, "%d objects", fr->n_objects);
  }
  for (int i = 0; i < fr->n_objects; i++) {
    const rv_object *o = &fr->objects[i];
    objs[i] = (rv_annot_object){o->track_id, o->x,     o->y,        o->x + o->w,
                                o->y + o->h, o->score, o->label_id, o->label};
    robjs[i] = (rv_report_object){o->track_id, o->label, o->x, o->y, o->w, o->h, o->score};
    if (o->track_id > r->max_id) r->max_id = o->track_id, r->n_ids++;
  }
  rv_annot_frame af = {fr->pts_ns, fr->frame_index, fr->width, fr->height, objs, fr->n_objects};
  RV_TRY(rv_jsonl_write_frame(r->jsonl, &af));
  /* MOT frames are source frames, as in the GT of the same video, also when sampling skips */
  int64_t mot_frame = fr->frame_index >= 0 ? fr->frame_index + 1 : r->frames + 1;
  if (r->mot) RV_TRY(rv_mot_write_frame(r->mot, mot_frame, objs, fr->n_objects));
  if (r->report) {
    rv_report_image img = {fr->thumb, fr->thumb_w, fr->thumb_h, fr->thumb_w * 3};
    RV_TRY(rv_report_add_frame_image(r->report, fr->pts_ns, fr->width, fr->height, robjs,
                                     fr->n_objects, fr->thumb ? &img : NULL));
  }
  if (r->frames == 0) r->first_s = (double)fr->pts_ns * 1e-9;
  r->last_s = (double)fr->pts_ns * 1e-9;
  r->frames++;
fail:
  if (objs != objs_stack) free(objs);
  if (robjs != robjs_stack) free(robjs);
  return st;
}

static rv_status write_actions(run_state *r, const rv_frame_result *fr) {
  rv_status st = RV_OK;
  for (int i = 0; i < fr->n_actions; i++) {
    const rv_action_segment *s = &fr->actions[i];
    RV_TRY(rv_jsonl_write_action(r->jsonl, s));
    if (r->report)
      RV_TRY(rv_report_add_action(r->report, s->track_id, s->label_name, s->start_ns, s->end_ns,
                                  s->score));
    r->actions++;
  }
fail:
  return st;
}

/* Ranks other than 0 take part in every collective step and write nothing. */
static rv_status drain_loop(run_state *r) {
  rv_status st;
  const rv_frame_result *fr = NULL;
  while ((st = rv_pipeline_next(r->p, &fr)) == RV_OK) {
  }
  return st == RV_EOF ? RV_OK : st;
}

static rv_status run_loop(run_state *r) {
  rv_status st;
  const rv_frame_result *fr = NULL;
  while ((st = rv_pipeline_next(r->p, &fr)) == RV_OK) {
    if (fr->pts_ns >= 0 && (st = write_frame(r, fr)) < 0) return st;
    if ((st = write_actions(r, fr)) < 0) return st;
    on_progress(r, &(rv_pipeline_progress){0}); /* keeps the bar alive while writing */
  }
  if (st == RV_EOF) st = write_actions(r, fr); /* segments still open at the end */
  return st;
}

static void summary(run_state *r, double wall_s) {
  rv_pipeline_progress pr = rv_pipeline_get_progress(r->p);
  double media = r->frames ? r->last_s - r->first_s : 0.0;
  rv_progress_end(&r->progress);
  if (r->o->quiet) return;
  fprintf(stderr,
          "ringvit analyze: %" PRId64 " frames, %" PRId64 " tracks, %" PRId64 " actions; "
          "%.1f s of video in %.1f s (x%.1f real time; decode %.1f s, encoder %.1f s, tracker %.2f "
          "s; tokens %.1f KB per rank)\n",
          r->frames, r->n_ids, r->actions, media, wall_s, wall_s > 0 ? media / wall_s : 0.0,
          pr.decode_s, pr.encode_s, pr.track_s, (double)pr.token_bytes / 1024.0);
  if (r->o->out) fprintf(stderr, "ringvit analyze: annotations in %s\n", r->o->out);
  if (r->o->report) fprintf(stderr, "ringvit analyze: report in %s\n", r->o->report);
}

static rv_status open_outputs(run_state *r) {
  rv_status st = RV_OK;
  analyze_opts *o = r->o;
  const char *out = o->out ? o->out : "-";
  RV_TRY(o->resume ? rv_jsonl_open_resume(out, &r->jsonl) : rv_jsonl_open(out, &r->jsonl));
  if (o->mot)
    RV_TRY(o->resume ? rv_mot_open_resume(o->mot, &r->mot) : rv_mot_open(o->mot, &r->mot));
  if (o->report) {
    rv_report_cfg rc = {o->cfg.input, 0, 0, 0, 0};
    RV_TRY(rv_report_init(&rc, &r->report));
  }
fail:
  return st;
}

static rv_status close_outputs(run_state *r, rv_status st) {
  rv_status c1 = rv_jsonl_close(r->jsonl), c2 = rv_mot_close(r->mot), c3 = RV_OK;
  if (r->report && st >= 0) c3 = rv_report_write(r->report, r->o->report);
  rv_report_free(r->report);
  if (st >= 0) st = c1 < 0 ? c1 : c2 < 0 ? c2 : c3;
  return st;
}

/* Rank 0 (or the only process): the pipeline into the outputs, progress and summary. */
static rv_status run_writer(run_state *r) {
  double t0 = rv_progress_now();
  rv_status st = rv_pipeline_open(&r->o->cfg, &r->p);
  if (st < 0) return st;
  st = open_outputs(r);
  if (st >= 0) st = run_loop(r);
  st = close_outputs(r, st);
  if (st >= 0) summary(r, rv_progress_now() - t0);
  return st;
}

static rv_status run_rank(run_state *r) {
  if (!r->o->cfg.comm || rv_comm_rank(r->o->cfg.comm) == 0) return run_writer(r);
  rv_status st = rv_pipeline_open(&r->o->cfg, &r->p);
  return st < 0 ? st : drain_loop(r);
}

/* The world of mpirun when this process is one of several it started (Open MPI sets
 * OMPI_COMM_WORLD_SIZE), else NULL: one process runs alone. */
static rv_status open_world(rv_comm **comm) {
  const char *size = getenv("OMPI_COMM_WORLD_SIZE");
  *comm = NULL;
  if (!size || atoi(size) <= 1) return RV_OK;
  if (!rv_comm_available(RV_COMM_MPI))
    return RV_FAIL(RV_ERR_UNSUPPORTED,
                   "started by mpirun as one of %s processes, but this build has no MPI "
                   "(install libopenmpi-dev and rebuild)",
                   size);
  rv_comm_mpi_cfg mc = {0.0, NULL};
  return rv_comm_mpi_init(&mc, comm);
}

/* MPI_Finalize waits for every rank: skipped after a failure, when one may be gone. */
static void close_world(rv_comm *comm, rv_status st) {
  if (!comm) return;
  int broken = rv_comm_is_broken(comm);
  rv_comm_free(comm);
  if (st >= 0 && !broken) rv_comm_mpi_finalize();
}

static int analyze_main(int argc, char **argv) {
  analyze_opts o;
  memset(&o, 0, sizeof o);
  rv_pipeline_cfg_default(&o.cfg);
  int rc = parse_args(argc, argv, &o);
  if (rc) return rc < 0 ? RV_EXIT_OK : rc;
  run_state r;
  memset(&r, 0, sizeof r);
  r.o = &o;
  rv_status st = open_world(&o.cfg.comm);
  if (o.cfg.comm && rv_comm_rank(o.cfg.comm) != 0) { /* nothing but errors */
    o.quiet = 1;
    if (rv_log_get_level() < RV_LOG_ERROR) rv_log_set_level(RV_LOG_ERROR);
  }
  /* -q: warnings and errors only, unless RINGVIT_LOG asks for more */
  if (o.quiet && !getenv("RINGVIT_LOG") && rv_log_get_level() < RV_LOG_WARN)
    rv_log_set_level(RV_LOG_WARN);
  rv_progress_init(&r.progress, stderr, o.quiet, -1);
  if (o.report) o.cfg.thumb_width = 320;
  o.cfg.on_progress = on_progress;
  o.cfg.progress_user = &r;
  if (st >= 0) st = run_rank(&r);
  if (st < 0) {
    rv_progress_end(&r.progress);
    rv_cli_error("analyze", st, "failed");
  }
  rv_pipeline_close(r.p);
  close_world(o.cfg.comm, st);
  return rv_cli_exit_code(st);
}

const rv_cli_command rv_cli_analyze = {"analyze", "track objects and find actions in a video",
                                       analyze_main};
