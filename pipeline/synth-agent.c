/* Agents and what they do: every agent follows a script of steps (walk here, stand,
 * loiter, fall, put the bag down, leave, come back...). Scripted agents get theirs from
 * the caller; random arrivals get one drawn from the rates, built from the same steps, so
 * the tests of the scenario API cover the random world's behaviour too. */
#include <stdlib.h>
#include <string.h>

#include "synth-impl.h"

enum { EDGE_LEFT, EDGE_RIGHT, EDGE_BOTTOM, EDGE_ALLEY };

static double exp_draw(rv_prng *r, double per_s) {
  return per_s > 0 ? -log(1.0 - rv_prng_unit(r)) / per_s : INFINITY;
}

rv_status rv_agent_new(rv_synth *s, int cls, uint64_t look, rv_agent **out) {
  if (s->n_agents == s->cap_agents) {
    int cap = s->cap_agents ? 2 * s->cap_agents : 64;
    rv_agent **p = realloc(s->agents, (size_t)cap * sizeof *p);
    if (!p) return RV_FAIL(RV_ERR_NOMEM, "agent table of %d", cap);
    s->agents = p;
    s->cap_agents = cap;
  }
  rv_agent *a = calloc(1, sizeof *a);
  if (!a) return RV_FAIL(RV_ERR_NOMEM, "agent");
  a->id = s->n_agents + 1;
  a->cls = cls;
  a->state = RV_AG_PENDING;
  a->facing = 1;
  a->lane = a->bay = a->bag = a->owner = a->action = -1;
  a->motion = RV_SYNTH_STAND;
  a->view_since = a->unattended_since = -1;
  for (int i = 0; i < RV_SYNTH_N_ACTIONS; i++)
    a->open_ns[i] = -1;
  uint64_t seed = look ? look : rv_mix64(s->cfg.seed * 0x9e3779b97f4a7c15ULL + (uint64_t)a->id);
  rv_look_draw(&a->look, cls, seed);
  rv_prng_seed(&a->rng, seed ^ 0x7a11c0deULL);
  if (cls == RV_SYNTH_PERSON)
    a->speed =
        a->look.size < 1.45f ? rv_prng_range(&a->rng, 0.9, 1.3) : rv_prng_range(&a->rng, 1.0, 1.6);
  else if (cls == RV_SYNTH_VEHICLE)
    a->speed = rv_prng_range(&a->rng, 7, 12);
  else
    a->speed = rv_prng_range(&a->rng, 1.5, 6);
  s->agents[s->n_agents++] = a;
  *out = a;
  return RV_OK;
}

rv_status rv_agent_push(rv_agent *a, int kind, double x, double z, double seconds, double radius) {
  if (a->n_steps == a->cap_steps) {
    int cap = a->cap_steps ? 2 * a->cap_steps : 8;
    rv_step *p = realloc(a->steps, (size_t)cap * sizeof *p);
    if (!p) return RV_FAIL(RV_ERR_NOMEM, "script of %d steps", cap);
    a->steps = p;
    a->cap_steps = cap;
  }
  a->steps[a->n_steps++] = (rv_step){kind, x, z, (float)seconds, (float)radius};
  return RV_OK;
}

/* ---- moving ---- */

/* Faces the way the agent moves as the camera sees it: side view when mostly across the
 * frame, front or back when mostly towards or away from the camera. */
static void heading(const rv_cam *c, rv_agent *a, double dx, double dz) {
  double f = c->f, z = a->z;
  double dpx = f / z * dx - a->x * f / (z * z) * dz, dpy = -f * c->hc / (z * z) * dz;
  if (fabs(dpx) < 1e-9 && fabs(dpy) < 1e-9) return;
  if (fabs(dpx) >= 0.75 * fabs(dpy) || a->cls != RV_SYNTH_PERSON) {
    if (fabs(dpx) > 1e-9) a->facing = dpx > 0 ? 1 : -1;
    a->view = RV_VIEW_SIDE;
  } else {
    a->view = dpy > 0 ? RV_VIEW_FRONT : RV_VIEW_BACK;
  }
}

