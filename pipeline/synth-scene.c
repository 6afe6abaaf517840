/* The camera and the static scene: a background image painted once per world (ground
 * textures, road, lay-by, plaza, buildings, trees, lamp posts, a hedge) and, per pixel,
 * the depth of the scenery there, so that agents behind a tree are hidden pixel by pixel
 * without drawing the tree again every frame. */
#include <stdlib.h>
#include <string.h>

#include "synth-impl.h"

void rv_cam_init(rv_cam *c, int w, int h) {
  c->w = w;
  c->h = h;
  c->y_h = -0.3 * h; /* looking down at the plaza: the horizon is above the frame */
  c->hc = 10.0;
  c->f = h;
}

double rv_cam_ppm(const rv_cam *c, double y) { return (y - c->y_h) / c->hc; }

void rv_cam_project(const rv_cam *c, double x, double z, double *px, double *py) {
  *py = c->y_h + c->f * c->hc / z;
  *px = 0.5 * c->w + x * c->f / z;
}

void rv_cam_ground(const rv_cam *c, double u, double v, double *x, double *z) {
  double py = v * c->h, lim = c->y_h + 0.05 * c->h; /* rows near the horizon are far away */
  if (py < lim) py = lim;
  *z = c->f * c->hc / (py - c->y_h);
  *x = (u * c->w - 0.5 * c->w) * *z / c->f;
}

rv_rgb rv_hsv(double h, double s, double v) {
  h = (h - floor(h)) * 6.0;
  int i = (int)h;
  double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;
  switch (i % 6) {
  case 0: r = v, g = t, b = p; break;
  case 1: r = q, g = v, b = p; break;
  case 2: r = p, g = v, b = t; break;
  case 3: r = p, g = q, b = v; break;
  case 4: r = t, g = p, b = v; break;
  default: r = v, g = p, b = q; break;
  }
  return (rv_rgb){(uint8_t)(r * 255 + 0.5), (uint8_t)(g * 255 + 0.5), (uint8_t)(b * 255 + 0.5)};
}

/* ---- texture helpers ---- */

static uint32_t hash3(uint64_t seed, int64_t a, int64_t b) {
  return (uint32_t)rv_mix64(seed ^ rv_mix64((uint64_t)a * 0x632be59bd9b4e019ULL + (uint64_t)b));
}

static double lattice(uint64_t seed, int64_t a, int64_t b) {
  return (hash3(seed, a, b) & 0xffff) / 65535.0;
}

/* Smooth value noise in [0, 1] at `scale` metres. */
static double vnoise(uint64_t seed, double x, double z, double scale) {
  x /= scale;
  z /= scale;
  double fx = floor(x), fz = floor(z), tx = x - fx, tz = z - fz;
  int64_t ix = (int64_t)fx, iz = (int64_t)fz;
  tx = tx * tx * (3 - 2 * tx);
  tz = tz * tz * (3 - 2 * tz);
  double a = lattice(seed, ix, iz), b = lattice(seed, ix + 1, iz);
  double c = lattice(seed, ix, iz + 1), d = lattice(seed, ix + 1, iz + 1);
  return (a + (b - a) * tx) * (1 - tz) + (c + (d - c) * tx) * tz;
}

static uint8_t clamp8(double v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)(v + 0.5); }

static rv_rgb tint(rv_rgb c, double k, double add) {
  return (rv_rgb){clamp8(c.r * k + add), clamp8(c.g * k + add), clamp8(c.b * k + add)};
}

/* ---- the ground ---- */

typedef struct ground_ctx {
  const rv_cam *cam;
  uint64_t seed;
  double z_far_walk, z_kerb, z_road_far, z_centre, z_road_near, z_bay, z_near_kerb;
  double z_path0, z_path1, bay_x0, bay_x1;
  double vpath_x0, vpath_x1, circle_x, circle_z, circle_r;
} ground_ctx;

static double z_at(const rv_cam *c, double v) {
  double x, z;
  rv_cam_ground(c, 0.5, v, &x, &z);
  return z;
}

