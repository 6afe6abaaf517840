/* Figures and sprites: agents are a few dozen shapes in metres (ellipses, capsules,
 * rounded boxes, triangles) with colour patterns, rasterised once per pose and scale into
 * a sprite (colour + mask) that the renderer blits with integer offsets. The mask is the
 * silhouette the ground truth counts, so boxes and visibility are exact by construction. */
#include <stdlib.h>
#include <string.h>

#include "synth-impl.h"

static float minf(float a, float b) { return a < b ? a : b; }
static float maxf(float a, float b) { return a > b ? a : b; }

void rv_figure_add(rv_figure *f, const rv_part *src) {
  if (f->n >= RV_MAX_PARTS) return;
  rv_part *p = &f->parts[f->n++];
  *p = *src;
  const float *q = p->p;
  switch (p->kind) {
  case RV_PART_ELLIPSE:
    p->lo[0] = q[0] - q[2], p->hi[0] = q[0] + q[2];
    p->lo[1] = q[1] - q[3], p->hi[1] = q[1] + q[3];
    break;
  case RV_PART_CAPSULE:
    p->lo[0] = minf(q[0], q[2]) - q[4], p->hi[0] = maxf(q[0], q[2]) + q[4];
    p->lo[1] = minf(q[1], q[3]) - q[4], p->hi[1] = maxf(q[1], q[3]) + q[4];
    break;
  case RV_PART_BOX:
    p->lo[0] = minf(q[0], q[2]), p->hi[0] = maxf(q[0], q[2]);
    p->lo[1] = minf(q[1], q[3]), p->hi[1] = maxf(q[1], q[3]);
    break;
  default:
    p->lo[0] = minf(q[0], minf(q[2], q[4])), p->hi[0] = maxf(q[0], maxf(q[2], q[4]));
    p->lo[1] = minf(q[1], minf(q[3], q[5])), p->hi[1] = maxf(q[1], maxf(q[3], q[5]));
  }
}

/* ---- point-in-shape ---- */

static int in_capsule(const float *q, float x, float y) {
  float dx = q[2] - q[0], dy = q[3] - q[1], px = x - q[0], py = y - q[1];
  float len2 = dx * dx + dy * dy, t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  float ex = px - t * dx, ey = py - t * dy;
  return ex * ex + ey * ey <= q[4] * q[4];
}

static int in_box(const rv_part *p, float x, float y) {
  float r = p->p[4];
  float dx = maxf(maxf(p->lo[0] + r - x, 0), x - (p->hi[0] - r));
  float dy = maxf(maxf(p->lo[1] + r - y, 0), y - (p->hi[1] - r));
  return dx * dx + dy * dy <= r * r;
}

static int in_tri(const float *q, float x, float y) {
  float d1 = (x - q[2]) * (q[1] - q[3]) - (q[0] - q[2]) * (y - q[3]);
  float d2 = (x - q[4]) * (q[3] - q[5]) - (q[2] - q[4]) * (y - q[5]);
  float d3 = (x - q[0]) * (q[5] - q[1]) - (q[4] - q[0]) * (y - q[1]);
  int neg = d1 < 0 || d2 < 0 || d3<0, pos = d1> 0 || d2 > 0 || d3 > 0;
  return !(neg && pos);
}

static int inside(const rv_part *p, float x, float y) {
  if (x < p->lo[0] || x > p->hi[0] || y < p->lo[1] || y > p->hi[1]) return 0;
  const float *q = p->p;
  switch (p->kind) {
  case RV_PART_ELLIPSE: {
    float a = (x - q[0]) / q[2], b = (y - q[1]) / q[3];
    return a * a + b * b <= 1;
  }
  case RV_PART_CAPSULE: return in_capsule(q, x, y);
  case RV_PART_BOX: return in_box(p, x, y);
  default: return in_tri(q, x, y);
  }
}

static int parity(float v, float period) { return ((int)floorf(v / period)) & 1; }

static rv_rgb ball_shade(const rv_part *p, float x, float y) {
  const float *q = p->p;
  float hx = (x - (q[0] - 0.35f * q[2])) / q[2], hy = (y - (q[1] + 0.35f * q[3])) / q[3];
  float cx = (x - q[0]) / q[2], cy = (y - q[1]) / q[3];
  float hl = maxf(0, 1 - sqrtf(hx * hx + hy * hy) / 0.6f) * 0.55f,
        rim = 1 - 0.3f * (cx * cx + cy * cy);
  float c[3] = {p->c.r, p->c.g, p->c.b};
  uint8_t o[3];
  for (int i = 0; i < 3; i++) {
    float v = (c[i] + (255 - c[i]) * hl) * rim;
    o[i] = (uint8_t)(v > 255 ? 255 : v);
  }
  return (rv_rgb){o[0], o[1], o[2]};
}

