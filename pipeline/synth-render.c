/* Rendering a frame: each agent's sprite for its pose and scale comes from a small
 * per-agent cache; the frame is the precomputed background (shifted by the camera shake)
 * with the sprites blitted far to near. Every written pixel also records its agent's id,
 * and a pixel is only written where no scenery is nearer, so the id buffer is the exact
 * visibility of every agent. Lighting drift and sensor noise are one pass at the end. */
#include <stdlib.h>
#include <string.h>

#include "synth-impl.h"

enum { SPIN_STEPS = 24 };

static uint32_t bucket(double ppm) { return (uint32_t)lround(ppm * 2); }
static double unbucket(uint32_t b) { return b / 2.0; }

/* The slot for `key`: a hit, or the least recently used slot emptied for it. */
static rv_sprite *cache_slot(rv_agent *a, uint32_t key, int64_t frame, int *hit) {
  rv_sprite *lru = &a->cache[0];
  for (int i = 0; i < RV_CACHE; i++) {
    rv_sprite *c = &a->cache[i];
    if (c->key == key) {
      c->used = frame;
      *hit = 1;
      return c;
    }
    if (c->used < lru->used) lru = c;
  }
  *hit = 0;
  lru->key = 0;
  lru->used = frame;
  return lru;
}

static rv_body_pose body_pose(const rv_agent *a) {
  rv_body_pose p = {a->gait, a->view, 0, a->fall};
  if (a->gait != RV_GAIT_STAND)
    p.phase = (int)((a->phase - floor(a->phase)) * RV_PHASES) % RV_PHASES;
  if (a->fall) p.view = RV_VIEW_SIDE, p.gait = RV_GAIT_STAND, p.phase = 0;
  return p;
}

static uint32_t sprite_key(const rv_agent *a, uint32_t b, int *flip, double *tilt,
                           rv_body_pose *pose) {
  *flip = 0;
  *tilt = 0;
  if (a->cls == RV_SYNTH_PERSON) {
    *pose = body_pose(a);
    *flip = a->facing < 0 && pose->view == RV_VIEW_SIDE;
    *tilt = rv_person_tilt(pose);
    return b << 14 | (uint32_t)*flip << 13 | (uint32_t)pose->view << 11 |
           (uint32_t)pose->gait << 9 | (uint32_t)pose->fall << 4 | (uint32_t)pose->phase;
  }
  if (a->cls == RV_SYNTH_VEHICLE) {
    *flip = a->facing < 0;
    return b << 14 | (uint32_t)*flip << 13;
  }
  if (a->cls == RV_SYNTH_OBJECT && !(a->look.sub == 0 && a->look.pattern == 0)) {
    int k = (int)((a->spin - floor(a->spin)) * SPIN_STEPS) % SPIN_STEPS;
    *tilt = 6.2831853 * k / SPIN_STEPS;
    return b << 14 | (uint32_t)k;
  }
  return b << 14;
}

static void hand_pixels(rv_sprite *sp, const float hand[2], double ppm, int flip, double tilt) {
  double c = cos(tilt), s = sin(tilt);
  double x = hand[0] * c + hand[1] * s, y = -hand[0] * s + hand[1] * c;
  sp->hand_dx = (float)(x * ppm * (flip ? -1 : 1));
  sp->hand_dy = (float)(y * ppm);
}

static rv_status draw_sprite(rv_agent *a, rv_sprite *sp, double ppm, int flip, double tilt,
                             const rv_body_pose *pose) {
  rv_figure fig;
  float hand[2] = {0, 0};
  fig.n = 0;
  switch (a->cls) {
  case RV_SYNTH_PERSON: rv_figure_person(&fig, &a->look, pose, hand); break;
  case RV_SYNTH_VEHICLE: rv_figure_vehicle(&fig, &a->look); break;
  case RV_SYNTH_BAG: rv_figure_bag(&fig, &a->look); break;
  default: rv_figure_object(&fig, &a->look); break;
  }
  rv_status st = rv_sprite_render(sp, &fig, ppm, flip, tilt);
  if (st != RV_OK) return st;
  hand_pixels(sp, hand, ppm, flip, tilt);
  sp->top = -1e9f;
  for (int i = 0; i < fig.n; i++)
    sp->top = fig.parts[i].hi[1] > sp->top ? fig.parts[i].hi[1] : sp->top;
  return RV_OK;
}

