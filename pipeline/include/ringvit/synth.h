/* The synthetic surveillance world (issue 8): a fixed camera over a plaza, a road with a
 * lay-by and buildings, with pedestrians, vehicles, bags and generic moving objects, and
 * the exact ground truth of every frame: boxes, identities, visibility from a per-pixel id
 * buffer, and action segments with known start and end.
 *
 * Frames are pulled one at a time, so a trainer or a test gets pixels and ground truth in
 * memory without a file; `ringvit synth` writes them out (video + DIR/gt.txt,
 * DIR/actions.jsonl, DIR/meta.json through rv_synth_gt_*). Everything is deterministic per
 * seed and configuration: the world has its own random generators and never calls rand().
 *
 * Coordinates. Frame pixels are 0-based with (0,0) the top-left pixel. Scripted positions
 * are (u, v): the ground point seen at pixel (u * width, v * height) by the camera at rest,
 * so scripts do not depend on the frame size; u, v outside [0, 1] are off screen. The
 * ground plane is also given in metres (x to the right, z away from the camera).
 *
 * Action rules (the two that need long memory are decided from the trajectory, not from
 * the script, so they hold for every agent):
 * - walk / run / stand / fall (persons): what the body does in that frame; fall covers the
 *   whole episode: tipping over, lying, getting up.
 * - loiter (persons): active in a frame when the person has been in view without a break
 *   for at least RV_SYNTH_LOITER_S and every ground position over the last RV_SYNTH_LOITER_S
 *   lies within a RV_SYNTH_LOITER_EXTENT_M x RV_SYNTH_LOITER_EXTENT_M square (x and z extent).
 *   So a segment starts 60 s after the person settled, never earlier.
 * - left_behind (bags): a bag lying on the ground is unattended from the first frame its
 *   owner is out of view or farther than RV_SYNTH_ATTEND_M from it; left_behind is active
 *   once it has been unattended for RV_SYNTH_LEFT_BEHIND_S without a break, and ends at the
 *   first frame the owner is back within RV_SYNTH_ATTEND_M (or picks it up).
 * - park / depart (vehicles): the manoeuvre from the lane into a bay until at rest, and
 *   from rest in the bay until back in the lane.
 * A track's actions are only defined in frames where the track has a ground-truth row
 * (its box overlaps the frame). Segments are half-open [start, end) in ns of frame pts:
 * `end` is the pts of the first frame where the action no longer holds (or the pts one
 * frame after the last frame). */
#ifndef RINGVIT_SYNTH_H
#define RINGVIT_SYNTH_H

#include <stdint.h>

#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Object classes; MOTChallenge class ids are these + 1. */
typedef enum rv_synth_class {
  RV_SYNTH_PERSON = 0,
  RV_SYNTH_VEHICLE = 1,
  RV_SYNTH_BAG = 2,
  RV_SYNTH_OBJECT = 3, /* any other moving thing: balls, blobs, shapes */
  RV_SYNTH_N_CLASSES = 4
} rv_synth_class;

/* Track-level action labels (bit a of rv_synth_object.actions). */
typedef enum rv_synth_action {
  RV_SYNTH_WALK = 0,
  RV_SYNTH_RUN = 1,
  RV_SYNTH_STAND = 2,
  RV_SYNTH_LOITER = 3,
  RV_SYNTH_FALL = 4,
  RV_SYNTH_PARK = 5,
  RV_SYNTH_DEPART = 6,
  RV_SYNTH_LEFT_BEHIND = 7,
  RV_SYNTH_N_ACTIONS = 8
} rv_synth_action;

#define RV_SYNTH_LOITER_S        60.0 /* dwell before loiter starts, seconds */
#define RV_SYNTH_LOITER_EXTENT_M 4.0  /* largest x and z extent of a loiterer's last minute */
#define RV_SYNTH_LEFT_BEHIND_S   60.0 /* unattended time before left_behind starts */
#define RV_SYNTH_ATTEND_M        3.0  /* owner within this distance attends the bag */

/* "person", "vehicle", "bag", "object"; NULL out of range. */
const char *rv_synth_class_name(int cls);
/* "walk", "run", "stand", "loiter", "fall", "park", "depart", "left_behind"; NULL out of range. */
const char *rv_synth_action_name(int action);

typedef enum rv_synth_backdrop {
  RV_SYNTH_BACKDROP_SCENE = 0, /* the plaza, road and buildings, with occluding scenery */
  RV_SYNTH_BACKDROP_PLAIN = 1  /* one flat colour per seed, nothing occludes (test patterns) */
} rv_synth_backdrop;