static void ground_init(ground_ctx *g, const rv_cam *cam, uint64_t seed) {
  double x;
  g->cam = cam;
  g->seed = seed;
  g->z_far_walk = z_at(cam, RV_BLD_BASE_V);
  g->z_kerb = z_at(cam, 0.257);
  g->z_road_far = z_at(cam, 0.263);
  g->z_centre = z_at(cam, 0.35);
  g->z_road_near = z_at(cam, 0.428);
  g->z_bay = z_at(cam, 0.474);
  g->z_near_kerb = z_at(cam, 0.523);
  g->z_path0 = z_at(cam, RV_PATH_V - 0.032);
  g->z_path1 = z_at(cam, RV_PATH_V + 0.032);
  rv_cam_ground(cam, RV_BAY_U0, 0.45, &g->bay_x0, &x);
  rv_cam_ground(cam, RV_BAY_U1, 0.45, &g->bay_x1, &x);
  rv_cam_ground(cam, 0.21, 0.8, &g->vpath_x0, &g->circle_z);
  g->vpath_x1 = g->vpath_x0 + 2.2;
  rv_cam_ground(cam, 0.72, 0.82, &g->circle_x, &g->circle_z);
  g->circle_r = 2.8;
}

static rv_rgb paving(const ground_ctx *g, double x, double z, double tile, rv_rgb base) {
  double fx = x / tile - floor(x / tile), fz = z / tile - floor(z / tile);
  int64_t ix = (int64_t)floor(x / tile), iz = (int64_t)floor(z / tile);
  double k = 0.92 + 0.12 * lattice(g->seed + 7, ix, iz);
  if (fx < 0.05 || fz < 0.05) k *= 0.78; /* joints */
  return tint(base, k, 0);
}

static rv_rgb asphalt(const ground_ctx *g, double x, double z) {
  double n = vnoise(g->seed + 3, x, z, 1.7);
  return tint((rv_rgb){72, 73, 78}, 0.85 + 0.25 * n, 0);
}

static rv_rgb grass(const ground_ctx *g, double x, double z) {
  double n1 = vnoise(g->seed + 11, x, z, 2.5), n2 = vnoise(g->seed + 13, x, z, 0.45);
  rv_rgb c = {(uint8_t)(58 + 30 * n1), (uint8_t)(104 + 40 * n1 * n2), (uint8_t)(44 + 14 * n2)};
  return c;
}

static int line(double d, double half) { return d > -half && d < half; }

static rv_rgb road(const ground_ctx *g, double x, double z) {
  rv_rgb c = asphalt(g, x, z);
  rv_rgb paint = {222, 222, 210};
  if (line(z - g->z_centre, 0.07) && x / 6.0 - floor(x / 6.0) < 0.5) return paint;
  if (line(z - g->z_road_far, 0.06) || line(z - g->z_road_near, 0.06)) return paint;
  return c;
}

static rv_rgb layby(const ground_ctx *g, double x, double z) {
  rv_rgb c = tint(asphalt(g, x, z), 0.93, 0);
  double rel = (x - g->bay_x0) / RV_BAY_LEN_M;
  if (line((rel - floor(rel + 0.5)) * RV_BAY_LEN_M, 0.06) || line(z - g->z_bay, 0.05))
    return (rv_rgb){215, 215, 200};
  return c;
}

static rv_rgb plaza(const ground_ctx *g, double x, double z) {
  double dx = x - g->circle_x, dz = z - g->circle_z, r = sqrt(dx * dx + dz * dz);
  if (r < g->circle_r + 0.25) {
    if (r > g->circle_r - 0.05) return (rv_rgb){150, 140, 128};
    return paving(g, x, z, 0.6, (rv_rgb){178, 162, 140});
  }
  if ((z < g->z_path0 && z > g->z_path1) ||
      (x > g->vpath_x0 && x < g->vpath_x1 && z < g->z_near_kerb))
    return paving(g, x, z, 0.5, (rv_rgb){168, 160, 150});
  return grass(g, x, z);
}