/* Sprite for the agent's pose at `ppm` pixels per metre, drawn only on a cache miss. */
static rv_status agent_sprite(rv_agent *a, double ppm, int64_t frame) {
  int flip, hit;
  double tilt;
  rv_body_pose pose;
  uint32_t b = bucket(ppm), key = sprite_key(a, b, &flip, &tilt, &pose);
  rv_sprite *sp = cache_slot(a, key, frame, &hit);
  if (!hit) {
    rv_status st = draw_sprite(a, sp, unbucket(b), flip, tilt, &pose);
    if (st != RV_OK) return st;
    sp->key = key;
  }
  a->spr = sp;
  return RV_OK;
}

/* Places the agent's sprite (background pixels) and works out its box in the frame. */
static rv_status place(rv_synth *s, rv_agent *a, int64_t frame) {
  const rv_cam *c = &s->cam;
  int m = s->scene.margin;
  double px, py, ppm;
  const rv_agent *o = a->cls == RV_SYNTH_BAG && a->carried ? s->agents[a->owner] : NULL;
  rv_cam_project(c, a->x, a->z, &px, &py);
  ppm = rv_cam_ppm(c, py);
  rv_status st = agent_sprite(a, ppm, frame);
  if (st != RV_OK) return st;
  const rv_sprite *sp = a->spr;
  double ax = px + m, ay = py + m;
  if (o && o->spr) { /* hangs from the owner's hand */
    ax += o->spr->hand_dx;
    ay += -o->spr->hand_dy + sp->top * unbucket(bucket(ppm));
  } else if (a->cls == RV_SYNTH_OBJECT) {
    ay -= (a->alt + a->look.size) * ppm;
  }
  a->sx = (int)lround(ax) - sp->ax;
  a->sy = (int)lround(ay) - sp->ay;
  a->depth = (int32_t)lround((py + m) * RV_DEPTH_ONE);
  int ox = m + s->dx, oy = m + s->dy;
  a->box[0] = a->sx + sp->x0 - ox, a->box[1] = a->sy + sp->y0 - oy;
  a->box[2] = sp->x1 - sp->x0, a->box[3] = sp->y1 - sp->y0;
  a->pixels = sp->pixels;
  a->visible = 0;
  a->in_view = sp->pixels > 0 && a->box[0] < c->w && a->box[1] < c->h &&
               a->box[0] + a->box[2] > 0 && a->box[1] + a->box[3] > 0;
  return RV_OK;
}

/* Far to near; a carried bag right after its carrier; then by id. */
static int before(const rv_agent *a, const rv_agent *b) {
  int ca = a->cls == RV_SYNTH_BAG && a->carried, cb = b->cls == RV_SYNTH_BAG && b->carried;
  if (a->depth != b->depth) return a->depth < b->depth;
  if (ca != cb) return ca < cb;
  return a->id < b->id;
}

static int sorted_view(rv_synth *s) {
  int n = 0;
  for (int i = 0; i < s->n_agents; i++) {
    rv_agent *a = s->agents[i];
    if (!a->in_view) continue;
    int j = n++;
    for (; j > 0 && before(a, s->agents[s->order[j - 1]]); j--)
      s->order[j] = s->order[j - 1];
    s->order[j] = i;
  }
  return n;
}

static void blit(rv_synth *s, rv_agent *a, uint8_t *rgb, int stride) {
  const rv_sprite *sp = a->spr;
  const rv_scene *sc = &s->scene;
  int ox = sc->margin + s->dx, oy = sc->margin + s->dy, W = s->cam.w, H = s->cam.h;
  int j0 = sp->y0, j1 = sp->y1, i0 = sp->x0, i1 = sp->x1;
  if (a->sy + j0 - oy < 0) j0 = oy - a->sy; /* clip to the frame */
  if (a->sy + j1 - oy > H) j1 = H + oy - a->sy;
  if (a->sx + i0 - ox < 0) i0 = ox - a->sx;
  if (a->sx + i1 - ox > W) i1 = W + ox - a->sx;
  for (int j = j0; j < j1; j++) {
    int by = a->sy + j, bx = a->sx + i0, fy = by - oy, fx = bx - ox;
    const uint8_t *mask = sp->mask + (size_t)j * sp->w + i0,
                  *src = sp->rgb + ((size_t)j * sp->w + i0) * 3;
    const int32_t *occ = sc->occ + (size_t)by * sc->bw + bx;
    uint32_t *ids = s->ids + (size_t)fy * W + fx;
    uint8_t *dst = rgb + (size_t)fy * stride + (size_t)fx * 3;
    for (int k = 0; k < i1 - i0; k++) {
      if (!mask[k] || occ[k] > a->depth) continue; /* empty, or scenery in front */
      if (ids[k]) s->agents[ids[k] - 1]->visible--;
      ids[k] = (uint32_t)a->id;
      a->visible++;
      memcpy(dst + 3 * k, src + 3 * k, 3);
    }
  }
}