/* Moves towards (tx, tz) at v m/s; 1 when there. */
static int go_to(const rv_cam *c, rv_agent *a, double tx, double tz, double v, double dt,
                 double *moved) {
  double dx = tx - a->x, dz = tz - a->z, d = sqrt(dx * dx + dz * dz), step = v * dt;
  *moved = 0;
  if (d < 1e-9) return 1;
  heading(c, a, dx, dz);
  if (d <= step) {
    a->x = tx, a->z = tz, *moved = d;
    return 1;
  }
  a->x += dx / d * step, a->z += dz / d * step, *moved = step;
  return 0;
}

static void stand(rv_agent *a) {
  a->v = 0;
  a->gait = RV_GAIT_STAND;
  if (a->cls == RV_SYNTH_PERSON) a->motion = RV_SYNTH_STAND;
}

/* Walks or runs; the gait phase advances by strides, so the legs match the ground. */
static int person_go(const rv_synth *s, rv_agent *a, double tx, double tz, int gait, double v,
                     double dt) {
  double moved, k = a->look.size / 1.75;
  int there = go_to(&s->cam, a, tx, tz, v, dt, &moved);
  if (moved <= 0) return there;
  double stride = gait == RV_GAIT_RUN ? (1.2 + 0.4 * v) * k : (0.9 + 0.45 * v) * k;
  a->phase += moved / stride;
  a->v = v;
  a->gait = gait;
  a->motion = gait == RV_GAIT_RUN ? RV_SYNTH_RUN : RV_SYNTH_WALK;
  return there;
}

/* Gap to the nearest vehicle ahead in the same lane, metres (traffic keeps its distance). */
static double gap_ahead(const rv_synth *s, const rv_agent *a) {
  double best = INFINITY;
  for (int i = 0; i < s->n_agents; i++) {
    const rv_agent *b = s->agents[i];
    if (b == a || b->cls != RV_SYNTH_VEHICLE || b->state != RV_AG_ACTIVE || fabs(b->z - a->z) > 1.0)
      continue;
    double ahead = (b->x - a->x) * a->facing - 0.5 * (a->look.size + b->look.size);
    if ((b->x - a->x) * a->facing > 0 && ahead < best) best = ahead;
  }
  return best;
}

static int vehicle_drive(const rv_synth *s, rv_agent *a, double tx, double tz, double dt) {
  double want = a->speed, moved;
  if (a->lane >= 0) {
    double gap = gap_ahead(s, a);
    if (gap < 30) want = fmin(want, fmax(0, (gap - 2.5) / 1.2));
  }
  double dv = want - a->v;
  a->v += dv > 3 * dt ? 3 * dt : dv < -6 * dt ? -6 * dt : dv; /* gentle speed-up, firm braking */
  return go_to(&s->cam, a, tx, tz, a->v, dt, &moved);
}

/* Eases along the manoeuvre line: park decelerates to rest, depart accelerates from it. */
static int manoeuvre(const rv_synth *s, rv_agent *a, int park) {
  double tau = a->dur > 0 ? a->t_step / a->dur : 1, f;
  if (tau > 1) tau = 1;
  f = park ? 1 - (1 - tau) * (1 - tau) : tau * tau;
  double nx = a->ax + (a->bx - a->ax) * f, nz = a->az + (a->bz - a->az) * f;
  heading(&s->cam, a, nx - a->x, nz - a->z);
  a->x = nx, a->z = nz;
  return tau >= 1;
}

/* ---- bags ---- */

static void put_down(rv_synth *s, rv_agent *a) {
  if (a->bag < 0 || !s->agents[a->bag]->carried) return;
  rv_agent *b = s->agents[a->bag];
  b->carried = 0;
  b->x = a->x + 0.45 * a->facing;
  b->z = a->z - 0.05; /* a little nearer the camera than the feet */
  b->state = RV_AG_ACTIVE;
}

static void bag_follow(rv_synth *s, rv_agent *b) {
  const rv_agent *o = s->agents[b->owner];
  if (!b->carried) return;
  b->state = o->state;
  b->x = o->x, b->z = o->z;
}

/* ---- steps ---- */

static void begin_step(rv_synth *s, rv_agent *a, double t);

static void advance(rv_synth *s, rv_agent *a, double t) {
  a->cur++;
  begin_step(s, a, t);
}

static void release_bay(rv_synth *s, rv_agent *a) {
  if (a->bay >= 0 && s->bay_owner[a->bay] == a->id - 1) s->bay_owner[a->bay] = -1;
  a->bay = -1;
}

