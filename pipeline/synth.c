/* The synthetic world's public API: configuration, the frame loop (arrivals, agents,
 * rendering, labels), action segments, and the scenario API for scripted agents. */
#include <stdlib.h>
#include <string.h>

#include "synth-impl.h"

static const char *const class_names[RV_SYNTH_N_CLASSES] = {"person", "vehicle", "bag", "object"};
static const char *const action_names[RV_SYNTH_N_ACTIONS] = {
    "walk", "run", "stand", "loiter", "fall", "park", "depart", "left_behind"};

const char *rv_synth_class_name(int cls) {
  return cls >= 0 && cls < RV_SYNTH_N_CLASSES ? class_names[cls] : NULL;
}

const char *rv_synth_action_name(int action) {
  return action >= 0 && action < RV_SYNTH_N_ACTIONS ? action_names[action] : NULL;
}

void rv_synth_cfg_default(rv_synth_cfg *c) {
  memset(c, 0, sizeof *c);
  c->width = 640;
  c->height = 360;
  c->fps = 10;
  c->seconds = 60;
  c->seed = 1;
  c->density = 1;
  c->noise = 2.5f;
  c->lighting = 0.12f;
  c->backdrop = RV_SYNTH_BACKDROP_SCENE;
  c->rates = (rv_synth_rates){.persons_per_min = 6,
                              .vehicles_per_min = 3,
                              .objects_per_min = 1,
                              .run = 0.12f,
                              .stand = 0.3f,
                              .loiter = 0.15f,
                              .fall = 0.05f,
                              .bag = 0.3f,
                              .drop = 0.5f,
                              .abandon = 0.45f,
                              .ret = 0.25f,
                              .park = 0.35f};
}

static int bad(double v, double lo, double hi) { return !(v >= lo && v <= hi); } /* NaN is bad */

static rv_status check_rates(const rv_synth_rates *q) {
  const float per_min[] = {q->persons_per_min, q->vehicles_per_min, q->objects_per_min};
  const float prob[] = {q->run,  q->stand,   q->loiter, q->fall, q->bag,
                        q->drop, q->abandon, q->ret,    q->park};
  for (int i = 0; i < 3; i++)
    if (bad(per_min[i], 0, 600))
      return RV_FAIL(RV_ERR_INVALID, "arrival rate %g per minute is not in [0, 600]", per_min[i]);
  for (int i = 0; i < 9; i++)
    if (bad(prob[i], 0, 1))
      return RV_FAIL(RV_ERR_INVALID, "probability %g is not in [0, 1]", prob[i]);
  if (q->stand + q->loiter + q->fall > 1)
    return RV_FAIL(RV_ERR_INVALID, "stand + loiter + fall = %g exceeds 1",
                   q->stand + q->loiter + q->fall);
  return RV_OK;
}

static rv_status check_cfg(const rv_synth_cfg *c) {
  if (c->width < 32 || c->height < 32 || c->width > 8192 || c->height > 8192)
    return RV_FAIL(RV_ERR_INVALID, "frame size %dx%d is not within 32x32 .. 8192x8192", c->width,
                   c->height);
  if (bad(c->fps, 1e-3, 120)) return RV_FAIL(RV_ERR_INVALID, "fps %g is not in (0, 120]", c->fps);
  if (bad(c->seconds, 0, 1e8))
    return RV_FAIL(RV_ERR_INVALID, "length %g s is not in [0, 1e8]", c->seconds);
  if (bad(c->density, 0, 50))
    return RV_FAIL(RV_ERR_INVALID, "density %g is not in [0, 50]", c->density);
  if (bad(c->noise, 0, 64)) return RV_FAIL(RV_ERR_INVALID, "noise %g is not in [0, 64]", c->noise);
  if (bad(c->lighting, 0, 0.5))
    return RV_FAIL(RV_ERR_INVALID, "lighting %g is not in [0, 0.5]", c->lighting);
  if (bad(c->shake, 0, 16))
    return RV_FAIL(RV_ERR_INVALID, "shake %g px is not in [0, 16]", c->shake);
  if (c->backdrop != RV_SYNTH_BACKDROP_SCENE && c->backdrop != RV_SYNTH_BACKDROP_PLAIN)
    return RV_FAIL(RV_ERR_INVALID, "backdrop %d is neither scene (0) nor plain (1)", c->backdrop);
  return check_rates(&c->rates);
}

