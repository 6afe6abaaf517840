/* Internals of the synthetic world, shared by synth*.c: random numbers, the camera, the
 * scene (background, scenery depth), figures and sprites, agents and their scripts. */
#ifndef RINGVIT_SYNTH_IMPL_H
#define RINGVIT_SYNTH_IMPL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <ringvit/synth.h>

/* ---- random numbers: splitmix64 to seed, xoshiro256** to draw ---- */
typedef struct rv_prng {
  uint64_t s[4];
} rv_prng;

static inline uint64_t rv_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static inline void rv_prng_seed(rv_prng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) {
    seed = rv_mix64(seed);
    r->s[i] = seed;
  }
}

static inline uint64_t rv_prng_next(rv_prng *r) {
  uint64_t *s = r->s;
  uint64_t x = s[1] * 5, out = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return out;
}

/* [0, 1) with 53 bits */
static inline double rv_prng_unit(rv_prng *r) {
  return (double)(rv_prng_next(r) >> 11) * 0x1.0p-53;
}
static inline double rv_prng_range(rv_prng *r, double lo, double hi) {
  return lo + (hi - lo) * rv_prng_unit(r);
}
static inline int rv_prng_int(rv_prng *r, int n) { return (int)(rv_prng_unit(r) * n); }
static inline int rv_prng_chance(rv_prng *r, double p) { return rv_prng_unit(r) < p; }

/* ---- camera: a pinhole over flat ground, horizon above the frame ----
 * Row y sees the ground at depth z = f * hc / (y - y_h); a metre there is (y - y_h) / hc
 * pixels, so sizes grow linearly down the frame, as on a mast-mounted camera. */
typedef struct rv_cam {
  int w, h;
  double y_h; /* horizon row (negative: above the frame) */
  double hc;  /* camera height, metres */
  double f;   /* focal length, pixels */
} rv_cam;

void rv_cam_init(rv_cam *c, int w, int h);
double rv_cam_ppm(const rv_cam *c, double y); /* pixels per metre at row y */
void rv_cam_project(const rv_cam *c, double x, double z, double *px, double *py);
void rv_cam_ground(const rv_cam *c, double u, double v, double *x, double *z); /* (u,v) -> metres */

/* ---- colours ---- */
typedef struct rv_rgb {
  uint8_t r, g, b;
} rv_rgb;
rv_rgb rv_hsv(double h, double s, double v); /* h in [0,1) */

/* ---- the scene ---- */
enum { RV_DEPTH_ONE = 16 }; /* depth units per pixel row */

/* Fixed layout, in (u, v) of the camera at rest. */
#define RV_BLD_BASE_V  0.20 /* foot of the building fronts */
#define RV_FAR_WALK_V  0.235
#define RV_LANE_FAR_V  0.315 /* vehicles right to left */
#define RV_LANE_NEAR_V 0.385 /* vehicles left to right */
#define RV_BAY_V       0.458 /* foot of a parked vehicle */
#define RV_NEAR_WALK_V 0.50
#define RV_PATH_V      0.675 /* the footpath across the plaza */
#define RV_ALLEY_U0    0.42
#define RV_ALLEY_U1    0.50
#define RV_BAY_U0      0.46
#define RV_BAY_U1      0.97
#define RV_BAY_LEN_M   6.5

typedef struct rv_scene {
  int bw, bh, margin; /* background = frame + margin on every side (camera shake) */
  uint8_t *bg;        /* bw * bh * 3 */
  int32_t *occ;       /* bw * bh: depth of the nearest scenery there; INT32_MIN = none */
  rv_synth_occluder *occluders;
  int n_occ;
  double bay_x[64]; /* centres of the parking bays, metres */
  int n_bays;
} rv_scene;

rv_status rv_scene_build(rv_scene *sc, const rv_cam *cam, int margin, uint64_t seed, int backdrop);
void rv_scene_clear(rv_scene *sc);

