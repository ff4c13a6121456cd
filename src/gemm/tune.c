/* clnn_context_tune: measure GEMM candidates at a network's exact shapes on
 * the context's device and keep the fastest correct one per shape.
 *
 * Candidates are clnn's own kernels over a grid of their parameters and
 * CLBlast with its own parameters or (full search) overridden ones. Every
 * candidate's first run is checked against a double-precision host product
 * of the same random inputs; wrong or failing candidates are rejected, never
 * timed. Timing is host wall clock around several queued launches and one
 * clFinish, best of several rounds, after the checked run has compiled the
 * kernel: launches on CPU devices cost microseconds, so device-side event
 * times would flatter small shapes that are launch-bound in training.
 *
 * The own-kernel search is two coordinate-descent stages rather than a full
 * product of all parameters: tiles (with the device's default work-group
 * rule), then work-group sizes around the best tiles. Each candidate is a
 * complete parameter set run on every shape; runs are cached by the
 * parameters that matter to the kernel a shape takes, so a dot-kernel
 * variant costs nothing on a shape that takes the outer kernel. */
#include "gemm/tune_search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tables of candidates (static data, so the search is the same every run). */
typedef struct tile3 {
    int a, b, c;
} tile3;

/* gemm_outer: rm × (vw·nv). The quick list spans CPU-sized tiles (many
 * accumulators) down to GPU-sized ones (few registers per work-item). */
static const tile3 outer_quick[] = {{8, 16, 2}, {4, 16, 2}, {8, 16, 1}, {8, 8, 2},
                                    {4, 8, 2},  {4, 4, 2},  {2, 4, 2}};
/* gemm_dot: dm × dn, dvw wide. */
static const tile3 dot_quick[] = {{4, 4, 16}, {2, 4, 16}, {4, 2, 16}, {4, 4, 8},
                                  {2, 2, 8},  {2, 2, 4},  {1, 2, 4}};
typedef struct local2 {
    int local0, min_groups;
} local2;
static const local2 local_quick[] = {{0, 0}, {16, 2}, {64, 2}, {64, 4}, {256, 2}};
static const int full_local0[] = {0, 8, 16, 32, 64, 128, 256};
static const int full_groups[] = {1, 2, 4};

/* CLBlast sets of the full search. Direct kernel: WGD, MDIMCD, NDIMCD,
 * MDIMAD, NDIMBD, KWID, VWMD, VWND, PADA, PADB; each satisfies CLBlast's
 * constraints (WGD a multiple of MDIMCD·VWMD, NDIMCD·VWND, MDIMAD·VWMD,
 * NDIMBD·VWND and MDIMCD·NDIMCD/MDIMAD). The first is CLBlast's generic
 * default; small work-groups with more outputs per work-item suit CPUs
 * (work-items live across barriers are costly there), the 16×16 ones GPUs. */
static const size_t clb_direct_sets[][CLNN__CLB_DIRECT_N] = {
    {16, 8, 8, 8, 8, 2, 1, 1, 1, 1},   {32, 8, 8, 8, 8, 2, 2, 2, 1, 1},
    {32, 8, 8, 8, 8, 2, 4, 4, 1, 1},   {64, 8, 8, 8, 8, 2, 8, 8, 1, 1},
    {16, 4, 4, 4, 4, 2, 4, 4, 1, 1},   {32, 16, 16, 16, 16, 2, 2, 2, 1, 1},
    {64, 16, 16, 16, 16, 2, 4, 4, 1, 1},
};
/* Indirect kernel: MWG, NWG, KWG, MDIMC, NDIMC, MDIMA, NDIMB, KWI, VWM, VWN,
 * STRM, STRN, SA, SB, GEMMK, KREG. The first was the best general set on an
 * AVX-512 CPU under PoCL; the second is CLBlast's generic default. */