/* Gaussian noise in int8, drawn once; frames read it at random row offsets. */
static rv_status noise_table(rv_synth *s) {
  rv_prng r;
  rv_prng_seed(&r, s->cfg.seed ^ 0x0153ULL);
  s->noise_n = 65536 + 3 * s->cfg.width;
  s->noise = malloc((size_t)s->noise_n);
  if (!s->noise) return RV_FAIL(RV_ERR_NOMEM, "noise table");
  for (int i = 0; i < s->noise_n; i++) {
    double u1 = 1.0 - rv_prng_unit(&r), u2 = rv_prng_unit(&r);
    double g = sqrt(-2 * log(u1)) * cos(6.2831853 * u2) * s->cfg.noise;
    s->noise[i] = (int8_t)(g > 127 ? 127 : g < -127 ? -127 : lround(g));
  }
  return RV_OK;
}

/* A minute of the world runs before the first frame, so a video opens on a living scene. */
static rv_status pre_roll(rv_synth *s) {
  rv_status st = RV_OK;
  s->t_prev = 0;
  if (s->cfg.density <= 0) return RV_OK;
  for (int k = 0; k < 600; k++) {
    double t = -60 + 0.1 * k;
    RV_TRY(rv_spawn_due(s, t));
    rv_agents_update(s, t, k ? 0.1 : 0);
    s->t_prev = t;
  }
fail:
  return st;
}

static rv_status setup(rv_synth *s) {
  rv_status st = RV_OK;
  int W = s->cfg.width, H = s->cfg.height;
  rv_prng r;
  rv_cam_init(&s->cam, W, H);
  RV_TRY(rv_scene_build(&s->scene, &s->cam, (int)ceil(s->cfg.shake) + 1, s->cfg.seed,
                        s->cfg.backdrop));
  RV_TRY(noise_table(s));
  s->frame = malloc((size_t)W * H * 3);
  s->ids = malloc((size_t)W * H * sizeof *s->ids);
  if (!s->frame || !s->ids) RV_TRY_FAIL(RV_ERR_NOMEM, "frame buffers of %dx%d", W, H);
  rv_prng_seed(&r, s->cfg.seed ^ 0xca3e7aULL);
  for (int i = 0; i < 4; i++)
    s->shake_phase[i] = rv_prng_range(&r, 0, 6.2831853);
  for (int i = 0; i < 3; i++)
    s->light_phase[i] = rv_prng_range(&r, 0, 6.2831853);
  rv_prng_seed(&s->rng, s->cfg.seed);
  rv_prng_seed(&s->noise_rng, s->cfg.seed ^ 0x9015eULL);
  for (int i = 0; i < 64; i++)
    s->bay_owner[i] = -1;
  s->n_frames = s->cfg.seconds > 0 ? (int64_t)ceil(s->cfg.seconds * s->cfg.fps - 1e-9) : -1;
  RV_TRY(rv_spawn_parked(s));
  RV_TRY(pre_roll(s));
fail:
  return st;
}

rv_status rv_synth_init(const rv_synth_cfg *cfg, rv_synth **out) {
  rv_status st = RV_OK;
  if (!cfg || !out) return RV_FAIL(RV_ERR_INVALID, "cfg and out must not be NULL");
  *out = NULL;
  RV_TRY(check_cfg(cfg));
  rv_synth *s = calloc(1, sizeof *s);
  if (!s) return RV_FAIL(RV_ERR_NOMEM, "synth handle");
  s->cfg = *cfg;
  st = setup(s);
  if (st < 0) {
    rv_synth_free(s);
    return st;
  }
  *out = s;
fail:
  return st;
}