static rv_rgb ground_colour(const ground_ctx *g, double u, double x, double z) {
  if (z > g->z_far_walk) return paving(g, x, z, 0.8, (rv_rgb){120, 118, 115}); /* the alley */
  if (z > g->z_kerb) return paving(g, x, z, 0.5, (rv_rgb){160, 158, 152});
  if (z > g->z_road_far) return (rv_rgb){190, 188, 182};
  if (z > g->z_road_near - 0.1) return road(g, x, z);
  if (z > g->z_bay && x > g->bay_x0 && x < g->bay_x1) return layby(g, x, z);
  if (z > g->z_near_kerb) return paving(g, x, z, 0.5, (rv_rgb){165, 162, 156});
  if (z > g->z_near_kerb - 0.12) return (rv_rgb){192, 190, 184};
  (void)u;
  return plaza(g, x, z);
}

static void paint_ground(rv_scene *sc, const rv_cam *cam, uint64_t seed) {
  ground_ctx g;
  ground_init(&g, cam, seed);
  for (int by = 0; by < sc->bh; by++)
    for (int bx = 0; bx < sc->bw; bx++) {
      double u = (bx - sc->margin + 0.5) / cam->w, v = (by - sc->margin + 0.5) / cam->h, x, z;
      rv_cam_ground(cam, u, v, &x, &z);
      rv_rgb c = ground_colour(&g, u, x, z);
      int grain = (int)(hash3(seed + 99, bx, by) % 9) - 4; /* fine grain of the surface */
      uint8_t *p = sc->bg + ((size_t)by * sc->bw + bx) * 3;
      p[0] = clamp8(c.r + grain);
      p[1] = clamp8(c.g + grain);
      p[2] = clamp8(c.b + grain);
    }
}

/* ---- scenery: figures stamped into the background with their depth ---- */

typedef struct prop {
  int kind;
  double x, z; /* foot, metres */
  rv_figure fig;
} prop;

static void stamp(rv_scene *sc, const rv_cam *cam, const prop *pr, rv_sprite *spr, uint64_t seed) {
  double px, py;
  rv_cam_project(cam, pr->x, pr->z, &px, &py);
  if (rv_sprite_render(spr, &pr->fig, rv_cam_ppm(cam, py), 0, 0) != RV_OK) return;
  int left = (int)lround(px) + sc->margin - spr->ax, top = (int)lround(py) + sc->margin - spr->ay;
  int32_t depth = (int32_t)lround((py + sc->margin) * RV_DEPTH_ONE);
  for (int j = 0; j < spr->h; j++)
    for (int i = 0; i < spr->w; i++) {
      int bx = left + i, by = top + j;
      if (!spr->mask[j * spr->w + i] || bx < 0 || by < 0 || bx >= sc->bw || by >= sc->bh) continue;
      const uint8_t *s = spr->rgb + (size_t)(j * spr->w + i) * 3;
      uint8_t *d = sc->bg + ((size_t)by * sc->bw + bx) * 3;
      int grain = (int)(hash3(seed, bx, by) % 13) - 6; /* bark, leaves, paint */
      for (int c = 0; c < 3; c++)
        d[c] = clamp8(s[c] + grain);
      sc->occ[(size_t)by * sc->bw + bx] = depth;
    }
  rv_synth_occluder *o = &sc->occluders[sc->n_occ++];
  o->kind = pr->kind;
  o->x = left - sc->margin + spr->x0;
  o->y = top - sc->margin + spr->y0;
  o->w = spr->x1 - spr->x0;
  o->h = spr->y1 - spr->y0;
  o->base_u = (float)(px / cam->w);
  o->base_v = (float)(py / cam->h);
}