static const size_t clb_xgemm_sets[][CLNN__CLB_XGEMM_N] = {
    {64, 64, 16, 4, 4, 4, 4, 2, 8, 8, 0, 0, 0, 0, 0, 1},
    {32, 32, 32, 8, 16, 8, 16, 2, 4, 2, 0, 0, 1, 1, 0, 1},
    {64, 64, 32, 8, 8, 8, 8, 2, 4, 4, 0, 0, 0, 0, 0, 1},
    {128, 128, 16, 8, 8, 8, 8, 2, 8, 8, 0, 0, 0, 0, 0, 1},
    {64, 64, 32, 16, 16, 16, 16, 2, 4, 4, 0, 0, 1, 1, 0, 1},
};
/* Thresholds that force one path: m·n·k < 1 never holds, < 2^60 always. */
#define THRESHOLD_INDIRECT 1
#define THRESHOLD_DIRECT (1u << 20)
_Static_assert(2 + CLNN__ARRAY_LEN(clb_direct_sets) + CLNN__ARRAY_LEN(clb_xgemm_sets) <= MAX_CLB,
               "MAX_CLB too small for the CLBlast sets");

/* The parameters that matter for the kernel s takes under p: the other
 * kernel's tile and the group count of a driver-chosen size do not. */
static clnn__gemm_own_params effective(const tuner *tu, const tune_shape *s,
                                       const clnn__gemm_own_params *p)
{
    const char *kernel = clnn__gemm_own_kernel_for(&s->g, p);
    const clnn__gemm_own_params *d = &tu->defaults;
    clnn__gemm_own_params q = *p;
    if (strcmp(kernel, "gemm_outer") != 0) {
        q.rm = d->rm;
        q.vw = d->vw;
        q.nv = d->nv;
        q.outer_grid = d->outer_grid;
    }
    if (strcmp(kernel, "gemm_dot") != 0) {
        q.dm = d->dm;
        q.dn = d->dn;
        q.dvw = d->dvw;
        q.dot_grid = d->dot_grid;
    }
    if (q.local0 == 0)
        q.min_groups = 0;
    return q;
}

/* Field by field: the tuner varies only these, and any other field a later
 * version adds keeps the device default in every candidate. */
static bool own_equal(const clnn__gemm_own_params *a, const clnn__gemm_own_params *b)
{
    return a->rm == b->rm && a->vw == b->vw && a->nv == b->nv && a->dm == b->dm &&
           a->dn == b->dn && a->dvw == b->dvw && a->outer_grid == b->outer_grid &&
           a->dot_grid == b->dot_grid && a->local0 == b->local0 &&
           a->min_groups == b->min_groups;
}

/* Time of p on s, measured once per effective parameter set. */
static double own_time(tuner *tu, tune_shape *s, const clnn__gemm_own_params *p)
{
    const clnn__gemm_own_params q = effective(tu, s, p);
    for (size_t i = 0; i < s->nruns; i++)
        if (own_equal(&s->runs[i].p, &q))
            return s->runs[i].us;
    char label[128];
    clnn__own_params_describe(&s->g, &q, label, sizeof label);
    double us = clnn__tune_measure_own(tu, s, &q, label);
    if (s->nruns == s->runs_cap) {
        size_t cap = s->runs_cap ? 2 * s->runs_cap : 32;
        own_run *r = realloc(s->runs, cap * sizeof *r);
        if (!r)
            return us; /* not cached: measured again if asked again */
        s->runs = r;
        s->runs_cap = cap;
    }
    s->runs[s->nruns++] = (own_run){q, us};
    if (us >= 0 && (s->own_us < 0 || us < s->own_us)) {
        s->own_us = us;
        s->own_best = q;
    }
    return us;
}

/* Σ over shapes of p's time; infinite when p fails anywhere. */
static double own_total(tuner *tu, const clnn__gemm_own_params *p)
{
    double sum = 0.0;
    for (size_t i = 0; i < tu->nshapes; i++) {
        double us = own_time(tu, &tu->shapes[i], p);
        sum += us < 0 ? INFINITY : us;
    }
    return sum;
}

static clnn__gemm_own_params with_outer(const clnn__gemm_own_params *base, tile3 t, int grid)
{
    clnn__gemm_own_params p = *base;
    p.rm = t.a;
    p.vw = t.b;
    p.nv = t.c;
    p.outer_grid = grid;
    return p;
}

static clnn__gemm_own_params with_dot(const clnn__gemm_own_params *base, tile3 t, int grid)
{
    clnn__gemm_own_params p = *base;
    p.dm = t.a;
    p.dn = t.b;
    p.dvw = t.c;
    p.dot_grid = grid;
    return p;
}