static rv_rgb part_colour(const rv_part *p, float x, float y) {
  rv_rgb c = p->c;
  switch (p->pattern) {
  case RV_PAT_HSTRIPE: c = parity(y, p->period) ? p->c2 : p->c; break;
  case RV_PAT_VSTRIPE: c = parity(x, p->period) ? p->c2 : p->c; break;
  case RV_PAT_CHECK: c = parity(x, p->period) ^ parity(y, p->period) ? p->c2 : p->c; break;
  case RV_PAT_SPLIT: c = y < 0.5f * (p->lo[1] + p->hi[1]) ? p->c2 : p->c; break;
  case RV_PAT_BALL: return ball_shade(p, x, y);
  default: break;
  }
  if (p->shade > 0) { /* lit from above: darker towards the bottom */
    float t = (y - p->lo[1]) / maxf(p->hi[1] - p->lo[1], 1e-3f), k = 1 - p->shade * (1 - t);
    c = (rv_rgb){(uint8_t)(c.r * k), (uint8_t)(c.g * k), (uint8_t)(c.b * k)};
  }
  return c;
}

/* ---- rasteriser ---- */

void rv_sprite_clear(rv_sprite *s) {
  free(s->rgb);
  free(s->mask);
  memset(s, 0, sizeof *s);
}

static void figure_bounds(const rv_figure *f, float lo[2], float hi[2]) {
  lo[0] = lo[1] = 1e9f;
  hi[0] = hi[1] = -1e9f;
  for (int i = 0; i < f->n; i++)
    for (int k = 0; k < 2; k++) {
      lo[k] = minf(lo[k], f->parts[i].lo[k]);
      hi[k] = maxf(hi[k], f->parts[i].hi[k]);
    }
}

/* Sizes the buffer to hold the turned bounds (pixels, y up) plus a pixel of slack. */
static rv_status sprite_size(rv_sprite *s, const float lo[2], const float hi[2], double ppm,
                             int flip, double ct, double st) {
  double xmin = 1e18, xmax = -1e18, ymin = 1e18, ymax = -1e18;
  for (int k = 0; k < 4; k++) {
    double x = k & 1 ? hi[0] : lo[0], y = k & 2 ? hi[1] : lo[1];
    double X = (x * ct + y * st) * ppm * (flip ? -1 : 1), Y = (-x * st + y * ct) * ppm;
    xmin = fmin(xmin, X), xmax = fmax(xmax, X), ymin = fmin(ymin, Y), ymax = fmax(ymax, Y);
  }
  s->ax = -(int)floor(xmin) + 1;
  s->ay = (int)ceil(ymax) + 1;
  s->w = s->ax + (int)ceil(xmax) + 2;
  s->h = s->ay - (int)floor(ymin) + 2;
  if (s->w < 1 || s->h < 1 || (double)s->w * s->h > 64e6)
    return RV_FAIL(RV_ERR_INTERNAL, "sprite of %dx%d pixels", s->w, s->h);
  size_t n = (size_t)s->w * s->h;
  if (n > s->cap) {
    uint8_t *rgb = realloc(s->rgb, n * 3), *mask = rgb ? realloc(s->mask, n) : NULL;
    if (rgb) s->rgb = rgb;
    if (!rgb || !mask) return RV_FAIL(RV_ERR_NOMEM, "sprite of %dx%d pixels", s->w, s->h);
    s->mask = mask;
    s->cap = n;
  }
  return RV_OK;
}

rv_status rv_sprite_render(rv_sprite *s, const rv_figure *f, double ppm, int flip, double tilt) {
  float lo[2], hi[2];
  if (f->n == 0 || !(ppm > 0)) return RV_FAIL(RV_ERR_INTERNAL, "empty figure or scale %g", ppm);
  figure_bounds(f, lo, hi);
  double ct = cos(tilt), st_ = sin(tilt);
  rv_status st = sprite_size(s, lo, hi, ppm, flip, ct, st_);
  if (st != RV_OK) return st;
  s->x0 = s->w, s->y0 = s->h, s->x1 = s->y1 = 0, s->pixels = 0;
  float inv = (float)(1.0 / ppm), sgn = flip ? -1.0f : 1.0f, c = (float)ct, sn = (float)st_;
  for (int j = 0; j < s->h; j++) {
    float Y = (float)(s->ay - j - 0.5f) * inv;
    for (int i = 0; i < s->w; i++) {
      float X = sgn * (float)(i + 0.5f - s->ax) * inv;
      float x = X * c - Y * sn, y = X * sn + Y * c; /* pixel centre in the figure's metres */
      size_t k = (size_t)j * s->w + i;
      int hit = -1;
      for (int p = f->n - 1; p >= 0 && hit < 0; p--)
        if (inside(&f->parts[p], x, y)) hit = p;
      s->mask[k] = hit >= 0;
      if (hit < 0) continue;
      rv_rgb col = part_colour(&f->parts[hit], x, y);
      s->rgb[3 * k] = col.r, s->rgb[3 * k + 1] = col.g, s->rgb[3 * k + 2] = col.b;
      s->pixels++;
      if (i < s->x0) s->x0 = i;
      if (i >= s->x1) s->x1 = i + 1;
      if (j < s->y0) s->y0 = j;
      if (j >= s->y1) s->y1 = j + 1;
    }
  }
  if (!s->pixels) s->x0 = s->y0 = s->x1 = s->y1 = 0; /* too small to cover a pixel centre */
  return RV_OK;
}