/* ---- figures: shapes in metres, rasterised into sprites ---- */
enum { RV_PART_ELLIPSE, RV_PART_CAPSULE, RV_PART_BOX, RV_PART_TRI };
enum { RV_PAT_SOLID, RV_PAT_HSTRIPE, RV_PAT_VSTRIPE, RV_PAT_CHECK, RV_PAT_SPLIT, RV_PAT_BALL };
enum { RV_MAX_PARTS = 24 };

typedef struct rv_part {
  uint8_t kind, pattern;
  float p[6];   /* ellipse cx cy rx ry; capsule x0 y0 x1 y1 r; box x0 y0 x1 y1 r; tri 3 points */
  rv_rgb c, c2; /* colour, second pattern colour */
  float period; /* pattern period, metres */
  float shade;  /* darkening towards the part's bottom, 0..1 */
  float lo[2], hi[2]; /* bounding box, metres (filled by rv_figure_add) */
} rv_part;

typedef struct rv_figure {
  rv_part parts[RV_MAX_PARTS]; /* later parts are drawn over earlier ones */
  int n;
} rv_figure;

void rv_figure_add(rv_figure *f, const rv_part *p);
/* Shorthands: a rounded box (corner radius r) and an ellipse, with a pattern. */
void rv_fig_box(rv_figure *f, float x0, float y0, float x1, float y1, float r, rv_rgb c, int pat,
                rv_rgb c2, float period, float shade);
void rv_fig_ellipse(rv_figure *f, float cx, float cy, float rx, float ry, rv_rgb c, int pat,
                    rv_rgb c2, float period);

typedef struct rv_sprite {
  int w, h;               /* buffer size */
  int ax, ay;             /* the anchor (ground point) in buffer pixels */
  int x0, y0, x1, y1;     /* tight box of the mask, [x0, x1) x [y0, y1) */
  int pixels;             /* pixels in the mask */
  uint8_t *rgb;           /* w * h * 3 */
  uint8_t *mask;          /* w * h, 0 or 1 */
  size_t cap;             /* pixels allocated */
  float hand_dx, hand_dy; /* persons: the near hand from the anchor, pixels (y up) */
  float top;              /* bags: height of the handle above the bottom, metres */
  uint32_t key;           /* pose and scale it was drawn for; 0 = empty */
  int64_t used;           /* frame of last use (cache eviction) */
} rv_sprite;

/* Rasterises `f` at `ppm` pixels per metre, mirrored when `flip`, turned by `tilt` radians
 * about the anchor (positive leans towards +x). */
rv_status rv_sprite_render(rv_sprite *s, const rv_figure *f, double ppm, int flip, double tilt);
void rv_sprite_clear(rv_sprite *s);

/* ---- appearance ---- */
typedef struct rv_look {
  int sub; /* vehicle: car van truck; bag: suitcase handbag duffel; object: ball blob box tri star
            */
  float size;   /* person height / vehicle length / bag height / object radius, metres */
  float build;  /* width factor */
  float period; /* pattern period */
  int pattern, style, sleeves, coat; /* style: hair or hat, or vehicle stripe */
  rv_rgb c[7]; /* person: skin hair top top2 bottom shoes hat; vehicle: body glass trim ... */
  float spin;  /* objects: turns per second */
  float bounce_hz;
} rv_look;

void rv_look_draw(rv_look *l, int cls, uint64_t seed);

/* A person's pose as the sprite cache keys it. */
enum { RV_GAIT_STAND, RV_GAIT_WALK, RV_GAIT_RUN };
enum { RV_VIEW_SIDE, RV_VIEW_FRONT, RV_VIEW_BACK };
enum { RV_PHASES = 12, RV_FALL_STEPS = 12 };
typedef struct rv_body_pose {
  int gait, view, phase; /* phase index 0..RV_PHASES-1 */
  int fall;              /* 0 upright .. RV_FALL_STEPS lying */
} rv_body_pose;

/* Figures of each class; `hand` (may be NULL) gets the near hand, metres from the feet. */
void rv_figure_person(rv_figure *f, const rv_look *l, const rv_body_pose *p, float hand[2]);
double rv_person_tilt(const rv_body_pose *p);
void rv_figure_vehicle(rv_figure *f, const rv_look *l);
void rv_figure_bag(rv_figure *f, const rv_look *l);
void rv_figure_object(rv_figure *f, const rv_look *l);
float rv_vehicle_height(const rv_look *l);