static size_t full_tiles(tile3 *out, size_t cap, bool dot)
{
    static const int sizes[] = {1, 2, 4, 8, 16};
    static const int widths[] = {4, 8, 16};
    static const int counts[] = {1, 2, 4};
    size_t n = 0;
    for (size_t i = 0; i < CLNN__ARRAY_LEN(sizes); i++)
        for (size_t j = 0; j < (dot ? CLNN__ARRAY_LEN(sizes) : CLNN__ARRAY_LEN(widths)); j++)
            for (size_t l = 0; l < (dot ? CLNN__ARRAY_LEN(widths) : CLNN__ARRAY_LEN(counts)); l++) {
                tile3 t = dot ? (tile3){sizes[i], sizes[j], widths[l]}
                              : (tile3){sizes[i], widths[j], counts[l]};
                /* Accumulator floats per work-item: 4 to 512, beyond which
                 * every device spills. */
                int acc = t.a * t.b * t.c;
                if (acc >= 4 && acc <= 512 && (!dot || t.a * t.b <= 32) && n < cap)
                    out[n++] = t;
            }
    return n;
}

/* Stage 1: tiles of both kernels, both grid orders, with the device's
 * default work-group rule. Returns the best complete set over all shapes. */
static clnn__gemm_own_params search_tiles(tuner *tu)
{
    tile3 outer[128], dot[128];
    size_t nouter, ndot;
    if (tu->quick) {
        nouter = CLNN__ARRAY_LEN(outer_quick);
        ndot = CLNN__ARRAY_LEN(dot_quick);
        memcpy(outer, outer_quick, sizeof outer_quick);
        memcpy(dot, dot_quick, sizeof dot_quick);
    } else {
        nouter = full_tiles(outer, CLNN__ARRAY_LEN(outer), false);
        ndot = full_tiles(dot, CLNN__ARRAY_LEN(dot), true);
    }
    const clnn__gemm_own_params *d = &tu->defaults;
    double best_outer = own_total(tu, d), best_dot = best_outer;
    clnn__gemm_own_params best_o = *d, best_d = *d;
    for (int grid = CLNN__GRID_N; grid <= CLNN__GRID_M; grid++) {
        /* The quick search tries the other grid order on the default tiles only. */
        const bool outer_flip = grid != d->outer_grid, dot_flip = grid != d->dot_grid;
        for (size_t i = 0; i < (tu->quick && outer_flip ? 1 : nouter); i++) {
            tile3 t = tu->quick && outer_flip ? (tile3){d->rm, d->vw, d->nv} : outer[i];
            clnn__gemm_own_params p = with_outer(d, t, grid);
            double total = own_total(tu, &p);
            if (total < best_outer) {
                best_outer = total;
                best_o = p;
            }
        }
        for (size_t i = 0; i < (tu->quick && dot_flip ? 1 : ndot); i++) {
            tile3 t = tu->quick && dot_flip ? (tile3){d->dm, d->dn, d->dvw} : dot[i];
            clnn__gemm_own_params p = with_dot(d, t, grid);
            double total = own_total(tu, &p);
            if (total < best_dot) {
                best_dot = total;
                best_d = p;
            }
        }
    }
    clnn__gemm_own_params best =
        with_outer(d, (tile3){best_o.rm, best_o.vw, best_o.nv}, best_o.outer_grid);
    return with_dot(&best, (tile3){best_d.dm, best_d.dn, best_d.dvw}, best_d.dot_grid);
}

static size_t local_list(const tuner *tu, local2 *out, size_t cap)
{
    if (tu->quick) {
        memcpy(out, local_quick, sizeof local_quick);
        return CLNN__ARRAY_LEN(local_quick);
    }
    size_t n = 0;
    out[n++] = (local2){0, 0};
    for (size_t i = 1; i < CLNN__ARRAY_LEN(full_local0); i++)
        for (size_t j = 0; j < CLNN__ARRAY_LEN(full_groups) && n < cap; j++)
            out[n++] = (local2){full_local0[i], full_groups[j]};
    return n;
}