/* ---- part builders ---- */

static void add_capsule(rv_figure *f, float x0, float y0, float x1, float y1, float r, rv_rgb c) {
  rv_part p = {.kind = RV_PART_CAPSULE, .c = c, .c2 = c, .period = 1};
  p.p[0] = x0, p.p[1] = y0, p.p[2] = x1, p.p[3] = y1, p.p[4] = r;
  rv_figure_add(f, &p);
}

void rv_fig_ellipse(rv_figure *f, float cx, float cy, float rx, float ry, rv_rgb c, int pat,
                    rv_rgb c2, float period) {
  rv_part p = {
      .kind = RV_PART_ELLIPSE, .pattern = (uint8_t)pat, .c = c, .c2 = c2, .period = period};
  p.p[0] = cx, p.p[1] = cy, p.p[2] = rx, p.p[3] = ry;
  rv_figure_add(f, &p);
}

void rv_fig_box(rv_figure *f, float x0, float y0, float x1, float y1, float r, rv_rgb c, int pat,
                rv_rgb c2, float period, float shade) {
  rv_part p = {.kind = RV_PART_BOX,
               .pattern = (uint8_t)pat,
               .c = c,
               .c2 = c2,
               .period = period,
               .shade = shade};
  p.p[0] = x0, p.p[1] = y0, p.p[2] = x1, p.p[3] = y1, p.p[4] = r;
  rv_figure_add(f, &p);
}

static void add_tri(rv_figure *f, const float q[6], rv_rgb c) {
  rv_part p = {.kind = RV_PART_TRI, .c = c, .c2 = c, .period = 1};
  memcpy(p.p, q, sizeof p.p);
  rv_figure_add(f, &p);
}

static rv_rgb darker(rv_rgb c, float k) {
  return (rv_rgb){(uint8_t)(c.r * k), (uint8_t)(c.g * k), (uint8_t)(c.b * k)};
}

/* ---- persons ---- */

enum { SKIN, HAIR, TOP, TOP2, BOTTOM, SHOES, HAT };
enum { HAIR_SHORT, HAIR_LONG, HAIR_BALD, HAIR_HAT, HAIR_CAP };

typedef struct gait_par {
  float leg, knee, arm, elbow;
} gait_par;

static gait_par gait_params(int gait) {
  static const gait_par g[3] = {
      {0, 0, 0.06f, 0.12f}, {0.38f, 0.55f, 0.42f, 0.25f}, {0.62f, 1.25f, 0.85f, 1.45f}};
  return g[gait < 0 || gait > 2 ? 0 : gait];
}

typedef struct body {
  float H, b, hip_y, sh_y, torso_hw, head_cy, head_rx, head_ry, r_leg, r_arm, upper, fore, thigh;
} body;

static body body_dims(const rv_look *l, int view) {
  body d;
  d.H = l->size;
  d.b = l->build;
  d.thigh = 0.25f * d.H;
  d.hip_y = 0.5f * d.H;
  d.torso_hw = (view == RV_VIEW_SIDE ? 0.085f : 0.12f) * d.H * d.b;
  d.r_leg = 0.034f * d.H * d.b;
  d.r_arm = 0.027f * d.H * d.b;
  d.upper = 0.18f * d.H;
  d.fore = 0.17f * d.H;
  d.head_rx = (view == RV_VIEW_SIDE ? 0.056f : 0.058f) * d.H;
  d.head_ry = 0.066f * d.H;
  return d;
}

static void place_torso(body *d, float hip_y) {
  d->hip_y = hip_y;
  d->sh_y = hip_y + 0.30f * d->H;
  d->head_cy = d->sh_y + 0.105f * d->H;
}

static void torso(rv_figure *f, const rv_look *l, const body *d) {
  float bottom = d->hip_y - (l->coat ? 0.2f : 0.03f) * d->H;
  rv_fig_ellipse(f, 0, d->hip_y, d->torso_hw * 0.9f, 0.05f * d->H, l->c[BOTTOM], RV_PAT_SOLID,
                 l->c[BOTTOM], 1);
  rv_fig_box(f, -d->torso_hw, bottom, d->torso_hw, d->sh_y + 0.015f * d->H, 0.04f * d->H, l->c[TOP],
             l->pattern, l->c[TOP2], l->period, 0.15f);
  rv_fig_box(f, -0.025f * d->H, d->sh_y, 0.025f * d->H, d->sh_y + 0.05f * d->H, 0.01f * d->H,
             l->c[SKIN], RV_PAT_SOLID, l->c[SKIN], 1, 0);
}