static void tree(prop *pr, rv_prng *r) {
  double th = rv_prng_range(r, 1.7, 2.3), tw = rv_prng_range(r, 0.2, 0.3);
  double cr = rv_prng_range(r, 0.8, 1.15), cy = th + 0.7 * cr;
  rv_rgb bark = rv_hsv(0.07, 0.5, rv_prng_range(r, 0.25, 0.4));
  rv_fig_box(&pr->fig, -tw / 2, 0, tw / 2, cy, 0.03, bark, RV_PAT_VSTRIPE, tint(bark, 0.8, 0), 0.06,
             0.2);
  double hue = rv_prng_range(r, 0.22, 0.33);
  for (int i = 0; i < 6; i++) {
    double a = i * 1.05 + rv_prng_range(r, 0, 0.5), d = i ? 0.55 * cr : 0;
    rv_rgb leaf = rv_hsv(hue, 0.6, rv_prng_range(r, 0.3, 0.5));
    rv_fig_ellipse(&pr->fig, d * cos(a), cy + 0.8 * d * sin(a), cr * rv_prng_range(r, 0.55, 0.8),
                   cr * rv_prng_range(r, 0.5, 0.7), leaf, RV_PAT_CHECK, tint(leaf, 0.8, 0), 0.11);
  }
  pr->kind = RV_SYNTH_TREE;
}

static void lamp(prop *pr, rv_prng *r) {
  rv_rgb metal = rv_hsv(rv_prng_range(r, 0.3, 0.6), 0.25, 0.22);
  double hgt = rv_prng_range(r, 4.0, 4.8);
  rv_fig_box(&pr->fig, -0.13, 0, 0.13, 0.35, 0.02, metal, RV_PAT_SOLID, metal, 1, 0.1);
  rv_fig_box(&pr->fig, -0.06, 0, 0.06, hgt, 0.02, metal, RV_PAT_SOLID, metal, 1, 0.2);
  rv_fig_box(&pr->fig, -0.06, hgt - 0.08, 0.55, hgt, 0.02, metal, RV_PAT_SOLID, metal, 1, 0);
  rv_fig_box(&pr->fig, 0.35, hgt - 0.28, 0.7, hgt - 0.05, 0.05, (rv_rgb){235, 230, 190},
             RV_PAT_SPLIT, metal, 1, 0);
  pr->kind = RV_SYNTH_LAMP;
}

static void hedge(prop *pr, rv_prng *r, double len) {
  rv_rgb leaf = rv_hsv(rv_prng_range(r, 0.24, 0.32), 0.65, 0.33);
  rv_fig_box(&pr->fig, -len / 2, 0, len / 2, 0.85, 0.2, leaf, RV_PAT_CHECK, tint(leaf, 0.78, 0),
             0.13, 0.3);
  pr->kind = RV_SYNTH_HEDGE;
}

static int cmp_prop_depth(const void *a, const void *b) {
  const prop *x = a, *y = b; /* far (large z) first */
  return (x->z < y->z) - (x->z > y->z);
}

static int plan_props(const rv_cam *cam, rv_prng *r, prop *props) {
  int n = 0;
  static const double tree_uv[][2] = {
      {0.06, 0.60}, {0.33, 0.585}, {0.93, 0.66}, {0.55, 0.92}, {0.12, 0.90}};
  for (int i = 0; i < 5; i++) {
    if (i >= 3 && !rv_prng_chance(r, 0.5)) continue;
    memset(&props[n], 0, sizeof props[n]);
    rv_cam_ground(cam, tree_uv[i][0] + rv_prng_range(r, -0.03, 0.03),
                  tree_uv[i][1] + rv_prng_range(r, -0.02, 0.02), &props[n].x, &props[n].z);
    tree(&props[n++], r);
  }
  static const double lamp_uv[][2] = {{0.05, 0.515}, {0.30, 0.515}, {0.62, 0.515},
                                      {0.86, 0.515}, {0.48, 0.72},  {0.78, 0.72}};
  for (int i = 0; i < 6; i++) {
    if (i >= 4 && !rv_prng_chance(r, 0.5)) continue;
    memset(&props[n], 0, sizeof props[n]);
    rv_cam_ground(cam, lamp_uv[i][0], lamp_uv[i][1], &props[n].x, &props[n].z);
    lamp(&props[n++], r);
  }
  memset(&props[n], 0, sizeof props[n]);
  rv_cam_ground(cam, rv_prng_range(r, 0.5, 0.56), 0.575, &props[n].x, &props[n].z);
  hedge(&props[n++], r, rv_prng_range(r, 4, 6));
  qsort(props, (size_t)n, sizeof *props, cmp_prop_depth);
  return n;
}