static void loiter_target(rv_agent *a, double radius) {
  double ang = rv_prng_range(&a->rng, 0, 6.2831853), r = radius * sqrt(rv_prng_unit(&a->rng));
  a->bx = a->ax + r * cos(ang), a->bz = a->az + r * sin(ang);
  a->dur = rv_prng_range(&a->rng, 2, 8); /* pause before moving on */
}

/* What the body does from the first frame of a step, before the step has run (a frame
 * where an agent appears or a step begins shows the new step). */
static void preset_motion(rv_agent *a, int kind) {
  switch (kind) {
  case RV_SYNTH_STEP_WALK:
  case RV_SYNTH_STEP_LEAVE:
  case RV_SYNTH_STEP_PICK_UP: a->motion = RV_SYNTH_WALK, a->gait = RV_GAIT_WALK; break;
  case RV_SYNTH_STEP_RUN: a->motion = RV_SYNTH_RUN, a->gait = RV_GAIT_RUN; break;
  case RV_SYNTH_STEP_FALL: a->motion = RV_SYNTH_FALL; break;
  case RV_SYNTH_STEP_AWAY: break;
  default: stand(a);
  }
}

static void begin_step(rv_synth *s, rv_agent *a, double t) {
  a->t_step = a->t_sub = 0;
  a->sub = 0;
  a->action = -1;
  if (a->cur >= a->n_steps) return;
  const rv_step *st = &a->steps[a->cur];
  a->ax = a->x, a->az = a->z, a->bx = st->x, a->bz = st->z;
  if (a->cls == RV_SYNTH_PERSON) preset_motion(a, st->kind);
  double d = hypot(a->bx - a->ax, a->bz - a->az);
  switch (st->kind) {
  case RV_SYNTH_STEP_AWAY:
    a->state = RV_AG_AWAY;
    a->back_s = t + st->seconds;
    break;
  case RV_SYNTH_STEP_PARK:
    a->dur = 2 * d / fmax(a->v, 1.5);
    a->action = RV_SYNTH_PARK;
    break;
  case RV_SYNTH_STEP_DEPART:
    a->dur = 2 * d / fmin(a->speed, 5.0);
    a->action = RV_SYNTH_DEPART;
    break;
  case RV_SYNTH_STEP_LOITER: loiter_target(a, st->radius > 0 ? st->radius : 1.5); break;
  case RV_SYNTH_STEP_PICK_UP:
    if (a->bag < 0 || s->agents[a->bag]->carried) {
      a->sub = 2; /* nothing to pick up */
      break;
    }
    const rv_agent *b = s->agents[a->bag];
    a->bx = b->x + 0.45 * (a->x < b->x ? -1 : 1), a->bz = b->z + 0.05;
    break;
  default: break;
  }
}

static int leave_done(rv_synth *s, rv_agent *a, double t) {
  if (a->cur + 1 < a->n_steps && a->steps[a->cur + 1].kind == RV_SYNTH_STEP_AWAY) return 1;
  a->state = RV_AG_GONE;
  release_bay(s, a);
  (void)t;
  return 0;
}

static int step_loiter(rv_synth *s, rv_agent *a, const rv_step *st, double dt) {
  if (a->sub == 0) { /* pausing */
    stand(a);
    a->t_sub += dt;
    if (a->t_sub >= a->dur) a->sub = 1;
  } else if (person_go(s, a, a->bx, a->bz, RV_GAIT_WALK, 0.5, dt)) {
    a->sub = 0, a->t_sub = 0;
    loiter_target(a, st->radius > 0 ? st->radius : 1.5);
  }
  return a->t_step >= st->seconds;
}

static int step_fall(rv_agent *a, const rv_step *st, double dt) {
  stand(a);
  a->motion = RV_SYNTH_FALL;
  a->t_sub += dt;
  if (a->sub == 0) { /* tipping over, 0.8 s */
    a->fall = 1 + (int)(a->t_sub / 0.8 * (RV_FALL_STEPS - 1));
    if (a->t_sub >= 0.8) a->sub = 1, a->t_sub = 0, a->fall = RV_FALL_STEPS;
  } else if (a->sub == 1) { /* lying */
    if (a->t_sub >= st->seconds) a->sub = 2, a->t_sub = 0;
  } else { /* getting up, 1.2 s */
    a->fall = RV_FALL_STEPS - (int)(a->t_sub / 1.2 * RV_FALL_STEPS);
    if (a->t_sub >= 1.2) {
      a->fall = 0;
      return 1;
    }
  }
  return 0;
}