static void hair_back(rv_figure *f, const rv_look *l, const body *d, int view) {
  if (l->style != HAIR_LONG || view == RV_VIEW_BACK) return;
  float off = view == RV_VIEW_SIDE ? -0.45f * d->head_rx : 0;
  rv_fig_box(f, off - 0.9f * d->head_rx, d->sh_y - 0.04f * d->H, off + 0.9f * d->head_rx,
             d->head_cy, 0.02f * d->H, l->c[HAIR], RV_PAT_SOLID, l->c[HAIR], 1, 0);
}

static void head(rv_figure *f, const rv_look *l, const body *d, int view) {
  float rx = d->head_rx, ry = d->head_ry, cy = d->head_cy;
  rv_rgb hair = l->c[HAIR];
  int hat = l->style == HAIR_HAT || l->style == HAIR_CAP, bald = l->style == HAIR_BALD;
  if (view == RV_VIEW_FRONT && !bald && !hat) /* behind the face: shows above and at the sides */
    rv_fig_ellipse(f, 0, cy + 0.2f * ry, rx * 1.1f, ry * 0.92f, hair, RV_PAT_SOLID, hair, 1);
  rv_fig_ellipse(f, view == RV_VIEW_SIDE ? 0.1f * rx : 0, cy, rx, ry, l->c[SKIN], RV_PAT_SOLID,
                 l->c[SKIN], 1);
  if (view == RV_VIEW_SIDE && !bald && !hat)
    rv_fig_ellipse(f, -0.2f * rx, cy + 0.25f * ry, rx * 0.95f, ry * 0.78f, hair, RV_PAT_SOLID, hair,
                   1);
  if (view == RV_VIEW_BACK && !bald && !hat)
    rv_fig_ellipse(f, 0, cy + 0.08f * ry, rx * 1.06f, ry * (l->style == HAIR_LONG ? 1.1f : 0.95f),
                   hair, RV_PAT_SOLID, hair, 1);
  if (view == RV_VIEW_BACK && l->style == HAIR_LONG)
    rv_fig_box(f, -0.9f * rx, d->sh_y - 0.04f * d->H, 0.9f * rx, cy, 0.02f * d->H, hair,
               RV_PAT_SOLID, hair, 1, 0);
  if (l->style == HAIR_HAT) {
    rv_fig_box(f, -1.5f * rx, cy + 0.45f * ry, 1.5f * rx, cy + 0.62f * ry, 0.005f, l->c[HAT],
               RV_PAT_SOLID, l->c[HAT], 1, 0);
    rv_fig_box(f, -0.95f * rx, cy + 0.5f * ry, 0.95f * rx, cy + 1.35f * ry, 0.02f, l->c[HAT],
               RV_PAT_SOLID, l->c[HAT], 1, 0.2f);
  } else if (l->style == HAIR_CAP) {
    rv_fig_ellipse(f, 0, cy + 0.45f * ry, rx * 1.02f, ry * 0.62f, l->c[HAT], RV_PAT_SOLID,
                   l->c[HAT], 1);
    if (view == RV_VIEW_SIDE)
      rv_fig_box(f, 0.3f * rx, cy + 0.3f * ry, 1.6f * rx, cy + 0.45f * ry, 0.005f, l->c[HAT],
                 RV_PAT_SOLID, l->c[HAT], 1, 0);
  }
}

typedef struct limb {
  float x0, y0, x1, y1, x2, y2; /* root, joint, end */
} limb;

static limb swing(float x, float y, float a, float bend, float l1, float l2) {
  limb m = {x, y, 0, 0, 0, 0};
  m.x1 = x + l1 * sinf(a), m.y1 = y - l1 * cosf(a);
  m.x2 = m.x1 + l2 * sinf(a - bend), m.y2 = m.y1 - l2 * cosf(a - bend);
  return m;
}

/* `toe`: how far the shoe points forward (side view), 0 seen from the front. */
static void draw_leg(rv_figure *f, const rv_look *l, const body *d, limb m, float k, float toe) {
  rv_rgb trousers = darker(l->c[BOTTOM], k), shoe = darker(l->c[SHOES], k);
  add_capsule(f, m.x0, m.y0, m.x1, m.y1, d->r_leg * 1.1f, trousers);
  add_capsule(f, m.x1, m.y1, m.x2, m.y2, d->r_leg, trousers);
  rv_fig_ellipse(f, m.x2 + toe * d->H, m.y2 + 0.012f * d->H, (toe > 0 ? 0.05f : 0.032f) * d->H,
                 0.02f * d->H, shoe, RV_PAT_SOLID, shoe, 1);
}

static void draw_arm(rv_figure *f, const rv_look *l, const body *d, limb m, float k) {
  rv_rgb sleeve = darker(l->c[TOP], k), skin = darker(l->c[SKIN], k);
  add_capsule(f, m.x0, m.y0, m.x1, m.y1, d->r_arm * 1.1f, sleeve);
  add_capsule(f, m.x1, m.y1, m.x2, m.y2, d->r_arm, l->sleeves ? sleeve : skin);
  rv_fig_ellipse(f, m.x2, m.y2, d->r_arm * 1.1f, d->r_arm * 1.2f, skin, RV_PAT_SOLID, skin, 1);
}