/* Stage 2: work-group sizes around the general best (for shapes the file
 * does not list) and around each shape's best tile. Returns the general
 * set with the smallest total. */
static clnn__gemm_own_params search_local(tuner *tu, const clnn__gemm_own_params *general)
{
    local2 locals[32];
    size_t nlocal = local_list(tu, locals, CLNN__ARRAY_LEN(locals));
    clnn__gemm_own_params best = *general;
    double best_total = own_total(tu, general);
    for (size_t i = 0; i < nlocal; i++) {
        clnn__gemm_own_params p = *general;
        p.local0 = locals[i].local0;
        p.min_groups = locals[i].min_groups;
        double total = own_total(tu, &p);
        if (total < best_total) {
            best_total = total;
            best = p;
        }
    }
    for (size_t si = 0; si < tu->nshapes; si++) {
        tune_shape *s = &tu->shapes[si];
        if (s->own_us < 0)
            continue;
        const clnn__gemm_own_params tile = s->own_best;
        for (size_t i = 0; i < nlocal; i++) {
            clnn__gemm_own_params p = tile;
            p.local0 = locals[i].local0;
            p.min_groups = locals[i].min_groups;
            own_time(tu, s, &p);
        }
    }
    return best;
}

/* A candidate replaces a simpler choice only when it is more than MARGIN
 * faster: the best of many noisy timings is biased low, and every distinct
 * parameter set is another kernel build and (on PoCL) another work-group
 * function to load on the first training step of every process (measured:
 * 60 ms more first-step latency with per-shape sets on every shape). */
#define MARGIN 0.03

/* The device's defaults over the general set, the general set over a
 * shape's own best, each unless clearly slower. */
static void prefer_simpler(tuner *tu, clnn__gemm_own_params *general)
{
    if (!(own_total(tu, general) < own_total(tu, &tu->defaults) * (1 - MARGIN)))
        *general = tu->defaults;
    for (size_t i = 0; i < tu->nshapes; i++) {
        tune_shape *s = &tu->shapes[i];
        double g = own_time(tu, s, general);
        if (g > 0 && s->own_us > 0 && g * (1 - MARGIN) <= s->own_us) {
            s->own_us = g;
            s->own_best = effective(tu, s, general);
        }
    }
}

/* ------------------------------------------------------------- CLBlast */

static void add_clb(tuner *tu, const clnn__clblast_set *set, clb_kind kind)
{
    for (size_t i = 0; i < tu->nclb; i++)
        if (clnn__clblast_set_equal(&tu->clb[i].set, set))
            return;
    if (tu->nclb < MAX_CLB)
        tu->clb[tu->nclb++] = (clb_cand){*set, kind};
}

/* Candidates in the order they must run: CLBlast's own parameters first,
 * since no override can be undone. */
static void clblast_candidates(tuner *tu, const clnn__clblast_set *current)
{
    const clnn__clblast_set library = {.overridden = false};
    tu->clb_library = -1;
    if (clnn__gemm_clblast_available() != CLNN_OK) {
        clnn__log(CLNN_LOG_INFO, "tuning clnn's own kernels only: %s", clnn_last_error());
        clnn__clear_error();
        return;
    }
    if (clnn__gemm_clblast_pristine(tu->ctx)) {
        tu->clb_library = (int)tu->nclb;
        add_clb(tu, &library, CLB_OPAQUE);
    }
    if (current->overridden || tu->clb_library < 0)
        add_clb(tu, current, CLB_OPAQUE);
    if (tu->quick)
        return;
    for (size_t i = 0; i < CLNN__ARRAY_LEN(clb_direct_sets); i++) {
        clnn__clblast_set s = {.overridden = true, .min_indirect = THRESHOLD_DIRECT};
        memcpy(s.direct, clb_direct_sets[i], sizeof s.direct);
        memcpy(s.xgemm, clb_xgemm_sets[0], sizeof s.xgemm);
        add_clb(tu, &s, CLB_DIRECT);
    }
    for (size_t i = 0; i < CLNN__ARRAY_LEN(clb_xgemm_sets); i++) {
        clnn__clblast_set s = {.overridden = true, .min_indirect = THRESHOLD_INDIRECT};
        memcpy(s.direct, clb_direct_sets[0], sizeof s.direct);
        memcpy(s.xgemm, clb_xgemm_sets[i], sizeof s.xgemm);
        add_clb(tu, &s, CLB_INDIRECT);
    }
}