/* How often random things happen. Arrival rates are per minute at density 1; the
 * probabilities apply per agent (or per stop, for stand/loiter/fall/drop). */
typedef struct rv_synth_rates {
  float persons_per_min;
  float vehicles_per_min; /* both lanes together */
  float objects_per_min;
  float run;     /* a person runs one leg of its way */
  float stand;   /* a stop is a stand of 2..45 s */
  float loiter;  /* a stop is a wander of 25..180 s (those under 60 s are not loiter) */
  float fall;    /* a stop is a fall */
  float bag;     /* a person carries a bag */
  float drop;    /* a bag carrier puts it down at a stop */
  float abandon; /* a dropped bag's owner leaves the scene (returning or not) */
  float ret;     /* a person who left comes back later (the same identity) */
  float park;    /* a vehicle in the near lane parks in a free bay */
} rv_synth_rates;

typedef struct rv_synth_cfg {
  int width, height; /* frame size; >= 32 each */
  double fps;        /* frame rate, (0, 120] */
  double seconds;    /* length; 0 = unbounded (rv_synth_next_frame never ends) */
  uint64_t seed;
  float density;  /* multiplies the arrival rates; 0 = only scripted agents */
  float noise;    /* sensor noise, standard deviation in 8-bit levels; 0 = none */
  float lighting; /* amplitude of the slow lighting drift (relative gain, 0..0.5); 0 = none */
  float shake;    /* camera shake amplitude in pixels (0..16); 0 = none */
  int backdrop;   /* rv_synth_backdrop */
  rv_synth_rates rates;
} rv_synth_cfg;

/* 640x360, 10 fps, 60 s, seed 1, density 1, noise 2.5, lighting 0.12, no shake, the scene
 * backdrop and the default rates. Start every configuration from this. */
void rv_synth_cfg_default(rv_synth_cfg *cfg);

typedef struct rv_synth rv_synth;

rv_status rv_synth_init(const rv_synth_cfg *cfg, rv_synth **out);
void rv_synth_free(rv_synth *s); /* NULL-safe */
const rv_synth_cfg *rv_synth_get_cfg(const rv_synth *s);
/* Frames in the configured length (-1 when unbounded), and the pts of frame `index`. */
int64_t rv_synth_frame_count(const rv_synth *s);
int64_t rv_synth_pts_ns(const rv_synth *s, int64_t index);

/* One object of a frame's ground truth: every agent whose box overlaps the frame, even
 * when scenery or other agents hide all of it (visibility 0). */
typedef struct rv_synth_object {
  int id;           /* track id >= 1, kept across exits and re-entries */
  int cls;          /* rv_synth_class */
  int x, y, w, h;   /* amodal box of the whole silhouette, frame pixels; may pass the edges */
  int pixels;       /* pixels of the silhouette, on screen or not */
  int visible;      /* of those, on screen and not hidden by scenery or nearer agents */
  float visibility; /* visible / pixels */
  uint32_t actions; /* bit a set: rv_synth_action a holds in this frame */
  float ground_x, ground_z; /* where it stands on the ground, metres */
  int owner;                /* bags: the owner's track id; 0 otherwise */
} rv_synth_object;

typedef struct rv_synth_frame {
  int64_t index; /* 0-based */
  int64_t pts_ns;
  int n_objects;
  const rv_synth_object *objects; /* valid until the next call on the world */
  /* Per-pixel track id of what is seen there (0 = scenery), width x height row-major;
   * valid until the next call. */
  const uint32_t *ids;
} rv_synth_frame;

/* Simulates and renders the next frame into `rgb` (packed RGB24, `stride` >= 3 * width
 * bytes per row; NULL renders into an internal buffer) and describes it in `out`.
 * RV_EOF after the configured length. */
rv_status rv_synth_next_frame(rv_synth *s, uint8_t *rgb, int stride, rv_synth_frame *out);

/* Action segments closed so far, in the order they closed; valid until the next call. */
typedef struct rv_synth_segment {
  int track_id;             /* 0 = scene-level (none in this world yet) */
  int label;                /* rv_synth_action */
  int64_t start_ns, end_ns; /* [start, end) */
} rv_synth_segment;
rv_status rv_synth_segments(const rv_synth *s, const rv_synth_segment **segs, int64_t *n);
/* Closes the segments still open, ending one frame after the last frame rendered. */
rv_status rv_synth_finish(rv_synth *s);