static int step_pick_up(rv_synth *s, rv_agent *a, double dt) {
  if (a->sub == 2) return 1;
  if (a->sub == 0) {
    if (person_go(s, a, a->bx, a->bz, RV_GAIT_WALK, a->speed, dt)) {
      a->sub = 1, a->t_sub = 0;
      a->facing = s->agents[a->bag]->x > a->x ? 1 : -1;
      a->view = RV_VIEW_SIDE;
    }
    return 0;
  }
  stand(a);
  a->t_sub += dt;
  if (a->t_sub >= 0.75) s->agents[a->bag]->carried = 1;
  return a->t_sub >= 1.5;
}

/* One frame of a person's current step; 1 when the step is over. */
static int person_step(rv_synth *s, rv_agent *a, const rv_step *st, double t, double dt) {
  switch (st->kind) {
  case RV_SYNTH_STEP_WALK: return person_go(s, a, st->x, st->z, RV_GAIT_WALK, a->speed, dt);
  case RV_SYNTH_STEP_RUN: return person_go(s, a, st->x, st->z, RV_GAIT_RUN, 2.6 * a->speed, dt);
  case RV_SYNTH_STEP_LEAVE:
    return person_go(s, a, st->x, st->z, RV_GAIT_WALK, a->speed, dt) && leave_done(s, a, t);
  case RV_SYNTH_STEP_LOITER: return step_loiter(s, a, st, dt);
  case RV_SYNTH_STEP_FALL: return step_fall(a, st, dt);
  case RV_SYNTH_STEP_PUT_DOWN:
    stand(a);
    if (a->t_step >= 0.75) put_down(s, a);
    return a->t_step >= 1.5;
  case RV_SYNTH_STEP_PICK_UP: return step_pick_up(s, a, dt);
  default: stand(a); return st->kind == RV_SYNTH_STEP_STAND ? a->t_step >= st->seconds : 1;
  }
}

static int vehicle_step(rv_synth *s, rv_agent *a, const rv_step *st, double t, double dt) {
  switch (st->kind) {
  case RV_SYNTH_STEP_DRIVE:
  case RV_SYNTH_STEP_MOVE: return vehicle_drive(s, a, st->x, st->z, dt);
  case RV_SYNTH_STEP_LEAVE: return vehicle_drive(s, a, st->x, st->z, dt) && leave_done(s, a, t);
  case RV_SYNTH_STEP_PARK:
    if (!manoeuvre(s, a, 1)) return 0;
    a->v = 0;
    return 1;
  case RV_SYNTH_STEP_DEPART:
    if (!manoeuvre(s, a, 0)) return 0;
    a->v = fmin(a->speed, 5.0);
    release_bay(s, a);
    return 1;
  default: a->v = 0; return st->kind == RV_SYNTH_STEP_STAND ? a->t_step >= st->seconds : 1;
  }
}

static int object_step(rv_synth *s, rv_agent *a, const rv_step *st, double t, double dt) {
  double moved;
  a->spin += a->look.spin * dt;
  a->alt = a->altitude + a->bounce * fabs(sin(3.14159265 * a->look.bounce_hz * t));
  switch (st->kind) {
  case RV_SYNTH_STEP_STAND: return a->t_step >= st->seconds;
  case RV_SYNTH_STEP_LEAVE:
    return go_to(&s->cam, a, st->x, st->z, a->speed, dt, &moved) && leave_done(s, a, t);
  default: return go_to(&s->cam, a, st->x, st->z, a->speed, dt, &moved);
  }
}

static void run_step(rv_synth *s, rv_agent *a, double t, double dt) {
  if (a->cur >= a->n_steps) {
    if (a->cls == RV_SYNTH_PERSON) stand(a);
    a->v = 0;
    return;
  }
  const rv_step *st = &a->steps[a->cur];
  a->t_step += dt;
  int done;
  if (a->cls == RV_SYNTH_PERSON)
    done = person_step(s, a, st, t, dt);
  else if (a->cls == RV_SYNTH_VEHICLE)
    done = vehicle_step(s, a, st, t, dt);
  else
    done = object_step(s, a, st, t, dt);
  if (done && a->state == RV_AG_ACTIVE) advance(s, a, t);
}