static void measure_clblast(tuner *tu)
{
    for (size_t c = 0; c < tu->nclb; c++) {
        char label[512];
        clnn__clblast_set_describe(&tu->clb[c].set, label, sizeof label);
        bool failed = false;
        for (size_t i = 0; i < tu->nshapes; i++) {
            tune_shape *s = &tu->shapes[i];
            /* A set that cannot be applied or built fails on every shape:
             * skip the rest rather than repeat a long failing compile. */
            const clnn__clblast_set *set = &tu->clb[c].set;
            s->clb_us[c] = failed ? -1.0 : clnn__tune_measure_clblast(tu, s, set, label);
            if (i == 0 && s->clb_us[c] < 0)
                failed = true;
        }
    }
}

/* The smallest t with t³ > v: a threshold that sends size v direct. */
static size_t cube_root_above(double v)
{
    size_t t = (size_t)cbrt(v);
    while ((double)t * t * t <= v)
        t++;
    return t;
}

/* The CLBlast set whose use alongside the best own kernels makes the
 * network's GEMMs fastest: Σ over shapes of min(own, CLBlast), ties (own
 * faster everywhere) going to the fastest CLBlast alone, then to the earlier
 * candidate. Opaque candidates count as measured; a direct and an indirect
 * set combine with every threshold that separates the shapes' sizes
 * differently. Fills clb_us with the chosen set's time per shape. */
static clnn__clblast_set choose_clblast(tuner *tu, double *clb_us)
{
    double best_total = INFINITY, best_alone = INFINITY;
    clnn__clblast_set best = {.overridden = false};
    for (size_t i = 0; i < tu->nshapes; i++)
        clb_us[i] = -1.0;
    /* thresholds: the forcing ones and one just above each shape's size */
    size_t thresholds[2 + 256];
    size_t nthr = 0;
    thresholds[nthr++] = THRESHOLD_INDIRECT;
    thresholds[nthr++] = THRESHOLD_DIRECT;
    for (size_t i = 0; i < tu->nshapes && nthr < CLNN__ARRAY_LEN(thresholds); i++) {
        const clnn__gemm_args *g = &tu->shapes[i].g;
        thresholds[nthr++] = cube_root_above((double)g->m * g->n * g->k);
    }
    for (size_t d = 0; d < tu->nclb; d++) {
        const clb_cand *cd = &tu->clb[d];
        if (cd->kind == CLB_INDIRECT)
            continue;
        /* opaque: itself; direct: with every indirect set and threshold */
        size_t xs = cd->kind == CLB_OPAQUE ? 1 : tu->nclb;
        for (size_t x = 0; x < xs; x++) {
            if (cd->kind == CLB_DIRECT && tu->clb[x].kind != CLB_INDIRECT)
                continue;
            size_t ts = cd->kind == CLB_OPAQUE ? 1 : nthr;
            for (size_t ti = 0; ti < ts; ti++) {
                double total = 0.0, alone = 0.0;
                for (size_t i = 0; i < tu->nshapes; i++) {
                    const tune_shape *s = &tu->shapes[i];
                    const clnn__gemm_args *g = &s->g;
                    double t3 = (double)thresholds[ti] * thresholds[ti] * thresholds[ti];
                    bool direct = (double)g->m * g->n * g->k < t3;
                    double c = cd->kind == CLB_OPAQUE ? s->clb_us[d]
                               : direct              ? s->clb_us[d]
                                                     : s->clb_us[x];
                    double own = s->own_us;
                    double t = c < 0 ? own : own < 0 ? c : (c < own ? c : own);
                    total += t < 0 ? INFINITY : t;
                    alone += c < 0 ? INFINITY : c;
                }
                /* Relative slack: equal sums may differ in the last bits. */
                bool better = total < best_total * (1 - 1e-12) ||
                              (total <= best_total * (1 + 1e-12) && alone < best_alone);
                if (better) {
                    best_total = total;
                    best_alone = alone;
                    best = cd->set;
                    if (cd->kind == CLB_DIRECT) {
                        memcpy(best.xgemm, tu->clb[x].set.xgemm, sizeof best.xgemm);
                        best.min_indirect = thresholds[ti];
                    }
                    for (size_t i = 0; i < tu->nshapes; i++) {
                        const tune_shape *s = &tu->shapes[i];
                        const clnn__gemm_args *g = &s->g;
                        double t3 = (double)thresholds[ti] * thresholds[ti] * thresholds[ti];
                        bool direct = (double)g->m * g->n * g->k < t3;
                        clb_us[i] = cd->kind == CLB_OPAQUE || direct ? s->clb_us[d]
                                                                     : s->clb_us[x];
                    }
                }
            }
        }
    }
    return best;
}