/* Side view: legs swing about the hip, the swinging leg bends its knee, arms swing
 * against the legs; the hip rides on the stance leg, which makes the bob. */
static void person_side(rv_figure *f, const rv_look *l, const rv_body_pose *p, float hand[2]) {
  body d = body_dims(l, RV_VIEW_SIDE);
  gait_par g = gait_params(p->fall ? RV_GAIT_STAND : p->gait);
  float phi = 6.2831853f * (float)p->phase / RV_PHASES, shin = d.thigh;
  float th[2], kn[2], ext = 0;
  for (int i = 0; i < 2; i++) {
    float ph = phi + 3.14159265f * (float)i;
    th[i] = g.leg * sinf(ph);
    kn[i] = g.knee * maxf(0, cosf(ph));
    ext = maxf(ext, d.thigh * cosf(th[i]) + shin * cosf(th[i] - kn[i]));
  }
  place_torso(&d, ext);
  float sx = 0, sy = d.sh_y - 0.02f * d.H;
  limb arm[2], leg[2];
  for (int i = 0; i < 2; i++) {
    float ph = phi + 3.14159265f * (float)i;
    leg[i] = swing(0, d.hip_y, th[i], kn[i], d.thigh, shin);
    arm[i] = swing(sx, sy, -g.arm * sinf(ph), -g.elbow, d.upper, d.fore);
  }
  hair_back(f, l, &d, RV_VIEW_SIDE);
  draw_arm(f, l, &d, arm[1], 0.78f);
  draw_leg(f, l, &d, leg[1], 0.8f, 0.035f);
  draw_leg(f, l, &d, leg[0], 1.0f, 0.035f);
  torso(f, l, &d);
  head(f, l, &d, RV_VIEW_SIDE);
  draw_arm(f, l, &d, arm[0], 1.0f);
  if (hand) hand[0] = arm[0].x2, hand[1] = arm[0].y2;
}

/* Front and back views: legs side by side, the swinging foot lifts, arms swing in depth
 * (seen as a shorter reach). */
static void person_front(rv_figure *f, const rv_look *l, const rv_body_pose *p, float hand[2]) {
  body d = body_dims(l, p->view);
  gait_par g = gait_params(p->gait);
  float phi = 6.2831853f * (float)p->phase / RV_PHASES, leg_len = 2 * d.thigh;
  place_torso(&d, leg_len * cosf(g.leg * sinf(phi)));
  float hx = 0.055f * d.H * d.b, ax = d.torso_hw + 0.6f * d.r_arm;
  limb arm[2];
  for (int i = 0; i < 2; i++) {
    float ph = phi + 3.14159265f * (float)i, reach = (d.upper + d.fore) * cosf(g.arm * sinf(ph));
    float sgn = i ? -1.0f : 1.0f;
    arm[i] = (limb){sgn * ax,
                    d.sh_y - 0.02f * d.H,
                    sgn * (ax + 0.01f * d.H),
                    d.sh_y - 0.02f * d.H - 0.5f * reach,
                    sgn * (ax + 0.015f * d.H),
                    d.sh_y - 0.02f * d.H - reach};
  }
  hair_back(f, l, &d, p->view);
  for (int i = 0; i < 2; i++) {
    float lift = (p->gait ? 0.07f * d.H : 0) * maxf(0, cosf(phi + 3.14159265f * (float)i));
    float x = i ? -hx : hx;
    limb m = {x, d.hip_y, x, 0.5f * (d.hip_y + lift), x, lift + d.r_leg};
    draw_leg(f, l, &d, m, i ? 0.9f : 1.0f, 0);
  }
  torso(f, l, &d);
  draw_arm(f, l, &d, arm[0], 0.95f);
  draw_arm(f, l, &d, arm[1], 0.95f);
  head(f, l, &d, p->view);
  if (hand) hand[0] = arm[0].x2, hand[1] = arm[0].y2;
}

void rv_figure_person(rv_figure *f, const rv_look *l, const rv_body_pose *p, float hand[2]) {
  f->n = 0;
  if (p->view == RV_VIEW_SIDE || p->fall)
    person_side(f, l, p, hand);
  else
    person_front(f, l, p, hand);
}

double rv_person_tilt(const rv_body_pose *p) {
  if (p->fall) return 1.52 * p->fall / RV_FALL_STEPS; /* lies face down, almost flat */
  return p->gait == RV_GAIT_RUN && p->view == RV_VIEW_SIDE ? 0.13 : 0;
}

/* ---- vehicles, side view facing +x ---- */

enum { BODY, GLASS, TRIM };

float rv_vehicle_height(const rv_look *l) {
  return l->sub == 0 ? 1.45f : l->sub == 1 ? 2.1f : 2.9f;
}