static void agent_free(rv_agent *a) {
  for (int i = 0; i < RV_CACHE; i++)
    rv_sprite_clear(&a->cache[i]);
  free(a->steps);
  free(a->hist);
  free(a->hist_pts);
  free(a);
}

void rv_synth_free(rv_synth *s) {
  if (!s) return;
  for (int i = 0; i < s->n_agents; i++)
    agent_free(s->agents[i]);
  free(s->agents);
  rv_scene_clear(&s->scene);
  free(s->noise);
  free(s->frame);
  free(s->ids);
  free(s->objs);
  free(s->order);
  free(s->segs);
  free(s);
}

const rv_synth_cfg *rv_synth_get_cfg(const rv_synth *s) { return s ? &s->cfg : NULL; }
int64_t rv_synth_frame_count(const rv_synth *s) { return s ? s->n_frames : -1; }
int64_t rv_synth_pts_ns(const rv_synth *s, int64_t index) {
  return s ? (int64_t)llround((double)index * 1e9 / s->cfg.fps) : 0;
}

/* ---- labels ---- */

static rv_status push_segment(rv_synth *s, int track, int label, int64_t start, int64_t end) {
  if (s->n_segs == s->cap_segs) {
    int64_t cap = s->cap_segs ? 2 * s->cap_segs : 256;
    rv_synth_segment *p = realloc(s->segs, (size_t)cap * sizeof *p);
    if (!p) return RV_FAIL(RV_ERR_NOMEM, "segment table of %lld", (long long)cap);
    s->segs = p;
    s->cap_segs = cap;
  }
  s->segs[s->n_segs++] = (rv_synth_segment){track, label, start, end};
  return RV_OK;
}

/* Opens the segments of labels that start holding and closes those that stop. */
static rv_status note_actions(rv_synth *s, rv_agent *a, uint32_t now, int64_t pts) {
  rv_status st = RV_OK;
  for (int k = 0; k < RV_SYNTH_N_ACTIONS; k++) {
    int on = (now >> k) & 1;
    if (on && a->open_ns[k] < 0) a->open_ns[k] = pts;
    if (!on && a->open_ns[k] >= 0) {
      RV_TRY(push_segment(s, a->id, k, a->open_ns[k], pts));
      a->open_ns[k] = -1;
    }
  }
  a->actions = now;
fail:
  return st;
}

static rv_status history_push(rv_synth *s, rv_agent *a, int64_t pts) {
  if (!a->hist) {
    a->hist_cap = (int)ceil(RV_SYNTH_LOITER_S * s->cfg.fps) + 2;
    a->hist = malloc((size_t)a->hist_cap * 2 * sizeof *a->hist);
    a->hist_pts = malloc((size_t)a->hist_cap * sizeof *a->hist_pts);
    if (!a->hist || !a->hist_pts)
      return RV_FAIL(RV_ERR_NOMEM, "loiter history of %d frames", a->hist_cap);
  }
  a->hist_head = (a->hist_head + 1) % a->hist_cap;
  a->hist[2 * a->hist_head] = (float)a->x;
  a->hist[2 * a->hist_head + 1] = (float)a->z;
  a->hist_pts[a->hist_head] = pts;
  if (a->hist_n < a->hist_cap) a->hist_n++;
  return RV_OK;
}