/* --------------------------------------------------------------- driver */

/* The untuned cost of a shape: the context's backend as it runs without a
 * tuning file. CLBlast's own parameters can only be measured before any
 * override in this process; otherwise the parameters in force stand in. */
static void default_times(tuner *tu)
{
    for (size_t i = 0; i < tu->nshapes; i++) {
        tune_shape *s = &tu->shapes[i];
        if (tu->ctx->gemm == CLNN_GEMM_OWN)
            s->default_us = own_time(tu, s, &tu->defaults);
        else
            s->default_us = tu->clb_library >= 0 ? s->clb_us[tu->clb_library] : s->clb_us[0];
    }
}

/* Merge the search into the table read from the file (or the context's):
 * earlier shapes stay unless they ran CLBlast with parameters no longer in
 * force. */
static clnn_status build_table(tuner *tu, clnn__tuning *t, const clnn__clblast_set *clb,
                               const double *clb_us, const clnn__gemm_own_params *general,
                               clnn_gemm_backend default_backend, clnn_tune_result *results)
{
    if (!clnn__clblast_set_equal(&t->clblast, clb)) {
        size_t kept = 0;
        for (size_t i = 0; i < t->count; i++)
            if (t->entries[i].backend != CLNN_GEMM_CLBLAST)
                t->entries[kept++] = t->entries[i];
        t->count = kept;
    }
    t->clblast = *clb;
    t->default_backend = default_backend;
    t->default_own = *general;
    t->quick = tu->quick;
    for (size_t i = 0; i < tu->nshapes; i++) {
        tune_shape *s = &tu->shapes[i];
        const clnn__gemm_args *g = &s->g;
        clnn_tune_result *r = &results[i];
        *r = (clnn_tune_result){.struct_size = sizeof *r, .batch = s->batch, .layer = s->layer,
                                .op = s->op, .trans_a = g->trans_a, .trans_b = g->trans_b,
                                .m = g->m, .n = g->n, .k = g->k, .candidates = s->candidates,
                                .rejected = s->rejected,
                                .default_us = s->default_us > 0 ? s->default_us : 0.0,
                                .own_us = s->own_us > 0 ? s->own_us : 0.0,
                                .clblast_us = clb_us[i] > 0 ? clb_us[i] : 0.0};
        if (s->own_us > 0)
            clnn__own_params_describe(g, &s->own_best, r->own_params, sizeof r->own_params);
        /* CLBlast must be clearly faster too: its first call in a process
         * builds a large program. */
        bool own = s->own_us > 0 && (clb_us[i] <= 0 || s->own_us * (1 - MARGIN) <= clb_us[i]);
        if (s->own_us <= 0 && clb_us[i] <= 0)
            return clnn__fail(CLNN_ERR_UNSUPPORTED,
                              "no GEMM candidate gave a correct result for %zu×%zu×%zu (%s of "
                              "layer %zu); run with CLNN_VERBOSE=1 to see why",
                              g->m, g->n, g->k, s->op, s->layer);
        r->chosen = own ? CLNN_GEMM_OWN : CLNN_GEMM_CLBLAST;
        r->chosen_us = own ? s->own_us : clb_us[i];
        r->gflops = 2.0 * (double)g->m * g->n * g->k / (r->chosen_us * 1e3);
        clnn__tune_entry e = {.trans_a = g->trans_a, .trans_b = g->trans_b, .m = g->m,
                              .n = g->n, .k = g->k, .backend = r->chosen,
                              .own = own ? s->own_best : *general, .us = r->chosen_us,
                              .default_us = r->default_us};
        clnn_status st = clnn__tuning_put(t, &e);
        if (st != CLNN_OK)
            return st;
    }
    return CLNN_OK;
}