static void wake(rv_synth *s, rv_agent *a, double t) {
  if (a->state == RV_AG_PENDING && t >= a->enter_s) {
    a->state = RV_AG_ACTIVE;
    begin_step(s, a, t);
  } else if (a->state == RV_AG_AWAY && t >= a->back_s) {
    const rv_step *st = &a->steps[a->cur];
    a->x = st->x, a->z = st->z;
    a->state = RV_AG_ACTIVE;
    advance(s, a, t);
  }
}

void rv_agents_update(rv_synth *s, double t, double dt) {
  for (int i = 0; i < s->n_agents; i++) { /* a bag comes right after its owner */
    rv_agent *a = s->agents[i];
    if (a->cls == RV_SYNTH_BAG) {
      bag_follow(s, a);
      continue;
    }
    if (a->state == RV_AG_GONE) continue;
    int was = a->state;
    wake(s, a, t);
    if (a->state == RV_AG_ACTIVE && was == RV_AG_ACTIVE) run_step(s, a, t, dt);
  }
}

/* ---- random plans ---- */

typedef struct planner {
  rv_synth *s;
  rv_agent *a;
  rv_prng *r;
  int carrying;
} planner;

static void ground(const rv_synth *s, double u, double v, double *x, double *z) {
  rv_cam_ground(&s->cam, u, v, x, z);
}

static void walk_point(const rv_synth *s, rv_prng *r, double *x, double *z) {
  double k = rv_prng_unit(r);
  if (k < 0.55)
    ground(s, rv_prng_range(r, 0.05, 0.95), rv_prng_range(r, 0.56, 0.95), x, z);
  else if (k < 0.75)
    ground(s, rv_prng_range(r, 0.03, 0.97), rv_prng_range(r, 0.485, 0.515), x, z);
  else if (k < 0.85)
    ground(s, rv_prng_range(r, 0.03, 0.97), rv_prng_range(r, 0.21, 0.25), x, z);
  else { /* the paved circle */
    double a = rv_prng_range(r, 0, 6.2831853), d = 2.6 * sqrt(rv_prng_unit(r));
    ground(s, 0.72, 0.82, x, z);
    *x += d * cos(a), *z += d * sin(a);
  }
}

static int pick_edge(rv_prng *r, int not_this) {
  for (;;) {
    double k = rv_prng_unit(r);
    int e = k < 0.32 ? EDGE_LEFT : k < 0.64 ? EDGE_RIGHT : k < 0.88 ? EDGE_BOTTOM : EDGE_ALLEY;
    if (e != not_this || rv_prng_chance(r, 0.1)) return e;
  }
}

/* A point just off screen on an edge, where persons come and go. */
static void edge_point(const rv_synth *s, rv_prng *r, int edge, double *x, double *z) {
  static const double rows[] = {RV_FAR_WALK_V, RV_NEAR_WALK_V, RV_PATH_V};
  double v = rv_prng_chance(r, 0.6) ? rows[rv_prng_int(r, 3)] + rv_prng_range(r, -0.012, 0.012)
                                    : rv_prng_range(r, 0.58, 0.95);
  switch (edge) {
  case EDGE_LEFT: ground(s, -0.09, v, x, z); break;
  case EDGE_RIGHT: ground(s, 1.09, v, x, z); break;
  case EDGE_BOTTOM: ground(s, rv_prng_range(r, 0.05, 0.95), 1.3, x, z); break;
  default: ground(s, rv_prng_range(r, RV_ALLEY_U0 + 0.025, RV_ALLEY_U1 - 0.025), -0.06, x, z);
  }
}

static rv_status push(planner *p, int kind, double x, double z, double sec, double rad) {
  return rv_agent_push(p->a, kind, x, z, sec, rad);
}

/* A point a few metres from (x, z) that is still on screen, for a short walk away. */
static void nearby_point(const rv_synth *s, rv_prng *r, double x, double z, double *nx,
                         double *nz) {
  for (int tries = 0; tries < 8; tries++) {
    double a = rv_prng_range(r, 0, 6.2831853), d = rv_prng_range(r, 5, 12), px, py;
    *nx = x + d * cos(a), *nz = z + d * sin(a);
    rv_cam_project(&s->cam, *nx, *nz, &px, &py);
    if (px > 0.05 * s->cam.w && px < 0.95 * s->cam.w && py > 0.5 * s->cam.h && py < 0.95 * s->cam.h)
      return;
  }
  *nx = x, *nz = z;
}