/* ---- scenarios: scripted agents, for tests and for the trainer ---- */
typedef enum rv_synth_step_kind {
  RV_SYNTH_STEP_WALK = 0, /* walk to (u, v) */
  RV_SYNTH_STEP_RUN,      /* run to (u, v) */
  RV_SYNTH_STEP_STAND,    /* stand (vehicles: wait) for `seconds` */
  RV_SYNTH_STEP_LOITER,   /* wander within `radius` metres of here for `seconds` */
  RV_SYNTH_STEP_FALL,     /* fall, lie `seconds`, get up */
  RV_SYNTH_STEP_PUT_DOWN, /* put the carried bag down beside (1.5 s) */
  RV_SYNTH_STEP_PICK_UP,  /* walk to the own bag and pick it up (1.5 s) */
  RV_SYNTH_STEP_LEAVE,    /* go to (u, v) and leave the scene there */
  RV_SYNTH_STEP_AWAY,     /* stay out of the scene `seconds`, then appear at (u, v) */
  RV_SYNTH_STEP_DRIVE,    /* vehicles: drive to (u, v) */
  RV_SYNTH_STEP_PARK,     /* vehicles: park manoeuvre to (u, v), ending at rest */
  RV_SYNTH_STEP_DEPART,   /* vehicles: depart manoeuvre to (u, v), from rest */
  RV_SYNTH_STEP_MOVE,     /* objects: move to (u, v) */
  RV_SYNTH_N_STEPS
} rv_synth_step_kind;

typedef struct rv_synth_step {
  int kind; /* rv_synth_step_kind */
  float u, v;
  float seconds;
  float radius;
} rv_synth_step;

typedef struct rv_synth_agent_spec {
  int cls;                    /* person, vehicle or object; a bag comes with its owner (`bag`) */
  double enter_s;             /* when it appears, seconds from the start */
  float u, v;                 /* where it appears (usually just off screen) */
  float speed;                /* cruise speed, m/s (persons: walking; running is 2.6x); 0 = drawn */
  int bag;                    /* persons: carries a bag */
  float altitude;             /* objects: height above the ground, metres */
  float bounce;               /* objects: bounce height, metres (0 = glide) */
  uint64_t look;              /* appearance seed; 0 = drawn from the world seed */
  const rv_synth_step *steps; /* copied */
  int n_steps;
} rv_synth_agent_spec;

/* Adds a scripted agent (before its enter time has passed). `id` and `bag_id` (may be
 * NULL) receive its track id and its bag's (0 without a bag). After the last step an agent
 * stays where it is; give it a LEAVE step to make it go. */
rv_status rv_synth_add_agent(rv_synth *s, const rv_synth_agent_spec *spec, int *id, int *bag_id);

/* Scenery that hides agents standing behind it, at the camera at rest. */
typedef enum rv_synth_occluder_kind {
  RV_SYNTH_TREE = 0,
  RV_SYNTH_LAMP = 1,
  RV_SYNTH_HEDGE = 2,
  RV_SYNTH_BUILDING = 3
} rv_synth_occluder_kind;
typedef struct rv_synth_occluder {
  int kind;
  int x, y, w, h;       /* bounding box, frame pixels */
  float base_u, base_v; /* centre of its foot on the ground: agents with a smaller v are behind */
} rv_synth_occluder;
rv_status rv_synth_occluders(const rv_synth *s, const rv_synth_occluder **occ, int *n);

/* ---- ground-truth files ---- */
typedef struct rv_synth_gt rv_synth_gt;
/* Creates `dir` (and parents) and DIR/gt.txt; `video` (may be NULL) is recorded in meta.json. */
rv_status rv_synth_gt_open(const char *dir, const rv_synth *s, const char *video,
                           rv_synth_gt **out);
/* Appends a frame's rows to gt.txt: frame (1-based), id, left, top (1-based pixels, as
 * MOTChallenge counts them), width, height, 1, class (1-based), visibility. */
rv_status rv_synth_gt_add(rv_synth_gt *g, const rv_synth_frame *f);
/* Finishes `s`, writes DIR/actions.jsonl (sorted by start) and DIR/meta.json, closes and
 * frees `g` (NULL-safe); returns the first error. */
rv_status rv_synth_gt_close(rv_synth_gt *g, rv_synth *s);

#ifdef __cplusplus
}
#endif
#endif