static clnn_status tune(tuner *tu, const clnn_tune_options *o, const clnn__gemm_shape *shapes,
                        size_t count, clnn__gemm_state *gs, clnn__tuning *table,
                        const char *path)
{
    clnn_context *ctx = tu->ctx;
    const clnn__tuning *skip = o->missing_only && gs->active ? &gs->table : NULL;
    clnn_status st = clnn__tune_collect_shapes(tu, shapes, count, skip);
    for (size_t i = 0; i < tu->nshapes && st == CLNN_OK; i++)
        st = clnn__tune_prepare_shape(tu, &tu->shapes[i], 1 + i);
    if (st != CLNN_OK || tu->nshapes == 0)
        return st;

    /* CLBlast first: its own parameters are gone after the first override. */
    clblast_candidates(tu, &table->clblast);
    measure_clblast(tu);
    default_times(tu);
    clnn__gemm_own_params general = search_tiles(tu);
    general = search_local(tu, &general);
    prefer_simpler(tu, &general);
    double own_general = own_total(tu, &general);
    if (tu->cancelled)
        return CLNN_ERR_CANCELLED; /* nothing measured is complete: no file, no table */

    double *clb_us = malloc(tu->nshapes * sizeof *clb_us);
    clnn_tune_result *results = calloc(tu->nshapes, sizeof *results);
    if (!clb_us || !results) {
        free(clb_us);
        free(results);
        return clnn__fail(CLNN_ERR_OUT_OF_MEMORY, "out of host memory for tuning results");
    }
    clnn__clblast_set clb = choose_clblast(tu, clb_us);
    double clb_total = 0.0;
    for (size_t i = 0; i < tu->nshapes; i++)
        clb_total += clb_us[i] < 0 ? INFINITY : clb_us[i];
    clnn_gemm_backend default_backend =
        own_general * (1 - MARGIN) <= clb_total ? CLNN_GEMM_OWN : CLNN_GEMM_CLBLAST;
    bool clblast_used = default_backend == CLNN_GEMM_CLBLAST;
    for (size_t i = 0; i < tu->nshapes; i++) {
        const double own = tu->shapes[i].own_us;
        clblast_used |= clb_us[i] >= 0 && (own < 0 || own * (1 - MARGIN) > clb_us[i]);
    }
    if (clblast_used && !clb.overridden && !clnn__gemm_clblast_pristine(ctx))
        clnn__log(CLNN_LOG_WARN, "CLBlast's own parameters won, but CLBlast cannot return to them "
                                 "after the overrides tried: this process keeps the last ones "
                                 "(correct, maybe slower); later processes use its own");
    st = build_table(tu, table, &clb, clb_us, &general, default_backend, results);
    free(clb_us);
    if (st == CLNN_OK)
        st = clnn__tuning_write(ctx, path, table);
    if (st != CLNN_OK) {
        free(results);
        return st;
    }
    free(gs->results);
    gs->results = results;
    gs->nresults = tu->nshapes;
    clnn__clblast_set_describe(&clb, gs->clblast_text, sizeof gs->clblast_text);
    return CLNN_OK;
}