static void wheels(rv_figure *f, const float *xs, int n, float r) {
  rv_rgb tyre = {28, 28, 30}, hub = {150, 150, 155};
  for (int i = 0; i < n; i++) {
    rv_fig_ellipse(f, xs[i], r, r, r, tyre, RV_PAT_SOLID, tyre, 1);
    rv_fig_ellipse(f, xs[i], r, 0.45f * r, 0.45f * r, hub, RV_PAT_SOLID, hub, 1);
  }
}

static void lights(rv_figure *f, float L, float y0, float y1) {
  rv_fig_box(f, L / 2 - 0.12f, y0, L / 2, y1, 0.02f, (rv_rgb){240, 236, 200}, RV_PAT_SOLID,
             (rv_rgb){0, 0, 0}, 1, 0);
  rv_fig_box(f, -L / 2, y0, -L / 2 + 0.1f, y1, 0.02f, (rv_rgb){200, 30, 30}, RV_PAT_SOLID,
             (rv_rgb){0, 0, 0}, 1, 0);
}

void rv_figure_vehicle(rv_figure *f, const rv_look *l) {
  float L = l->size, Hv = rv_vehicle_height(l);
  rv_rgb paint = l->c[BODY], glass = l->c[GLASS], trim = l->c[TRIM];
  int pat = l->style ? RV_PAT_SPLIT : RV_PAT_SOLID;
  f->n = 0;
  if (l->sub == 0) { /* car */
    float xs[2] = {-0.32f * L, 0.32f * L};
    rv_fig_box(f, -0.3f * L, 0.8f, 0.2f * L, Hv, 0.22f, paint, RV_PAT_SOLID, paint, 1, 0.1f);
    rv_fig_box(f, -0.27f * L, 0.95f, -0.04f * L, Hv - 0.08f, 0.06f, glass, RV_PAT_SOLID, glass, 1,
               0);
    rv_fig_box(f, -0.01f * L, 0.95f, 0.17f * L, Hv - 0.08f, 0.06f, glass, RV_PAT_SOLID, glass, 1,
               0);
    rv_fig_box(f, -L / 2, 0.25f, L / 2, 0.95f, 0.15f, paint, pat, trim, 1, 0.3f);
    wheels(f, xs, 2, 0.32f);
    lights(f, L, 0.62f, 0.78f);
  } else if (l->sub == 1) { /* van */
    float xs[2] = {-0.33f * L, 0.32f * L};
    rv_fig_box(f, -L / 2, 0.25f, L / 2, Hv, 0.2f, paint, pat, trim, 1, 0.25f);
    rv_fig_box(f, 0.26f * L, 0.5f * Hv, 0.46f * L, 0.88f * Hv, 0.06f, glass, RV_PAT_SOLID, glass, 1,
               0);
    rv_fig_box(f, -0.44f * L, 0.3f, 0.48f * L, 0.36f, 0.01f, trim, RV_PAT_SOLID, trim, 1, 0);
    wheels(f, xs, 2, 0.36f);
    lights(f, L, 0.55f, 0.75f);
  } else { /* truck: cargo box and cab */
    float xs[3] = {-0.36f * L, -0.22f * L, 0.38f * L};
    rv_fig_box(f, -L / 2, 0.35f, L / 2, 0.6f, 0.02f, (rv_rgb){40, 40, 44}, RV_PAT_SOLID, trim, 1,
               0);
    rv_fig_box(f, -L / 2, 0.6f, 0.22f * L, Hv, 0.05f, paint,
               l->pattern ? RV_PAT_HSTRIPE : RV_PAT_SOLID, darker(paint, 0.85f), 0.5f, 0.15f);
    rv_fig_box(f, 0.24f * L, 0.35f, L / 2, 0.8f * Hv, 0.2f, trim, RV_PAT_SOLID, trim, 1, 0.2f);
    rv_fig_box(f, 0.3f * L, 0.5f * Hv, 0.47f * L, 0.74f * Hv, 0.05f, glass, RV_PAT_SOLID, glass, 1,
               0);
    wheels(f, xs, 3, 0.45f);
    lights(f, L, 0.7f, 0.9f);
  }
}

/* ---- bags and objects ---- */