/* ---- agents ---- */
enum { RV_AG_PENDING, RV_AG_ACTIVE, RV_AG_AWAY, RV_AG_GONE };

/* A script step with its point on the ground (metres). */
typedef struct rv_step {
  int kind; /* rv_synth_step_kind */
  double x, z;
  float seconds, radius;
} rv_step;
enum { RV_CACHE = 16 };

typedef struct rv_agent {
  int id, cls, state;
  rv_look look;
  rv_prng rng;
  double enter_s, back_s; /* PENDING until enter_s; AWAY until back_s */
  double x, z, alt;       /* ground position, metres; height above it */
  double speed, v;        /* cruise and current speed, m/s */
  double phase;           /* gait phase, cycles */
  double spin;            /* objects: turned, cycles */
  double altitude, bounce;
  int facing, view; /* +1 right, -1 left; RV_VIEW_* */
  int gait, fall;   /* what the body does now */
  int motion;       /* persons: RV_SYNTH_WALK, RUN, STAND or FALL */
  int action;       /* PARK or DEPART while manoeuvring, else -1 */
  int lane;         /* vehicles: 0 far, 1 near, -1 none */
  int bay;          /* vehicles: reserved bay or -1 */
  /* the script */
  rv_step *steps;
  int n_steps, cap_steps, cur;
  double t_step;         /* seconds into the current step */
  int sub;               /* phase inside the step */
  double ax, az, bx, bz; /* step points: start / anchor and target, metres */
  double t_sub, dur;
  /* bags */
  int bag, owner; /* agent indices, -1 none */
  int carried;
  /* rendering, this frame */
  int in_view, box[4], pixels, visible;
  int32_t depth;
  int sx, sy; /* sprite top-left, background pixels */
  float hand[2];
  rv_sprite *spr;
  rv_sprite cache[RV_CACHE];
  /* labels */
  uint32_t actions;
  int64_t open_ns[RV_SYNTH_N_ACTIONS]; /* start of the open segment, -1 none */
  int64_t view_since;                  /* pts since in view without a break, -1 out of view */
  int64_t unattended_since;
  float *hist; /* persons: ring of (x, z) per frame over the loiter window */
  int64_t *hist_pts;
  int hist_cap, hist_n, hist_head;
} rv_agent;

/* ---- the world ---- */
struct rv_synth {
  rv_synth_cfg cfg;
  rv_cam cam;
  rv_scene scene;
  rv_prng rng;       /* arrivals and random plans */
  rv_prng noise_rng; /* per-frame sensor noise, apart so that noise never changes behaviour */
  int8_t *noise;     /* a table of noise values read at random offsets */
  int noise_n;
  double shake_phase[4], light_phase[3];
  uint8_t *frame; /* used when the caller gives no buffer */
  uint32_t *ids;
  rv_agent **agents;
  int n_agents, cap_agents;
  rv_synth_object *objs;
  int *order;
  int cap_objs;
  rv_synth_segment *segs;
  int64_t n_segs, cap_segs;
  int64_t index, n_frames; /* next frame; frames in the length (-1 unbounded) */
  double next_person, next_vehicle, next_object;
  double t_prev; /* simulated time of the last update, seconds */
  int bay_owner[64];
  int dx, dy; /* camera shake of the current frame */
};

/* synth-agent.c */
rv_status rv_agent_new(rv_synth *s, int cls, uint64_t look, rv_agent **out);
rv_status rv_agent_push(rv_agent *a, int kind, double x, double z, double seconds, double radius);
void rv_agents_update(rv_synth *s, double t, double dt);
rv_status rv_spawn_due(rv_synth *s, double t);
rv_status rv_spawn_parked(rv_synth *s);
/* synth-render.c */
rv_status rv_render_frame(rv_synth *s, uint8_t *rgb, int stride, double t);
/* synth.c */
rv_status rv_label_frame(rv_synth *s, int64_t pts);

#endif