static void camera_shake(rv_synth *s, double t) {
  const double *p = s->shake_phase, A = s->cfg.shake, tau = 6.2831853;
  int m = s->scene.margin;
  s->dx = (int)lround(A * (0.6 * sin(tau * 0.9 * t + p[0]) + 0.4 * sin(tau * 2.3 * t + p[1])));
  s->dy = (int)lround(A * (0.6 * sin(tau * 0.7 * t + p[2]) + 0.4 * sin(tau * 1.9 * t + p[3])));
  s->dx = s->dx > m ? m : s->dx < -m ? -m : s->dx;
  s->dy = s->dy > m ? m : s->dy < -m ? -m : s->dy;
}

/* Slow gain and colour drift, then noise read from the table at a random offset per row. */
static void light_and_noise(rv_synth *s, uint8_t *rgb, int stride, double t) {
  if (s->cfg.noise <= 0 && s->cfg.lighting <= 0) return;
  const double *p = s->light_phase, L = s->cfg.lighting, tau = 6.2831853;
  double base = 1 + L * (0.7 * sin(tau * t / 600 + p[0]) + 0.3 * sin(tau * t / 137 + p[1]));
  double warm = 0.25 * L * sin(tau * t / 311 + p[2]),
         gain[3] = {base * (1 + warm), base, base * (1 - warm)};
  int16_t lut[3][256];
  uint8_t clamp[512 + 256];
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++)
      lut[c][v] = (int16_t)lround(fmin(255, v * gain[c]));
  for (int v = 0; v < 768; v++)
    clamp[v] = (uint8_t)(v < 256 ? 0 : v > 511 ? 255 : v - 256);
  int W3 = 3 * s->cam.w;
  for (int y = 0; y < s->cam.h; y++) {
    uint8_t *row = rgb + (size_t)y * stride;
    const int8_t *nz = s->noise + rv_prng_next(&s->noise_rng) % (uint64_t)(s->noise_n - W3);
    for (int k = 0; k < W3; k += 3) {
      row[k] = clamp[256 + lut[0][row[k]] + nz[k]];
      row[k + 1] = clamp[256 + lut[1][row[k + 1]] + nz[k + 1]];
      row[k + 2] = clamp[256 + lut[2][row[k + 2]] + nz[k + 2]];
    }
  }
}

rv_status rv_render_frame(rv_synth *s, uint8_t *rgb, int stride, double t) {
  const rv_scene *sc = &s->scene;
  int W = s->cam.w, H = s->cam.h;
  camera_shake(s, t);
  for (int i = 0; i < s->n_agents; i++) { /* a carrier is placed before its bag */
    rv_agent *a = s->agents[i];
    a->in_view = 0;
    a->spr = NULL;
    a->pixels = a->visible = 0;
    if (a->state != RV_AG_ACTIVE) continue;
    rv_status st = place(s, a, s->index);
    if (st != RV_OK) return st;
  }
  for (int y = 0; y < H; y++)
    memcpy(rgb + (size_t)y * stride,
           sc->bg + ((size_t)(y + sc->margin + s->dy) * sc->bw + sc->margin + s->dx) * 3,
           (size_t)W * 3);
  memset(s->ids, 0, (size_t)W * H * sizeof *s->ids);
  int n = sorted_view(s);
  for (int k = 0; k < n; k++)
    blit(s, s->agents[s->order[k]], rgb, stride);
  light_and_noise(s, rgb, stride, t);
  return RV_OK;
}