void rv_figure_bag(rv_figure *f, const rv_look *l) {
  float s = l->size;
  rv_rgb c = l->c[0], c2 = l->c[1];
  f->n = 0;
  if (l->sub == 0) { /* suitcase with a handle on top */
    rv_fig_box(f, -0.35f * s, 0.02f * s, 0.35f * s, s, 0.04f * s, c,
               l->pattern ? RV_PAT_VSTRIPE : RV_PAT_SOLID, c2, 0.1f * s, 0.2f);
    add_capsule(f, -0.13f * s, s + 0.07f * s, 0.13f * s, s + 0.07f * s, 0.025f * s, c2);
    add_capsule(f, -0.13f * s, s, -0.13f * s, s + 0.07f * s, 0.02f * s, c2);
    add_capsule(f, 0.13f * s, s, 0.13f * s, s + 0.07f * s, 0.02f * s, c2);
  } else if (l->sub == 1) { /* handbag with a strap */
    rv_fig_box(f, -0.42f * s, 0, 0.42f * s, 0.6f * s, 0.08f * s, c,
               l->pattern ? RV_PAT_CHECK : RV_PAT_SOLID, c2, 0.09f * s, 0.15f);
    add_capsule(f, -0.3f * s, 0.55f * s, 0, s, 0.025f * s, c2);
    add_capsule(f, 0, s, 0.3f * s, 0.55f * s, 0.025f * s, c2);
  } else { /* holdall */
    rv_fig_ellipse(f, 0, 0.32f * s, 0.75f * s, 0.32f * s, c,
                   l->pattern ? RV_PAT_SPLIT : RV_PAT_SOLID, c2, 1);
    add_capsule(f, -0.2f * s, 0.62f * s, 0.2f * s, 0.62f * s, 0.04f * s, c2);
    add_capsule(f, -0.2f * s, 0.55f * s, 0, 0.8f * s, 0.025f * s, c2);
    add_capsule(f, 0, 0.8f * s, 0.2f * s, 0.55f * s, 0.025f * s, c2);
  }
}

void rv_figure_object(rv_figure *f, const rv_look *l) {
  float r = l->size;
  rv_rgb c = l->c[0], c2 = l->c[1];
  f->n = 0;
  switch (l->sub) {
  case 0: { /* ball */
    int pat = l->pattern == 1 ? RV_PAT_VSTRIPE : l->pattern == 2 ? RV_PAT_CHECK : RV_PAT_BALL;
    rv_fig_ellipse(f, 0, 0, r, r, c, pat, c2, 0.5f * r);
    break;
  }
  case 1: /* blob: overlapping lobes */
    rv_fig_ellipse(f, 0, 0, 0.75f * r, 0.7f * r, c, RV_PAT_SOLID, c, 1);
    for (int i = 0; i < 3; i++) {
      float a = 2.1f * (float)i + l->period;
      rv_fig_ellipse(f, 0.42f * r * cosf(a), 0.42f * r * sinf(a), 0.5f * r, 0.45f * r, c,
                     RV_PAT_SOLID, c, 1);
    }
    break;
  case 2:
    rv_fig_box(f, -0.8f * r, -0.8f * r, 0.8f * r, 0.8f * r, 0.08f * r, c,
               l->pattern ? RV_PAT_SPLIT : RV_PAT_SOLID, c2, 1, 0);
    break;
  case 3: {
    float q[6] = {0, r, -0.87f * r, -0.5f * r, 0.87f * r, -0.5f * r};
    add_tri(f, q, c);
    break;
  }
  default: {
    float up[6] = {0, r, -0.87f * r, -0.5f * r, 0.87f * r, -0.5f * r};
    float dn[6] = {0, -r, -0.87f * r, 0.5f * r, 0.87f * r, 0.5f * r};
    add_tri(f, up, c);
    add_tri(f, dn, c2);
  }
  }
}

/* ---- appearance draws ---- */

static rv_rgb jitter(rv_prng *r, rv_rgb c, int amp) {
  int d = rv_prng_int(r, 2 * amp + 1) - amp;
  int v[3] = {c.r + d, c.g + d, c.b + d};
  for (int i = 0; i < 3; i++)
    v[i] = v[i] < 0 ? 0 : v[i] > 255 ? 255 : v[i];
  return (rv_rgb){(uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2]};
}

static rv_rgb pick(rv_prng *r, const rv_rgb *pal, int n, int amp) {
  return jitter(r, pal[rv_prng_int(r, n)], amp);
}

static rv_rgb cloth(rv_prng *r) {
  if (rv_prng_chance(r, 0.2)) {
    uint8_t g = (uint8_t)rv_prng_range(r, 20, 235);
    return (rv_rgb){g, g, g};
  }
  return rv_hsv(rv_prng_unit(r), rv_prng_range(r, 0.25, 0.9), rv_prng_range(r, 0.2, 0.95));
}