/* ---- buildings: flat fronts along the far pavement, windows on a grid ---- */

static void building_rect(rv_scene *sc, int x0, int x1, int top, int base, rv_rgb wall,
                          rv_rgb glass, double ppm, rv_prng *r, uint64_t seed) {
  int win_w = (int)(1.1 * ppm), win_h = (int)(1.4 * ppm), bay = (int)(3.0 * ppm);
  int floor_h = (int)(3.2 * ppm), door = rv_prng_int(r, 3), off = rv_prng_int(r, bay);
  int32_t depth = (base + sc->margin) * RV_DEPTH_ONE;
  if (bay < 2) bay = 2;
  if (floor_h < 2) floor_h = 2;
  for (int y = top; y < base; y++)
    for (int x = x0; x < x1; x++) {
      int bx = x + sc->margin, by = y + sc->margin;
      if (bx < 0 || by < 0 || bx >= sc->bw || by >= sc->bh) continue;
      int cx = (x - x0 + off) % bay, cy = (base - y) % floor_h, fl = (base - y) / floor_h;
      rv_rgb c = wall;
      if (y < top + (int)(0.4 * ppm) + 1)
        c = tint(wall, 0.7, 0); /* cornice */
      else if (cx < win_w && cy > floor_h - win_h - (int)(0.5 * ppm) &&
               cy < floor_h - (int)(0.5 * ppm))
        c = (fl == 0 && (x - x0 + off) / bay % 3 == door) ? tint(wall, 0.45, 0) : glass;
      int grain = (int)(hash3(seed, bx, by) % 7) - 3;
      uint8_t *p = sc->bg + ((size_t)by * sc->bw + bx) * 3;
      p[0] = clamp8(c.r + grain), p[1] = clamp8(c.g + grain), p[2] = clamp8(c.b + grain);
      sc->occ[(size_t)by * sc->bw + bx] = depth;
    }
}

static void add_building(rv_scene *sc, int x0, int x1, int top, int base) {
  rv_synth_occluder *o = &sc->occluders[sc->n_occ++];
  o->kind = RV_SYNTH_BUILDING;
  o->x = x0, o->y = top, o->w = x1 - x0, o->h = base - top;
  o->base_u = (float)(0.5 * (x0 + x1) / (sc->bw - 2 * sc->margin));
  o->base_v = (float)RV_BLD_BASE_V;
}

static void paint_buildings(rv_scene *sc, const rv_cam *cam, rv_prng *r, uint64_t seed) {
  int base = (int)lround(RV_BLD_BASE_V * cam->h), m = sc->margin;
  double ppm = rv_cam_ppm(cam, base);
  int alley0 = (int)(RV_ALLEY_U0 * cam->w), alley1 = (int)(RV_ALLEY_U1 * cam->w);
  int x = -m;
  while (x < cam->w + m) {
    int wdt = (int)(rv_prng_range(r, 0.12, 0.24) * cam->w), x1 = x + wdt;
    if (x < alley0 && x1 > alley0) x1 = alley0;
    if (x >= alley0 && x < alley1) {
      x = alley1;
      continue;
    }
    if (x1 > cam->w + m) x1 = cam->w + m;
    int top = (int)(rv_prng_range(r, -0.06, 0.07) * cam->h);
    rv_rgb wall = rv_hsv(rv_prng_range(r, 0.0, 0.12), rv_prng_range(r, 0.15, 0.55),
                         rv_prng_range(r, 0.45, 0.8));
    rv_rgb glass = rv_hsv(rv_prng_range(r, 0.52, 0.62), 0.35, rv_prng_range(r, 0.2, 0.4));
    building_rect(sc, x, x1, top < -m ? -m : top, base, wall, glass, ppm, r, seed);
    add_building(sc, x < 0 ? 0 : x, x1 > cam->w ? cam->w : x1, top < 0 ? 0 : top, base);
    x = x1 + (rv_prng_chance(r, 0.3) ? (int)(0.01 * cam->w) + 1 : 0);
  }
}