/* In view without a break for the whole window, and the window's positions fit the square. */
static int loitering(const rv_agent *a, int64_t pts) {
  const int64_t win = (int64_t)(RV_SYNTH_LOITER_S * 1e9);
  if (a->view_since < 0 || pts - a->view_since < win) return 0;
  float lo[2] = {1e30f, 1e30f}, hi[2] = {-1e30f, -1e30f};
  for (int k = 0, i = a->hist_head; k < a->hist_n && a->hist_pts[i] >= pts - win; k++) {
    for (int c = 0; c < 2; c++) {
      float v = a->hist[2 * i + c];
      lo[c] = v < lo[c] ? v : lo[c];
      hi[c] = v > hi[c] ? v : hi[c];
    }
    i = (i + a->hist_cap - 1) % a->hist_cap;
  }
  return hi[0] - lo[0] <= RV_SYNTH_LOITER_EXTENT_M && hi[1] - lo[1] <= RV_SYNTH_LOITER_EXTENT_M;
}

static int left_behind(const rv_synth *s, rv_agent *b, int64_t pts) {
  const rv_agent *o = b->owner >= 0 ? s->agents[b->owner] : NULL;
  if (b->carried || !o) {
    b->unattended_since = -1;
    return 0;
  }
  int near = o->in_view && hypot(o->x - b->x, o->z - b->z) <= RV_SYNTH_ATTEND_M;
  if (near)
    b->unattended_since = -1;
  else if (b->unattended_since < 0)
    b->unattended_since = pts;
  return !near && pts - b->unattended_since >= (int64_t)(RV_SYNTH_LEFT_BEHIND_S * 1e9);
}

static rv_status agent_labels(rv_synth *s, rv_agent *a, int64_t pts, uint32_t *now) {
  *now = 0;
  if (!a->in_view) {
    a->view_since = a->unattended_since = -1;
    a->hist_n = 0;
    return RV_OK;
  }
  if (a->view_since < 0) a->view_since = pts;
  if (a->cls == RV_SYNTH_PERSON) {
    rv_status st = history_push(s, a, pts);
    if (st != RV_OK) return st;
    *now = 1u << a->motion | (uint32_t)loitering(a, pts) << RV_SYNTH_LOITER;
  } else if (a->cls == RV_SYNTH_VEHICLE && a->action >= 0) {
    *now = 1u << a->action;
  } else if (a->cls == RV_SYNTH_BAG) {
    *now = (uint32_t)left_behind(s, a, pts) << RV_SYNTH_LEFT_BEHIND;
  }
  return RV_OK;
}

rv_status rv_label_frame(rv_synth *s, int64_t pts) {
  rv_status st = RV_OK;
  for (int i = 0; i < s->n_agents; i++) {
    rv_agent *a = s->agents[i];
    uint32_t now;
    if (!a->in_view && !a->actions && a->view_since < 0) continue; /* long gone */
    RV_TRY(agent_labels(s, a, pts, &now));
    RV_TRY(note_actions(s, a, now, pts));
  }
fail:
  return st;
}

/* ---- the frame loop ---- */

static rv_status reserve(rv_synth *s) {
  if (s->cap_objs >= s->n_agents) return RV_OK;
  int cap = s->n_agents + 64;
  rv_synth_object *o = realloc(s->objs, (size_t)cap * sizeof *o);
  if (o) s->objs = o;
  int *ord = o ? realloc(s->order, (size_t)cap * sizeof *ord) : NULL;
  if (!o || !ord) return RV_FAIL(RV_ERR_NOMEM, "object table of %d", cap);
  s->order = ord;
  s->cap_objs = cap;
  return RV_OK;
}

static int fill_objects(rv_synth *s) {
  int n = 0;
  for (int i = 0; i < s->n_agents; i++) {
    const rv_agent *a = s->agents[i];
    if (!a->in_view) continue;
    rv_synth_object *o = &s->objs[n++];
    o->id = a->id;
    o->cls = a->cls;
    o->x = a->box[0], o->y = a->box[1], o->w = a->box[2], o->h = a->box[3];
    o->pixels = a->pixels;
    o->visible = a->visible;
    o->visibility = a->pixels ? (float)a->visible / (float)a->pixels : 0;
    o->actions = a->actions;
    o->ground_x = (float)a->x, o->ground_z = (float)a->z;
    o->owner = a->owner >= 0 ? a->owner + 1 : 0;
  }
  return n;
}