/* Puts the bag down and decides what the owner does: stays with it, steps away for a
 * while, or leaves the scene (coming back for it later, or never). 1 when the owner is
 * gone for good. */
static int drop_bag(planner *p, double x, double z, rv_status *st) {
  rv_prng *r = p->r;
  double ex, ez;
  *st = push(p, RV_SYNTH_STEP_PUT_DOWN, x, z, 0, 0);
  p->carrying = 0;
  if (rv_prng_chance(r, p->s->cfg.rates.abandon)) {
    int e = pick_edge(r, -1);
    edge_point(p->s, r, e, &ex, &ez);
    if (*st >= 0) *st = push(p, RV_SYNTH_STEP_LEAVE, ex, ez, 0, 0);
    if (!rv_prng_chance(r, 0.7)) return 1;
    edge_point(p->s, r, pick_edge(r, -1), &ex, &ez);
    if (*st >= 0) *st = push(p, RV_SYNTH_STEP_AWAY, ex, ez, rv_prng_range(r, 20, 300), 0);
  } else if (rv_prng_chance(r, 0.5)) {
    int loiter = rv_prng_chance(r, 0.5);
    if (*st >= 0)
      *st = push(p, loiter ? RV_SYNTH_STEP_LOITER : RV_SYNTH_STEP_STAND, x, z,
                 rv_prng_range(r, 10, 90), 0.6);
  } else {
    nearby_point(p->s, r, x, z, &ex, &ez);
    if (*st >= 0) *st = push(p, RV_SYNTH_STEP_WALK, ex, ez, 0, 0);
    if (*st >= 0) *st = push(p, RV_SYNTH_STEP_STAND, ex, ez, rv_prng_range(r, 5, 50), 0);
  }
  if (*st >= 0) *st = push(p, RV_SYNTH_STEP_PICK_UP, x, z, 0, 0);
  p->carrying = 1;
  return 0;
}

/* What happens at a stop; 1 when the person is gone for good. */
static int stop(planner *p, double x, double z, int *dropped, rv_status *st) {
  const rv_synth_rates *q = &p->s->cfg.rates;
  rv_prng *r = p->r;
  double k = rv_prng_unit(r);
  *st = RV_OK;
  if (p->carrying && !*dropped && rv_prng_chance(r, q->drop)) {
    *dropped = 1;
    return drop_bag(p, x, z, st);
  }
  if (k < q->stand)
    *st = push(p, RV_SYNTH_STEP_STAND, x, z, rv_prng_range(r, 2, 45), 0);
  else if (k < q->stand + q->loiter)
    *st =
        push(p, RV_SYNTH_STEP_LOITER, x, z, rv_prng_range(r, 25, 180), rv_prng_range(r, 0.8, 1.8));
  else if (k < q->stand + q->loiter + q->fall && !p->carrying)
    *st = push(p, RV_SYNTH_STEP_FALL, x, z, rv_prng_range(r, 3, 15), 0);
  return 0;
}

/* Enters at `edge`, makes 0-2 stops, leaves; may come back later and do it again. */
static rv_status plan_trip(planner *p, int edge, int depth) {
  rv_status st = RV_OK;
  rv_prng *r = p->r;
  double x, z;
  int n_stops = rv_prng_chance(r, 0.3) ? 0 : rv_prng_chance(r, 0.7) ? 1 : 2, dropped = 0;
  for (int i = 0; i < n_stops; i++) {
    walk_point(p->s, r, &x, &z);
    int run = rv_prng_chance(r, p->s->cfg.rates.run);
    RV_TRY(push(p, run ? RV_SYNTH_STEP_RUN : RV_SYNTH_STEP_WALK, x, z, 0, 0));
    if (stop(p, x, z, &dropped, &st)) return st;
    RV_TRY(st);
  }
  int out = pick_edge(r, edge);
  edge_point(p->s, r, out, &x, &z);
  RV_TRY(push(p, RV_SYNTH_STEP_LEAVE, x, z, 0, 0));
  if (depth < 3 && rv_prng_chance(r, p->s->cfg.rates.ret)) {
    int back = pick_edge(r, -1);
    edge_point(p->s, r, back, &x, &z);
    RV_TRY(push(p, RV_SYNTH_STEP_AWAY, x, z, rv_prng_range(r, 60, 400), 0));
    RV_TRY(plan_trip(p, back, depth + 1));
  }
fail:
  return st;
}