static void look_person(rv_look *l, rv_prng *r) {
  static const rv_rgb skin[] = {{255, 220, 190}, {240, 195, 160}, {210, 160, 120},
                                {170, 120, 85},  {120, 80, 55},   {85, 58, 40}};
  static const rv_rgb hair[] = {{20, 18, 18},    {60, 40, 25},    {110, 75, 40},
                                {210, 180, 110}, {160, 160, 160}, {150, 60, 30}};
  static const rv_rgb legs[] = {
      {45, 65, 110}, {25, 25, 28}, {90, 90, 95}, {170, 150, 110}, {70, 50, 40}};
  double k = rv_prng_unit(r);
  l->size = (float)(k < 0.1 ? rv_prng_range(r, 1.1, 1.45) : rv_prng_range(r, 1.55, 1.95));
  l->build = (float)rv_prng_range(r, 0.85, 1.25);
  l->c[SKIN] = pick(r, skin, 6, 8);
  l->c[HAIR] = pick(r, hair, 6, 10);
  l->c[TOP] = cloth(r);
  l->c[TOP2] = rv_prng_chance(r, 0.5)
                   ? cloth(r)
                   : rv_hsv(rv_prng_unit(r), 0.1, rv_prng_chance(r, 0.5) ? 0.95 : 0.1);
  l->c[BOTTOM] = rv_prng_chance(r, 0.7) ? pick(r, legs, 5, 12) : cloth(r);
  l->c[SHOES] = rv_prng_chance(r, 0.7) ? (rv_rgb){30, 28, 26} : (rv_rgb){225, 225, 220};
  l->c[HAT] = cloth(r);
  static const int pats[] = {RV_PAT_SOLID,   RV_PAT_SOLID,   RV_PAT_SOLID,
                             RV_PAT_HSTRIPE, RV_PAT_HSTRIPE, RV_PAT_VSTRIPE,
                             RV_PAT_CHECK,   RV_PAT_SPLIT,   RV_PAT_SPLIT};
  l->pattern = pats[rv_prng_int(r, 9)];
  l->period = (float)rv_prng_range(r, 0.05, 0.12);
  static const int styles[] = {HAIR_SHORT, HAIR_SHORT, HAIR_SHORT, HAIR_SHORT, HAIR_LONG,
                               HAIR_LONG,  HAIR_LONG,  HAIR_BALD,  HAIR_HAT,   HAIR_CAP};
  l->style = styles[rv_prng_int(r, 10)];
  l->sleeves = rv_prng_chance(r, 0.5);
  l->coat = rv_prng_chance(r, 0.2);
}

static void look_vehicle(rv_look *l, rv_prng *r) {
  static const rv_rgb paint[] = {{235, 235, 232}, {25, 25, 28},  {170, 172, 176}, {95, 98, 104},
                                 {170, 30, 30},   {30, 60, 150}, {30, 80, 50},    {230, 190, 40},
                                 {120, 30, 60},   {200, 110, 40}};
  double k = rv_prng_unit(r);
  l->sub = k < 0.7 ? 0 : k < 0.9 ? 1 : 2;
  l->size = (float)(l->sub == 0   ? rv_prng_range(r, 3.9, 4.8)
                    : l->sub == 1 ? rv_prng_range(r, 4.8, 5.5)
                                  : rv_prng_range(r, 6.5, 7.5));
  l->c[BODY] = pick(r, paint, 10, 10);
  l->c[GLASS] = jitter(r, (rv_rgb){45, 60, 75}, 10);
  l->c[TRIM] = rv_prng_chance(r, 0.5) ? (rv_rgb){50, 50, 54} : cloth(r);
  l->style = rv_prng_chance(r, 0.2);
  l->pattern = rv_prng_chance(r, 0.4);
}

static void look_bag(rv_look *l, rv_prng *r) {
  static const rv_rgb dark[] = {
      {25, 25, 28}, {80, 50, 30}, {30, 35, 70}, {110, 20, 30}, {70, 75, 60}};
  l->sub = rv_prng_int(r, 3);
  l->size = (float)rv_prng_range(r, 0.38, 0.6);
  l->c[0] = rv_prng_chance(r, 0.6) ? pick(r, dark, 5, 10) : cloth(r);
  l->c[1] = jitter(r, rv_prng_chance(r, 0.5) ? (rv_rgb){20, 20, 20} : (rv_rgb){180, 170, 150}, 15);
  l->pattern = rv_prng_chance(r, 0.3);
}

static void look_object(rv_look *l, rv_prng *r) {
  double k = rv_prng_unit(r);
  l->sub = k < 0.45 ? 0 : k < 0.65 ? 1 : 2 + rv_prng_int(r, 3);
  l->size = (float)rv_prng_range(r, 0.12, 0.45);
  l->c[0] = rv_prng_chance(r, 0.25)
                ? jitter(r, (rv_rgb){240, 240, 240}, 15)
                : rv_hsv(rv_prng_unit(r), rv_prng_range(r, 0.6, 1), rv_prng_range(r, 0.6, 1));
  l->c[1] = rv_hsv(rv_prng_unit(r), rv_prng_range(r, 0.5, 1), rv_prng_range(r, 0.5, 1));
  l->pattern = rv_prng_int(r, 3);
  l->period = (float)rv_prng_range(r, 0, 6.28);
  l->spin = (float)(rv_prng_range(r, 0.2, 1.2) * (rv_prng_chance(r, 0.5) ? 1 : -1));
  l->bounce_hz = (float)rv_prng_range(r, 0.6, 1.3);
}

void rv_look_draw(rv_look *l, int cls, uint64_t seed) {
  rv_prng r;
  rv_prng_seed(&r, seed);
  memset(l, 0, sizeof *l);
  switch (cls) {
  case RV_SYNTH_PERSON: look_person(l, &r); break;
  case RV_SYNTH_VEHICLE: look_vehicle(l, &r); break;
  case RV_SYNTH_BAG: look_bag(l, &r); break;
  default: look_object(l, &r); break;
  }
}