rv_status rv_synth_next_frame(rv_synth *s, uint8_t *rgb, int stride, rv_synth_frame *out) {
  rv_status st = RV_OK;
  if (!s || !out) return RV_FAIL(RV_ERR_INVALID, "world and out must not be NULL");
  if (rgb && stride < 3 * s->cfg.width)
    return RV_FAIL(RV_ERR_INVALID, "stride %d is less than 3 * width (%d)", stride,
                   3 * s->cfg.width);
  if (s->n_frames >= 0 && s->index >= s->n_frames) return RV_EOF;
  if (!rgb) rgb = s->frame, stride = 3 * s->cfg.width;
  int64_t pts = rv_synth_pts_ns(s, s->index);
  double t = (double)pts / 1e9;
  RV_TRY(rv_spawn_due(s, t));
  rv_agents_update(s, t, t - s->t_prev);
  s->t_prev = t;
  RV_TRY(reserve(s));
  RV_TRY(rv_render_frame(s, rgb, stride, t));
  RV_TRY(rv_label_frame(s, pts));
  out->index = s->index++;
  out->pts_ns = pts;
  out->n_objects = fill_objects(s);
  out->objects = s->objs;
  out->ids = s->ids;
fail:
  return st;
}

rv_status rv_synth_segments(const rv_synth *s, const rv_synth_segment **segs, int64_t *n) {
  if (!s || !segs || !n) return RV_FAIL(RV_ERR_INVALID, "world, segs and n must not be NULL");
  *segs = s->segs;
  *n = s->n_segs;
  return RV_OK;
}

rv_status rv_synth_finish(rv_synth *s) {
  rv_status st = RV_OK;
  if (!s) return RV_FAIL(RV_ERR_INVALID, "world must not be NULL");
  int64_t end = rv_synth_pts_ns(s, s->index);
  for (int i = 0; i < s->n_agents; i++) {
    rv_agent *a = s->agents[i];
    for (int k = 0; k < RV_SYNTH_N_ACTIONS; k++)
      if (a->open_ns[k] >= 0) {
        RV_TRY(push_segment(s, a->id, k, a->open_ns[k], end));
        a->open_ns[k] = -1;
      }
    a->actions = 0;
  }
fail:
  return st;
}

/* ---- scenarios ---- */

static int step_allowed(int cls, int kind, int bag) {
  switch (kind) {
  case RV_SYNTH_STEP_STAND:
  case RV_SYNTH_STEP_LEAVE:
  case RV_SYNTH_STEP_AWAY: return 1;
  case RV_SYNTH_STEP_WALK:
  case RV_SYNTH_STEP_RUN:
  case RV_SYNTH_STEP_LOITER:
  case RV_SYNTH_STEP_FALL: return cls == RV_SYNTH_PERSON;
  case RV_SYNTH_STEP_PUT_DOWN:
  case RV_SYNTH_STEP_PICK_UP: return cls == RV_SYNTH_PERSON && bag;
  case RV_SYNTH_STEP_DRIVE:
  case RV_SYNTH_STEP_PARK:
  case RV_SYNTH_STEP_DEPART: return cls == RV_SYNTH_VEHICLE;
  case RV_SYNTH_STEP_MOVE: return cls == RV_SYNTH_OBJECT;
  default: return 0;
  }
}

static rv_status check_point(float u, float v, const char *what) {
  if (bad(u, -3, 4) || bad(v, -0.25, 3))
    return RV_FAIL(RV_ERR_INVALID, "%s (%g, %g) is not within u in [-3, 4], v in [-0.25, 3]", what,
                   u, v);
  return RV_OK;
}