static void paint_sky(rv_scene *sc, const rv_cam *cam) {
  int base = (int)lround(RV_BLD_BASE_V * cam->h) + sc->margin;
  for (int by = 0; by < base && by < sc->bh; by++)
    for (int bx = 0; bx < sc->bw; bx++) {
      double u = (bx - sc->margin + 0.5) / cam->w;
      if (u >= RV_ALLEY_U0 && u < RV_ALLEY_U1) continue; /* the alley shows ground */
      uint8_t *p = sc->bg + ((size_t)by * sc->bw + bx) * 3;
      p[0] = (uint8_t)(150 + by % 7), p[1] = (uint8_t)(182 + by % 5), p[2] = 215;
    }
}

static void bays(rv_scene *sc, const rv_cam *cam) {
  double x0, x1, z;
  rv_cam_ground(cam, RV_BAY_U0, RV_BAY_V, &x0, &z);
  rv_cam_ground(cam, RV_BAY_U1, RV_BAY_V, &x1, &z);
  sc->n_bays = 0;
  for (double x = x0 + RV_BAY_LEN_M / 2; x + RV_BAY_LEN_M / 2 <= x1 && sc->n_bays < 64;
       x += RV_BAY_LEN_M)
    sc->bay_x[sc->n_bays++] = x;
}

static void paint_plain(rv_scene *sc, uint64_t seed) {
  rv_prng r;
  rv_prng_seed(&r, seed ^ 0x51a1);
  rv_rgb c = rv_hsv(rv_prng_unit(&r), rv_prng_range(&r, 0, 0.6), rv_prng_range(&r, 0.0, 0.6));
  for (size_t i = 0; i < (size_t)sc->bw * sc->bh; i++) {
    sc->bg[3 * i] = c.r, sc->bg[3 * i + 1] = c.g, sc->bg[3 * i + 2] = c.b;
  }
}

rv_status rv_scene_build(rv_scene *sc, const rv_cam *cam, int margin, uint64_t seed, int backdrop) {
  rv_status st = RV_OK;
  prop *props = NULL;
  rv_sprite spr = {0};
  memset(sc, 0, sizeof *sc);
  sc->margin = margin;
  sc->bw = cam->w + 2 * margin;
  sc->bh = cam->h + 2 * margin;
  size_t n = (size_t)sc->bw * sc->bh;
  sc->bg = malloc(n * 3);
  sc->occ = malloc(n * sizeof *sc->occ);
  sc->occluders = calloc(64, sizeof *sc->occluders);
  props = calloc(16, sizeof *props);
  if (!sc->bg || !sc->occ || !sc->occluders || !props)
    RV_TRY_FAIL(RV_ERR_NOMEM, "scene of %dx%d", sc->bw, sc->bh);
  for (size_t i = 0; i < n; i++)
    sc->occ[i] = INT32_MIN;
  bays(sc, cam);
  if (backdrop == RV_SYNTH_BACKDROP_PLAIN) {
    paint_plain(sc, seed);
    goto done;
  }
  rv_prng r;
  rv_prng_seed(&r, seed ^ 0x5ce9e);
  paint_ground(sc, cam, seed);
  paint_sky(sc, cam);
  paint_buildings(sc, cam, &r, seed);
  int np = plan_props(cam, &r, props);
  for (int i = 0; i < np && sc->n_occ < 64; i++)
    stamp(sc, cam, &props[i], &spr, seed + (uint64_t)i);
done:
  free(props);
  rv_sprite_clear(&spr);
  return RV_OK;
fail:
  free(props);
  rv_scene_clear(sc);
  return st;
}

void rv_scene_clear(rv_scene *sc) {
  free(sc->bg);
  free(sc->occ);
  free(sc->occluders);
  memset(sc, 0, sizeof *sc);
}