clnn_status clnn__gemm_tune(clnn_context *ctx, const clnn_tune_options *o,
                            const clnn__gemm_shape *shapes, size_t count)
{
    clnn__gemm_state *gs = clnn__gemm_state_get(ctx);
    if (!gs)
        return CLNN_ERR_OUT_OF_MEMORY;
    char path[4096];
    clnn_status st = clnn__tuning_path(ctx, true, path, sizeof path);
    if (st != CLNN_OK)
        return st;
    st = clnn__finish(ctx);
    if (st != CLNN_OK)
        return st;
    const double start = clnn__now();

    /* The table to merge into: the file's, whether or not this context
     * applies it (CLNN_TUNING=0 or an explicit backend only stop applying). */
    clnn__tuning table;
    clnn__tuning_init(ctx, &table);
    bool matches = false;
    if (clnn__tuning_read(ctx, path, &table, &matches) != CLNN_OK || !matches) {
        clnn__tuning_free(&table);
        clnn__tuning_init(ctx, &table);
        clnn__clear_error();
    }
    if (gs->active)
        table.clblast = gs->table.clblast;

    tuner tu = {.ctx = ctx, .quick = o->quick, .round_s = o->quick ? 1e-3 : 3e-3,
                .rounds = o->quick ? 3 : 5};
    clnn__gemm_own_default_params(ctx, &tu.defaults);
    /* The search's own launches stay out of the profile table. */
    const bool profiling = ctx->profiling;
    ctx->profiling = false;
    ctx->transient_programs = true;
    st = tune(&tu, o, shapes, count, gs, &table, path);
    if (tu.cancelled)
        st = clnn__fail(CLNN_ERR_CANCELLED,
                        "clnn_context_tune: cancelled by the progress callback after %llu "
                        "candidates; the tuning file and the context's tuning are unchanged",
                        (unsigned long long)tu.measured);
    ctx->transient_programs = false;
    ctx->profiling = profiling;
    size_t tuned = tu.nshapes;
    clnn__tune_free_shapes(&tu);
    if (st != CLNN_OK) {
        clnn__tuning_free(&table);
        return st;
    }
    if (tuned == 0) { /* missing_only, and nothing was missing */
        clnn__tuning_free(&table);
        free(gs->results);
        gs->results = NULL;
        gs->nresults = 0;
        snprintf(gs->clblast_text, sizeof gs->clblast_text, "unchanged");
    } else {
        clnn__tuning_free(&gs->table);
        gs->table = table;
        gs->active = clnn__tuning_enabled(ctx);
        gs->generation++;
    }
    gs->have_report = true;
    gs->seconds = clnn__now() - start;
    snprintf(gs->path, sizeof gs->path, "%s", path);
    clnn__log(CLNN_LOG_INFO, "tuned %zu GEMM shapes in %.1f s: %s", tuned, gs->seconds, path);
    return CLNN_OK;
}

/* The last tune's state, for a call that copies from it into out, a record
 * of type (whose first version is first_version bytes). */
static clnn_status last_tune(const clnn_context *ctx, const void *out, size_t first_version,
                             const char *call, const char *type, const clnn__gemm_state **gs)
{
    if (!ctx || !out)
        return clnn__fail(CLNN_ERR_INVALID_ARGUMENT, "%s: NULL argument", call);
    clnn_status st = clnn__struct_out_check(out, first_version, call, type);
    if (st != CLNN_OK)
        return st;
    *gs = ctx->gemm_state;
    if (!*gs || !(*gs)->have_report)
        return clnn__fail(CLNN_ERR_STATE, "%s: the context has not tuned", call);
    return CLNN_OK;
}

clnn_status clnn_context_tune_report(const clnn_context *ctx, clnn_tune_report *report)
{
    clnn__clear_error();
    const clnn__gemm_state *gs;
    clnn_status st = last_tune(ctx, report, CLNN__V1_clnn_tune_report, "clnn_context_tune_report",
                               "clnn_tune_report", &gs);
    if (st != CLNN_OK)
        return st;
    const clnn_tune_report full = {.count = gs->nresults, .seconds = gs->seconds,
                                   .default_backend = gs->table.default_backend,
                                   .clblast = gs->clblast_text, .path = gs->path};
    CLNN__STRUCT_OUT(clnn_tune_report, report, &full);
    return CLNN_OK;
}

clnn_status clnn_context_tune_result(const clnn_context *ctx, size_t index,
                                     clnn_tune_result *result)
{
    clnn__clear_error();
    const char *call = "clnn_context_tune_result";
    const clnn__gemm_state *gs;
    clnn_status st = last_tune(ctx, result, CLNN__V1_clnn_tune_result, call, "clnn_tune_result",
                               &gs);
    if (st == CLNN_OK && index >= gs->nresults)
        st = clnn__fail(CLNN_ERR_INVALID_ARGUMENT,
                        "%s: index %zu is out of range: the last tune gave %zu results", call,
                        index, gs->nresults);
    if (st == CLNN_OK)
        CLNN__STRUCT_OUT(clnn_tune_result, result, &gs->results[index]);
    return st;
}