static rv_status check_spec(const rv_synth *s, const rv_synth_agent_spec *sp) {
  rv_status st = RV_OK;
  if (sp->cls != RV_SYNTH_PERSON && sp->cls != RV_SYNTH_VEHICLE && sp->cls != RV_SYNTH_OBJECT)
    return RV_FAIL(RV_ERR_INVALID, "class %d cannot be scripted (person, vehicle or object)",
                   sp->cls);
  if (bad(sp->enter_s, (double)rv_synth_pts_ns(s, s->index) / 1e9 - 1e-9, 1e8))
    return RV_FAIL(RV_ERR_INVALID, "enter time %g s has passed or is out of range", sp->enter_s);
  if (bad(sp->speed, 0, 60) || bad(sp->altitude, 0, 50) || bad(sp->bounce, 0, 50))
    return RV_FAIL(RV_ERR_INVALID, "speed %g, altitude %g or bounce %g out of range", sp->speed,
                   sp->altitude, sp->bounce);
  if (sp->n_steps < 0 || (sp->n_steps > 0 && !sp->steps))
    return RV_FAIL(RV_ERR_INVALID, "%d steps without a step array", sp->n_steps);
  RV_TRY(check_point(sp->u, sp->v, "start"));
  for (int i = 0; i < sp->n_steps; i++) {
    const rv_synth_step *q = &sp->steps[i];
    if (!step_allowed(sp->cls, q->kind, sp->bag))
      return RV_FAIL(RV_ERR_INVALID, "step %d: kind %d is not for a %s%s", i, q->kind,
                     class_names[sp->cls], sp->bag ? "" : " without a bag");
    if (bad(q->seconds, 0, 1e8) || bad(q->radius, 0, 100))
      return RV_FAIL(RV_ERR_INVALID, "step %d: seconds %g or radius %g out of range", i, q->seconds,
                     q->radius);
    RV_TRY(check_point(q->u, q->v, "step point"));
  }
fail:
  return st;
}

static rv_status add_bag(rv_synth *s, rv_agent *a, uint64_t look, int *bag_id) {
  rv_agent *b;
  rv_status st = rv_agent_new(s, RV_SYNTH_BAG, look ? rv_mix64(look ^ 0xba6ULL) : 0, &b);
  if (st != RV_OK) return st;
  b->owner = a->id - 1, b->carried = 1, a->bag = b->id - 1;
  b->x = a->x, b->z = a->z;
  if (bag_id) *bag_id = b->id;
  return RV_OK;
}

rv_status rv_synth_add_agent(rv_synth *s, const rv_synth_agent_spec *spec, int *id, int *bag_id) {
  rv_status st = RV_OK;
  rv_agent *a;
  if (!s || !spec) return RV_FAIL(RV_ERR_INVALID, "world and spec must not be NULL");
  if (bag_id) *bag_id = 0;
  RV_TRY(check_spec(s, spec));
  RV_TRY(rv_agent_new(s, spec->cls, spec->look, &a));
  rv_cam_ground(&s->cam, spec->u, spec->v, &a->x, &a->z);
  a->enter_s = spec->enter_s;
  if (spec->speed > 0) a->speed = spec->speed;
  a->v = a->cls == RV_SYNTH_VEHICLE ? a->speed : 0;
  a->altitude = spec->altitude, a->bounce = spec->bounce;
  if (spec->cls == RV_SYNTH_PERSON && spec->bag) RV_TRY(add_bag(s, a, spec->look, bag_id));
  for (int i = 0; i < spec->n_steps; i++) {
    const rv_synth_step *q = &spec->steps[i];
    double x, z;
    rv_cam_ground(&s->cam, q->u, q->v, &x, &z);
    RV_TRY(rv_agent_push(a, q->kind, x, z, q->seconds, q->radius));
  }
  if (id) *id = a->id;
fail:
  return st;
}

rv_status rv_synth_occluders(const rv_synth *s, const rv_synth_occluder **occ, int *n) {
  if (!s || !occ || !n) return RV_FAIL(RV_ERR_INVALID, "world, occ and n must not be NULL");
  *occ = s->scene.occluders;
  *n = s->scene.n_occ;
  return RV_OK;
}