static rv_status spawn_person(rv_synth *s, double t) {
  rv_status st = RV_OK;
  rv_agent *a, *b;
  RV_TRY(rv_agent_new(s, RV_SYNTH_PERSON, 0, &a));
  planner p = {s, a, &s->rng, 0};
  if (rv_prng_chance(&s->rng, s->cfg.rates.bag)) {
    RV_TRY(rv_agent_new(s, RV_SYNTH_BAG, 0, &b));
    b->owner = a->id - 1, b->carried = 1, a->bag = b->id - 1;
    p.carrying = 1;
  }
  int edge = pick_edge(&s->rng, -1);
  edge_point(s, &s->rng, edge, &a->x, &a->z);
  a->enter_s = t;
  RV_TRY(plan_trip(&p, edge, 0));
fail:
  return st;
}

static int free_bay(rv_synth *s, rv_prng *r) {
  int n = 0, pick;
  for (int i = 0; i < s->scene.n_bays; i++)
    n += s->bay_owner[i] < 0;
  if (!n) return -1;
  pick = rv_prng_int(r, n);
  for (int i = 0; i < s->scene.n_bays; i++)
    if (s->bay_owner[i] < 0 && pick-- == 0) return i;
  return -1;
}

static rv_status park_plan(rv_synth *s, rv_agent *a, int bay, double lane_z, double exit_x,
                           double wait) {
  rv_status st = RV_OK;
  double bx = s->scene.bay_x[bay], x, bz;
  ground(s, 0.5, RV_BAY_V, &x, &bz);
  s->bay_owner[bay] = a->id - 1;
  a->bay = bay;
  if (a->state == RV_AG_PENDING && a->x < bx - 11)
    RV_TRY(rv_agent_push(a, RV_SYNTH_STEP_DRIVE, bx - 11, lane_z, 0, 0));
  if (a->state == RV_AG_PENDING) RV_TRY(rv_agent_push(a, RV_SYNTH_STEP_PARK, bx, bz, 0, 0));
  RV_TRY(rv_agent_push(a, RV_SYNTH_STEP_STAND, bx, bz, wait, 0));
  RV_TRY(rv_agent_push(a, RV_SYNTH_STEP_DEPART, bx + 11, lane_z, 0, 0));
  RV_TRY(rv_agent_push(a, RV_SYNTH_STEP_LEAVE, exit_x, lane_z, 0, 0));
fail:
  return st;
}

/* 0 when the lane entry is still occupied (the arrival waits). */
static int lane_clear(const rv_synth *s, double x, double z) {
  for (int i = 0; i < s->n_agents; i++) {
    const rv_agent *b = s->agents[i];
    if (b->cls == RV_SYNTH_VEHICLE && b->state <= RV_AG_ACTIVE && fabs(b->z - z) < 1.0 &&
        fabs(b->x - x) < 18)
      return 0;
  }
  return 1;
}

static rv_status spawn_vehicle(rv_synth *s, double t, int *spawned) {
  rv_status st = RV_OK;
  rv_prng *r = &s->rng;
  int near = rv_prng_chance(r, 0.5);
  double x, z, ex, ez;
  ground(s, near ? -0.3 : 1.3, near ? RV_LANE_NEAR_V : RV_LANE_FAR_V, &x, &z);
  ground(s, near ? 1.3 : -0.3, near ? RV_LANE_NEAR_V : RV_LANE_FAR_V, &ex, &ez);
  *spawned = lane_clear(s, x, z);
  if (!*spawned) return RV_OK;
  rv_agent *a;
  RV_TRY(rv_agent_new(s, RV_SYNTH_VEHICLE, 0, &a));
  a->x = x, a->z = z, a->enter_s = t, a->lane = near, a->v = a->speed;
  a->facing = near ? 1 : -1;
  int bay = near && rv_prng_chance(r, s->cfg.rates.park) ? free_bay(s, r) : -1;
  if (bay >= 0)
    RV_TRY(park_plan(s, a, bay, z, ex, rv_prng_range(r, 20, 900)));
  else
    RV_TRY(rv_agent_push(a, RV_SYNTH_STEP_LEAVE, ex, ez, 0, 0));
fail:
  return st;
}

static rv_status spawn_object(rv_synth *s, double t) {
  rv_status st = RV_OK;
  rv_prng *r = &s->rng;
  rv_agent *a;
  RV_TRY(rv_agent_new(s, RV_SYNTH_OBJECT, 0, &a));
  int in = rv_prng_int(r, 3), out = (in + 1 + rv_prng_int(r, 2)) % 3;
  double pts[2][2], x, z;
  for (int k = 0; k < 2; k++) {
    int e = k ? out : in;
    double v = rv_prng_range(r, 0.25, 0.95);
    pts[k][0] = e == EDGE_LEFT ? -0.12 : e == EDGE_RIGHT ? 1.12 : rv_prng_range(r, 0.05, 0.95);
    pts[k][1] = e == EDGE_BOTTOM ? 1.35 : v;
  }
  ground(s, pts[0][0], pts[0][1], &a->x, &a->z);
  a->enter_s = t;
  a->altitude = a->look.sub == 0 ? 0 : rv_prng_range(r, 0.3, 3.0);
  a->bounce = a->look.sub == 0         ? rv_prng_range(r, 0.4, 2.5)
              : rv_prng_chance(r, 0.3) ? rv_prng_range(r, 0.3, 1)
                                       : 0;
  if (rv_prng_chance(r, 0.4)) {
    ground(s, rv_prng_range(r, 0.1, 0.9), rv_prng_range(r, 0.3, 0.9), &x, &z);
    RV_TRY(rv_agent_push(a, RV_SYNTH_STEP_MOVE, x, z, 0, 0));
  }
  ground(s, pts[1][0], pts[1][1], &x, &z);
  RV_TRY(rv_agent_push(a, RV_SYNTH_STEP_LEAVE, x, z, 0, 0));
fail:
  return st;
}

rv_status rv_spawn_due(rv_synth *s, double t) {
  rv_status st = RV_OK;
  const rv_synth_rates *q = &s->cfg.rates;
  double k = s->cfg.density / 60.0;
  int spawned;
  if (s->cfg.density <= 0) return RV_OK;
  while (s->next_person <= t) {
    RV_TRY(spawn_person(s, s->next_person));
    s->next_person += exp_draw(&s->rng, k * q->persons_per_min);
  }
  while (s->next_vehicle <= t) {
    RV_TRY(spawn_vehicle(s, s->next_vehicle, &spawned));
    s->next_vehicle += spawned ? exp_draw(&s->rng, k * q->vehicles_per_min) : 1.5;
  }
  while (s->next_object <= t) {
    RV_TRY(spawn_object(s, s->next_object));
    s->next_object += exp_draw(&s->rng, k * q->objects_per_min);
  }
fail:
  return st;
}

/* Vehicles already parked when the video starts, some of which leave during it. */
rv_status rv_spawn_parked(rv_synth *s) {
  rv_status st = RV_OK;
  double k = s->cfg.density / 60.0, lane_x, lane_z, ex, ez;
  const rv_synth_rates *q = &s->cfg.rates;
  s->next_person = s->cfg.density > 0 ? -60 + exp_draw(&s->rng, k * q->persons_per_min) : INFINITY;
  s->next_vehicle =
      s->cfg.density > 0 ? -60 + exp_draw(&s->rng, k * q->vehicles_per_min) : INFINITY;
  s->next_object = s->cfg.density > 0 ? -60 + exp_draw(&s->rng, k * q->objects_per_min) : INFINITY;
  if (s->cfg.density <= 0) return RV_OK;
  ground(s, 0.5, RV_LANE_NEAR_V, &lane_x, &lane_z);
  ground(s, 1.3, RV_LANE_NEAR_V, &ex, &ez);
  for (int i = 0; i < s->scene.n_bays; i++) {
    if (!rv_prng_chance(&s->rng, 0.35 * fmin(1.0, s->cfg.density))) continue;
    rv_agent *a;
    RV_TRY(rv_agent_new(s, RV_SYNTH_VEHICLE, 0, &a));
    ground(s, 0.5, RV_BAY_V, &a->x, &a->z);
    a->x = s->scene.bay_x[i], a->enter_s = -1e9, a->state = RV_AG_ACTIVE, a->lane = 1;
    RV_TRY(park_plan(s, a, i, lane_z, ex, rv_prng_range(&s->rng, 5, 1500)));
    begin_step(s, a, -60);
  }
fail:
  return st;
}
