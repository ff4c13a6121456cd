/**
 * @file
 * clnn — train neural networks on any OpenCL device.
 *
 * Conventions
 *  - Every fallible call returns a clnn_status; on failure, clnn_last_error()
 *    holds a message for the calling thread that names the cause and the fix.
 *  - The library never prints and never exits; install a log callback with
 *    clnn_set_log_callback() to see diagnostics.
 *  - Objects are opaque; every *_free(NULL) is a no-op.
 *  - Matrices are row-major float32; a batch of inputs is batch × features.
 *  - Structs the caller allocates begin with `size_t struct_size`, the
 *    sizeof the caller was compiled with, so that a program built against
 *    this header keeps working with a later library whose structs have
 *    grown: the library reads and writes only the first struct_size bytes,
 *    and refuses a struct_size below the struct's first version (0 too)
 *    with CLNN_ERR_INVALID_ARGUMENT. Options are filled by their _init
 *    function, which sets struct_size and the defaults; records the library
 *    fills are declared as `clnn_x info = {.struct_size = sizeof info};`
 *    (in C89 or C++ before C++20: cleared with memset, then struct_size
 *    set). Tables come one entry at a time, copied by index.
 */
#ifndef CLNN_H
#define CLNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clnn_version.h"

/* On Windows, a program linking the static library defines CLNN_STATIC (the
 * DLL's import library needs nothing). */
#if defined(_WIN32) && defined(CLNN_BUILDING_LIBRARY)
#define CLNN_API __declspec(dllexport)
#elif defined(_WIN32) && !defined(CLNN_STATIC)
#define CLNN_API __declspec(dllimport)
#elif defined(_WIN32)
#define CLNN_API
#elif defined(__GNUC__)
#define CLNN_API __attribute__((visibility("default")))
#else
#define CLNN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

/** X(suffix, value, description): the one table of statuses. */
#define CLNN_STATUS_TABLE(X)                                                   \
    X(OK, 0, "success")                                                        \
    X(ERR_INVALID_ARGUMENT, 1, "invalid argument")                             \
    X(ERR_OUT_OF_MEMORY, 2, "out of host memory")                              \
    X(ERR_NO_PLATFORM, 3, "no OpenCL platform found")                          \
    X(ERR_NO_DEVICE, 4, "no matching OpenCL device")                           \
    X(ERR_OPENCL, 5, "OpenCL call failed")                                     \
    X(ERR_BUILD, 6, "OpenCL kernel build failed")                              \
    X(ERR_IO, 7, "file input/output error")                                    \
    X(ERR_BAD_FILE, 8, "malformed or unsupported file")                        \
    X(ERR_SHAPE, 9, "shape mismatch")                                          \
    X(ERR_BATCH_TOO_SMALL, 10, "batch too small")                              \
    X(ERR_STATE, 11, "operation not valid in the object's current state")      \
    X(ERR_NONFINITE, 12, "non-finite value (NaN or infinity)")                 \
    X(ERR_UNSUPPORTED, 13, "unsupported by this device or build")              \
    X(ERR_SPEC, 14, "invalid layer specification")                             \
    X(ERR_CANCELLED, 15, "cancelled by the progress callback")

typedef enum clnn_status {
#define CLNN__STATUS_ENUM(suffix, value, text) CLNN_##suffix = value,
    CLNN_STATUS_TABLE(CLNN__STATUS_ENUM)
#undef CLNN__STATUS_ENUM
    /* Not a status: one more than the highest, so that a program can size a
     * table by it (it grows when statuses are added). It also ends the list
     * without the comma that C89 and C++98 refuse. */
    CLNN_STATUS_COUNT
} clnn_status;

/** Short fixed description of a status ("kernel build failed"). */
CLNN_API const char *clnn_strerror(clnn_status status);
/** The enumerator's name ("CLNN_ERR_BUILD"). */
CLNN_API const char *clnn_status_name(clnn_status status);
/** Detailed message of the last failed call on this thread (cause and fix;
 * includes the compiler log when a kernel failed to build). Empty when none.
 * Valid until the next clnn call on this thread. */
CLNN_API const char *clnn_last_error(void);

/* --------------------------------------------------------------- logging */

typedef enum clnn_log_level {
    CLNN_LOG_DEBUG = 0,
    CLNN_LOG_INFO = 1,
    CLNN_LOG_WARN = 2,
    CLNN_LOG_ERROR = 3
} clnn_log_level;

typedef void (*clnn_log_fn)(clnn_log_level level, const char *message, void *user);

/** Process-wide; NULL silences the library (the default). Thread-safe. */
CLNN_API void clnn_set_log_callback(clnn_log_fn fn, void *user);

/** "MAJOR.MINOR.PATCH" of the library actually loaded. */
CLNN_API const char *clnn_version(void);
/** CLNN_VERSION_NUMBER of the library actually loaded: a program can check
 * at run time that it is not older than the header it was built with. */
CLNN_API unsigned clnn_version_number(void);

/* --------------------------------------------------------------- devices */

typedef enum clnn_device_type {
    CLNN_DEVICE_OTHER = 0,
    CLNN_DEVICE_CPU = 1,
    CLNN_DEVICE_GPU = 2,
    CLNN_DEVICE_ACCELERATOR = 3
} clnn_device_type;

/** What clnn_device_get_info and clnn_context_get_device_info fill in:
 * declare it as `clnn_device_info info = {.struct_size = sizeof info};`. */
typedef struct clnn_device_info {
    size_t struct_size;
    size_t index; /* position in the global list, across platforms */
    char platform[128];
    char name[128];
    char vendor[128];
    char device_version[64];   /* "OpenCL 3.0 PoCL ..." */
    char driver_version[64];
    char opencl_c_version[64]; /* "OpenCL C 1.2 ..." */
    clnn_device_type type;
    unsigned compute_units;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
} clnn_device_info;

CLNN_API const char *clnn_device_type_name(clnn_device_type type);
/** Number of OpenCL devices over all platforms. CLNN_ERR_NO_PLATFORM when no
 * OpenCL platform (ICD) is installed. */
CLNN_API clnn_status clnn_device_count(size_t *count);
CLNN_API clnn_status clnn_device_get_info(size_t index, clnn_device_info *info);
/** Resolve a selector: a decimal index, or a case-insensitive substring of
 * "platform name vendor". NULL or "" uses $CLNN_DEVICE, then the default
 * rule (first GPU, else first device). */
CLNN_API clnn_status clnn_device_select(const char *selector, size_t *index);

/* --------------------------------------------------------------- context */

/** A device, its OpenCL context and in-order queue, and the compiled-program
 * cache. Thread-safety: one thread at a time may use a context and the
 * networks made on it; separate contexts may be used from separate threads. */
typedef struct clnn_context clnn_context;

typedef enum clnn_gemm_backend {
    CLNN_GEMM_AUTO = 0,    /* $CLNN_GEMM ("clblast"|"own"), else the device's best */
    CLNN_GEMM_CLBLAST = 1, /* CLBlast */
    CLNN_GEMM_OWN = 2      /* clnn's own OpenCL kernels */
} clnn_gemm_backend;

/** A setting that may be left to the default (the environment variable named
 * beside it, else the library's choice) or forced on or off. */
typedef enum clnn_switch {
    CLNN_SWITCH_DEFAULT = 0,
    CLNN_SWITCH_ON = 1,
    CLNN_SWITCH_OFF = 2
} clnn_switch;

/** Progress of a long call on a context or its networks: what runs
 * ("building kernels", "tuning", "evaluating", "training"), how much of it
 * is done, and of how much (0: not known ahead, as for kernel builds).
 * Called on the calling thread between units of work; return false to
 * cancel: the call stops there and returns CLNN_ERR_CANCELLED, and every
 * object stays usable. Training keeps the steps it finished; a step it
 * stopped in may have moved BatchNorm's running statistics, never the
 * parameters. */
typedef bool (*clnn_progress_fn)(const char *what, uint64_t done, uint64_t total, void *user);

struct _cl_context;       /* OpenCL's cl_context */
struct _cl_command_queue; /* OpenCL's cl_command_queue */

/** How a context is made. Fill it with clnn_context_options_init, then set
 * what you need; every field left alone keeps its default, including those
 * a later version of this header adds. Environment variables only supply
 * defaults: a field set here always wins. */
typedef struct clnn_context_options {
    size_t struct_size;        /* sizeof(clnn_context_options): set by _init */
    const char *device;        /* selector, see clnn_device_select; NULL: $CLNN_DEVICE, then
                                  the first GPU, else the first device */
    clnn_gemm_backend gemm;    /* AUTO: $CLNN_GEMM, else per shape by tuning (own kernels
                                  when untuned) */
    bool profiling;            /* create the queue with profiling enabled */
    const char *cache_dir;     /* folder for tuning files and program binaries; NULL:
                                  $CLNN_CACHE_DIR, else the user's cache folder
                                  (%LOCALAPPDATA%\clnn, ~/Library/Caches/clnn,
                                  $XDG_CACHE_HOME/clnn or ~/.cache/clnn) */
    clnn_switch program_cache; /* keep compiled kernels in cache_dir; DEFAULT:
                                  $CLNN_PROGRAM_CACHE, else on except on PoCL (which
                                  caches them itself) */
    clnn_switch tuning;        /* apply the device's tuning file; DEFAULT: $CLNN_TUNING,
                                  else on (an explicit gemm backend always turns it off) */
    const char *opencl_library; /* the OpenCL library to load, if OpenCL is not loaded in
                                   this process yet; NULL: $CLNN_OPENCL_LIBRARY, else an
                                   OpenCL the process already has, else the system's
                                   (OpenCL.dll, the OpenCL framework, libOpenCL.so.1) */
    /* The application's own OpenCL context and in-order queue, to share
     * buffers and events with its other OpenCL work (both, or neither;
     * device must then be NULL). clnn retains them and releases them with
     * the context; the queue must belong to the context, and have
     * profiling enabled when profiling is set. */
    struct _cl_context *cl_context;
    struct _cl_command_queue *cl_queue;
    /* Messages about this context and the networks on it go here, instead
     * of to clnn_set_log_callback's (NULL: to that one). Called on the
     * thread that made the call. */
    clnn_log_fn log;
    void *log_user;
    /* Progress of long calls, which it may cancel (NULL: none); also set
     * later with clnn_context_set_progress. */
    clnn_progress_fn progress;
    void *progress_user;
} clnn_context_options;

CLNN_API void clnn_context_options_init(clnn_context_options *options);
CLNN_API clnn_status clnn_context_create(const clnn_context_options *options, clnn_context **out);
/** Free the context. Networks made on it keep it alive: it goes when the
 * last of them is freed, so the two may be freed in either order. */
CLNN_API void clnn_context_free(clnn_context *ctx);
/** Set (or with NULL remove) the progress callback of the context's long
 * calls and of its networks'. */
CLNN_API clnn_status clnn_context_set_progress(clnn_context *ctx, clnn_progress_fn fn, void *user);
CLNN_API clnn_status clnn_context_get_device_info(const clnn_context *ctx, clnn_device_info *info);
CLNN_API clnn_gemm_backend clnn_context_gemm_backend(const clnn_context *ctx);
CLNN_API const char *clnn_gemm_backend_name(clnn_gemm_backend backend);
/** CLNN_OK when the backend can run here: clnn's own kernels (and AUTO)
 * always; CLBlast when this build includes it and the system's CLBlast
 * library loads. Otherwise CLNN_ERR_UNSUPPORTED, with the reason and what to
 * do in clnn_last_error(). */
CLNN_API clnn_status clnn_gemm_backend_available(clnn_gemm_backend backend);
/** Wait until all queued work has finished. */
CLNN_API clnn_status clnn_context_finish(clnn_context *ctx);

/** Peak figures of the context's device, measured with micro-kernels
 * (kernels/probe.cl), to judge how close other kernels come to the device:
 * arithmetic throughput from independent fma chains (2 FLOP per fma, the
 * best of several vector widths) and memory bandwidth from a copy of a large
 * buffer (bytes read plus bytes written), each the best of several timed
 * runs after a warm-up, in device time from OpenCL events on a private
 * profiling queue (so it works on any context and leaves the profile table
 * alone); and the cost of a launch, as clnn_context_probe_launch measures
 * it. Waits for queued work first; takes about a second. Declare it as
 * `clnn_device_peak peak = {.struct_size = sizeof peak};`. */
typedef struct clnn_device_peak {
    size_t struct_size;
    double gflops;         /* FP32 GFLOP/s */
    double gbps;           /* GB/s (1e9 bytes), read plus write */
    size_t copy_bytes;     /* size of the buffer the bandwidth copy used */
    double launch_us;      /* clnn_context_probe_launch: queued back to back */
    double launch_wait_us; /* clnn_context_probe_launch: enqueued and waited for */
} clnn_device_peak;

CLNN_API clnn_status clnn_context_probe_peak(clnn_context *ctx, clnn_device_peak *peak);
/** Bandwidth (GB/s, read plus write, best of several) of the same copy kernel
 * on a buffer of `bytes` bytes (rounded up to 16). Small launches are bound
 * by launch latency and large ones may fit in a cache, so a kernel that
 * moves 2 × bytes per launch is best judged against this rather than
 * against the peak. */
CLNN_API clnn_status clnn_context_probe_copy(clnn_context *ctx, size_t bytes, double *gbps);
/** The cost of a launch itself, in host wall-clock microseconds, from an
 * empty kernel with one work-group per compute unit: queued_us per launch
 * when many are queued back to back and waited for once (as a training step
 * queues its kernels), waited_us for one launch enqueued and waited for. No
 * kernel can take less, so a product that a host library finishes in less
 * than queued_us cannot be matched with one launch. Best of several rounds,
 * on a private queue without profiling; waits for queued work first. */
CLNN_API clnn_status clnn_context_probe_launch(clnn_context *ctx, double *queued_us,
                                               double *waited_us);

/** Device time of every kernel and transfer since the last reset, from OpenCL
 * profiling events, summed per (scope, kernel). Needs a context created with
 * options.profiling. One entry of the table, as clnn_context_profile_entry
 * copies it: declare it as `clnn_profile_entry e = {.struct_size = sizeof e};`.
 * Its strings stay valid until clnn_context_free. */
typedef struct clnn_profile_entry {
    size_t struct_size;
    const char *scope;  /* what enqueued it: "layer 0 dense forward", "optimizer", ... */
    const char *kernel; /* "gemm", "bn_forward_train", "upload", ... */
    uint64_t launches;
    double total_ms;    /* device execution time, start to end */
    double min_ms;
    double flops;       /* arithmetic done, summed over launches (0 if not counted) */
    double bytes;       /* global memory traffic, summed over launches (estimate) */
    double gap_ms;      /* the device idle before its launches, summed: from the end
                           of the command before to the start of each (not counted
                           for a queue's first command after a wait) */
} clnn_profile_entry;

/** Wait for queued work, add its times to the table, and give the number of
 * entries. The table as read stays put until the next read or reset, while
 * later work is timed: clnn_context_profile_entry copies its entries. */
CLNN_API clnn_status clnn_context_profile_read(clnn_context *ctx, size_t *count);
/** Copy entry index (0 .. the count of the last clnn_context_profile_read −
 * 1) of the table as that read left it. CLNN_ERR_INVALID_ARGUMENT for an
 * index out of range. */
CLNN_API clnn_status clnn_context_profile_entry(clnn_context *ctx, size_t index,
                                                clnn_profile_entry *entry);
CLNN_API void clnn_context_profile_reset(clnn_context *ctx);
/** Run the kernel of profile entry index (as clnn_context_profile_entry
 * numbers them) again, alone: its last launch, `reps` times back to back
 * (at most 64) once queued work has finished, and give the fastest device
 * time. Warm caches and no neighbouring kernels, as
 * clnn_context_probe_copy runs its copy, so the two compare like with like;
 * the entry's own times are the kernel in the step. The launch writes its
 * outputs again (running statistics and, for an optimizer step, the
 * parameters move on). CLNN_ERR_STATE for a transfer, or when the network
 * has freed or regrown its buffers since (clnn_context_profile_reset
 * forgets launches too). */
CLNN_API clnn_status clnn_context_profile_replay(clnn_context *ctx, size_t index, unsigned reps,
                                                 double *best_ms);

/* ---------------------------------------------------------------- tuning */

/** Autotuning of the matrix multiplies (GEMMs) of a network on the context's
 * device. For every GEMM of the network at every batch size, candidates (clnn's
 * own kernels over a grid of tile sizes, vector widths, work-group sizes and
 * orders, and CLBlast with its own or overridden kernel parameters) are run on
 * random inputs, checked against a double-precision host result (each
 * element within 2e-5 of the sum of the absolute products behind it; every
 * element, or a sample including the edges beyond 2^27 multiply-adds) and
 * timed; the fastest correct one wins per shape, if more than 3% faster than
 * a simpler choice (the device's default parameters, then one parameter set
 * for all shapes, then clnn's own kernels over CLBlast). The winners go to a
 * tuning file per device (keyed by platform, device, driver, device version,
 * clnn version and the GEMM kernels' source) in the tuning/ folder of the
 * context's cache folder (clnn_context_options.cache_dir). Contexts load
 * their device's file when created and use it in every GEMM, unless tuning
 * is off for them (clnn_context_options.tuning) or the GEMM backend was
 * chosen explicitly (options.gemm or $CLNN_GEMM), which always wins.
 * Fill the options with clnn_tune_options_init, then set what you need. */
typedef struct clnn_tune_options {
    size_t struct_size;        /* sizeof(clnn_tune_options): set by _init */
    const char *spec;          /* layer stack, as clnn_net_add_layers */
    size_t in_features;
    const size_t *batch_sizes; /* tune the network's GEMMs at each of these */
    size_t n_batch_sizes;
    bool quick;                /* a few candidates (seconds) instead of the full grid */
    bool missing_only;         /* only shapes the context's tuning does not hold yet */
} clnn_tune_options;

/** One GEMM shape's outcome, as clnn_context_tune_result copies it: declare
 * it as `clnn_tune_result r = {.struct_size = sizeof r};`. Times are
 * microseconds per call, best of several timed runs; 0 when no candidate of
 * that kind passed. op stays valid until clnn_context_free. */
typedef struct clnn_tune_result {
    size_t struct_size;
    size_t batch;
    size_t layer;              /* index of the dense layer in the stack */
    /* "forward" (X·Wᵀ), "grad_weight" (dYᵀ·X), "grad_input" (dY·W); a layer
     * that keeps Wᵀ (README: CLNN_TRANSPOSED_WEIGHTS) multiplies by it
     * untransposed and computes dWᵀ = Xᵀ·dY. */
    const char *op;
    bool trans_a, trans_b;
    size_t m, n, k;
    unsigned candidates;       /* candidates run and checked */
    unsigned rejected;         /* of those, wrong results or failed to run */
    double default_us;         /* untuned: the context's backend with its default parameters */
    double own_us;             /* best of clnn's own kernels */
    char own_params[96];       /* its parameters */
    double clblast_us;         /* CLBlast with the parameters chosen for the device */
    clnn_gemm_backend chosen;  /* CLNN_GEMM_OWN or CLNN_GEMM_CLBLAST */
    double chosen_us;
    double gflops;             /* of the chosen candidate */
} clnn_tune_result;

/** What the last clnn_context_tune found, as clnn_context_tune_report
 * fills it: declare it as `clnn_tune_report rep = {.struct_size = sizeof
 * rep};`. Its strings stay valid until the next tune or clnn_context_free. */
typedef struct clnn_tune_report {
    size_t struct_size;
    size_t count;                    /* results, one per distinct shape tuned:
                                        clnn_context_tune_result 0 .. count − 1 */
    double seconds;                  /* wall time of the whole search */
    clnn_gemm_backend default_backend; /* used for shapes not in the tuning file */
    const char *clblast;             /* CLBlast parameters chosen for the device */
    const char *path;                /* the tuning file written */
} clnn_tune_report;

/** No spec or batch sizes yet (to be set), the full search over every
 * shape; and struct_size. */
CLNN_API void clnn_tune_options_init(clnn_tune_options *options);
/** Tune, write (merge into) the device's tuning file atomically, and use the
 * result in this context from now on (unless tuning is disabled for it, see
 * clnn_context_tuning_enabled). Waits for queued work first. */
CLNN_API clnn_status clnn_context_tune(clnn_context *ctx, const clnn_tune_options *options);
/** What the last clnn_context_tune found. CLNN_ERR_STATE when the context
 * has not tuned. */
CLNN_API clnn_status clnn_context_tune_report(const clnn_context *ctx, clnn_tune_report *report);
/** Copy result index (0 .. report.count − 1) of the last clnn_context_tune.
 * CLNN_ERR_STATE when the context has not tuned, CLNN_ERR_INVALID_ARGUMENT
 * for an index out of range. */
CLNN_API clnn_status clnn_context_tune_result(const clnn_context *ctx, size_t index,
                                              clnn_tune_result *result);
/** Path of the device's tuning file, whether or not it exists. */
CLNN_API clnn_status clnn_context_tuning_file(const clnn_context *ctx, char *path, size_t cap);
/** Whether a tuning file (loaded or just written) drives this context's GEMMs. */
CLNN_API bool clnn_context_is_tuned(const clnn_context *ctx);
/** False when tuning was turned off for the context (options.tuning OFF, or
 * by default CLNN_TUNING=0 at its creation) or the GEMM backend was chosen
 * explicitly. */
CLNN_API bool clnn_context_tuning_enabled(const clnn_context *ctx);

/* --------------------------------------------------------------- network */

/** A stack of layers with its parameters, gradients, optimizer state and
 * scratch buffers on the device. Thread-safety: as its context. */
typedef struct clnn_net clnn_net;

CLNN_API clnn_status clnn_net_create(clnn_context *ctx, size_t in_features, clnn_net **out);
CLNN_API void clnn_net_free(clnn_net *net);

/** Append layers. name may be NULL (tensors are then named by the layer's
 * index, as torch.nn.Sequential does: "0.weight"). */
CLNN_API clnn_status clnn_net_add_dense(clnn_net *net, size_t out_features, const char *name);
CLNN_API clnn_status clnn_net_add_batchnorm1d(clnn_net *net, const char *name);
CLNN_API clnn_status clnn_net_add_relu(clnn_net *net, const char *name);
/** Append layers from a spec such as "dense:256,bn,relu,dense:10" or, with
 * names, "fc1=dense:256,bn1=bn,relu,fc3=dense:10". The kinds are those
 * clnn_layer_kind_usage lists (README, "Layer specs"). */
CLNN_API clnn_status clnn_net_add_layers(clnn_net *net, const char *spec);
/** The layer kinds a spec may use, by index from 0, as a spec writes each
 * with its options, e.g. "dense:N (or linear:N)"; NULL past the last.
 * Static strings; thread-safe. */
CLNN_API const char *clnn_layer_kind_usage(size_t index);

/** Finish the stack: allocate device memory and initialise parameters as
 * PyTorch does (Linear: weight and bias U(-1/sqrt(in), 1/sqrt(in));
 * BatchNorm1d: weight 1, bias 0, running_mean 0, running_var 1) from seed.
 * Layers cannot be added afterwards. */
CLNN_API clnn_status clnn_net_init(clnn_net *net, uint64_t seed);

CLNN_API size_t clnn_net_in_features(const clnn_net *net);
CLNN_API size_t clnn_net_out_features(const clnn_net *net);
CLNN_API size_t clnn_net_layer_count(const clnn_net *net);
/** The canonical spec of the stack (with names where given). Returns the
 * length it needs; writes at most cap bytes including the terminator. */
CLNN_API size_t clnn_net_spec(const clnn_net *net, char *buf, size_t cap);

/** One layer of the stack, as clnn_net_layer_info describes it: declare it
 * as `clnn_layer_info info = {.struct_size = sizeof info};`. */
typedef struct clnn_layer_info {
    size_t struct_size;
    /* "dense", "batchnorm1d", "relu", "leakyrelu", "gelu", "tanh", "sigmoid", "silu" */
    const char *kind;
    const char *name; /* the name given in the spec or clnn_net_add_*, "" when unnamed */
    size_t in_features;
    size_t out_features;
    /* What its state-dict tensors begin with: the name, else the layer's
     * index as torch.nn.Sequential numbers it ("fc1" → "fc1.weight", "0" →
     * "0.weight"); a ReLU has no tensors. */
    const char *prefix;
} clnn_layer_info;

/** Describe layer index (0 .. clnn_net_layer_count − 1). The strings stay
 * valid while the network lives. */
CLNN_API clnn_status clnn_net_layer_info(const clnn_net *net, size_t index, clnn_layer_info *info);

/* Metadata: string keys and values of the caller's (class names, input
 * normalisation, a description) that every save writes into the safetensors
 * __metadata__ (clnn_net_save, clnn_net_save_to_memory and checkpoints) and
 * clnn_net_load / clnn_net_load_from_memory read back, so that PyTorch's
 * safe_open(path).metadata() sees them too. Keys are 1 to 255 bytes of
 * UTF-8, values at most 1 MiB of UTF-8, at most 1024 entries. Keys that
 * begin with "clnn." or "user." (clnn_net_save_checkpoint's entries) and the
 * key "format" are the library's own: refused here, and not loaded. */

/** Set key to value, or remove key when value is NULL (a key not set is no
 * error then). */
CLNN_API clnn_status clnn_net_set_metadata(clnn_net *net, const char *key, const char *value);
/** Copy the value of key into buf (at most cap bytes with the terminator,
 * truncated if longer) and return the length it needs, terminator
 * included; 0 when the key is not set. */
CLNN_API size_t clnn_net_metadata(const clnn_net *net, const char *key, char *buf, size_t cap);
/** Number of metadata entries, and the key of entry index (0 .. count − 1),
 * copied as clnn_net_metadata copies values (0 when index is out of range).
 * Entries keep the order they were set or loaded in. */
CLNN_API size_t clnn_net_metadata_count(const clnn_net *net);
CLNN_API size_t clnn_net_metadata_key(const clnn_net *net, size_t index, char *buf, size_t cap);

/** Training mode (batch statistics in BatchNorm) or eval mode (running
 * statistics). A new network is in training mode. */
CLNN_API clnn_status clnn_net_set_training(clnn_net *net, bool training);
CLNN_API bool clnn_net_is_training(const clnn_net *net);

/* ------------------------------------------------------------- optimizer */

typedef enum clnn_optimizer_kind {
    CLNN_OPTIMIZER_SGD = 0,  /* torch.optim.SGD */
    CLNN_OPTIMIZER_ADAM = 1  /* torch.optim.Adam */
} clnn_optimizer_kind;

/** Fill it with clnn_optimizer_options_init, then set what you need. */
typedef struct clnn_optimizer_options {
    size_t struct_size; /* sizeof(clnn_optimizer_options): set by _init */
    /* Doubles, as PyTorch's Python floats: derived factors such as 1 - beta1
     * are formed in double precision before rounding to float, as there. */
    clnn_optimizer_kind kind;
    double lr;
    double weight_decay;
    /* SGD */
    double momentum;
    double dampening;
    bool nesterov;
    /* Adam */
    double beta1;
    double beta2;
    double eps;
} clnn_optimizer_options;

/** PyTorch's defaults for kind (SGD lr 0.01 without momentum; Adam lr 1e-3,
 * betas 0.9/0.999, eps 1e-8), and struct_size. Fields a program built
 * against an older header lacks keep the defaults of its kind. */
CLNN_API void clnn_optimizer_options_init(clnn_optimizer_options *options, clnn_optimizer_kind kind);
/** Set the optimizer; resets its state (momentum buffers, Adam moments). */
CLNN_API clnn_status clnn_net_set_optimizer(clnn_net *net, const clnn_optimizer_options *options);
/** Change the learning rate, keeping the optimizer state (for schedules). */
CLNN_API clnn_status clnn_net_set_lr(clnn_net *net, double lr);

/* ------------------------------------------------------------------ loss */

/** What a network's training minimises, and what its targets are. */
typedef enum clnn_loss_kind {
    /* Classification: softmax cross-entropy of the outputs (logits) against
     * one class label per row, int32 0..out_features−1, mean over the rows
     * (torch.nn.CrossEntropyLoss). The default. */
    CLNN_LOSS_CROSS_ENTROPY = 0,
    /* Regression: mean squared error of the outputs against float targets,
     * out_features per row (rows × out_features floats, row-major), mean
     * over every row and output (torch.nn.MSELoss). Its metrics are the
     * loss alone: there is no accuracy. */
    CLNN_LOSS_MSE = 1
} clnn_loss_kind;

/** "cross_entropy" or "mse" (the value model files keep under "clnn.loss");
 * NULL for a value that is no kind. */
CLNN_API const char *clnn_loss_name(clnn_loss_kind loss);
/** Choose the loss. The calls that take class labels (clnn_net_backward,
 * clnn_net_train_batch, clnn_net_train_shard, clnn_net_set_data,
 * clnn_net_evaluate) serve CLNN_LOSS_CROSS_ENTROPY; their _targets
 * variants, which take float targets, serve CLNN_LOSS_MSE; each refuses
 * the other kind with CLNN_ERR_STATE. So do the calls that read an
 * accuracy or classes (clnn_net_metrics_read, clnn_net_train_epoch and
 * clnn_net_evaluate with accuracy not NULL, clnn_net_predict,
 * CLNN_OUTPUT_PROBABILITIES) on an MSE network. Every save records the
 * loss, and loading a file sets it. Forgets the last forward and backward;
 * CLNN_ERR_STATE while the network holds a training set of the other
 * kind (clnn_net_set_data with NULL frees it). */
CLNN_API clnn_status clnn_net_set_loss(clnn_net *net, clnn_loss_kind loss);
/** The network's loss (CLNN_LOSS_CROSS_ENTROPY for NULL). */
CLNN_API clnn_loss_kind clnn_net_loss(const clnn_net *net);

/* --------------------------------------------------------------- compute */

/* The calls below queue work and return without waiting for the device,
 * unless they read results back. Host arrays may be reused on return.
 *
 * Every call that reads or writes a caller's array takes its size, and
 * returns CLNN_ERR_SHAPE, with a message naming the argument, what was given
 * and what the network needs, when it does not match: inputs as
 * (x, rows, features), rows × features floats, features equal to
 * clnn_net_in_features; labels as (labels, count), one per row (count equal
 * to rows); float targets (CLNN_LOSS_MSE) as (targets, count), count equal
 * to rows × clnn_net_out_features; outputs as (out, count), count equal to
 * what the call writes. */

/** Forward rows × features inputs in the current mode. */
CLNN_API clnn_status clnn_net_forward(clnn_net *net, const float *x, size_t rows, size_t features);
/** Softmax cross-entropy (mean over the batch) against labels of the last
 * forward (count: its rows), and backpropagation of its gradient to every
 * parameter. */
CLNN_API clnn_status clnn_net_backward(clnn_net *net, const int32_t *labels, size_t count);
/** Mean squared error (CLNN_LOSS_MSE) against targets of the last forward
 * (count: its rows × out_features), and backpropagation of its gradient. */
CLNN_API clnn_status clnn_net_backward_targets(clnn_net *net, const float *targets, size_t count);
/** One optimizer step with the gradients of the last backward. */
CLNN_API clnn_status clnn_net_step(clnn_net *net);
/** forward + backward + step, with the inputs and labels checked (finite,
 * in range) before anything runs, and sent to the device in one transfer.
 * Training calls (this one, clnn_net_train_rows, clnn_net_train_shard,
 * clnn_net_step) need an optimizer: CLNN_ERR_STATE until
 * clnn_net_set_optimizer (or clnn_net_load_checkpoint) has chosen one. */
CLNN_API clnn_status clnn_net_train_batch(clnn_net *net, const float *x, size_t rows,
                                          size_t features, const int32_t *labels, size_t count);
/** The same against float targets (CLNN_LOSS_MSE; count: rows ×
 * out_features), checked finite before anything runs. */
CLNN_API clnn_status clnn_net_train_batch_targets(clnn_net *net, const float *x, size_t rows,
                                                  size_t features, const float *targets,
                                                  size_t count);

/** Keep a training set on the device: rows × features floats (features
 * equal to clnn_net_in_features) and one label per row, checked once
 * (finite values, labels 0..out_features−1) and uploaded once (rows ×
 * features × 4 bytes of device memory, plus 8 bytes per order entry), so
 * that clnn_net_train_rows moves no samples between host and device: the
 * first dense layer reads its rows through the order where its GEMM kernel
 * can, else one gather launch per step copies them on the device. Waits for
 * queued work; replaces earlier data and sets the identity order. x and
 * labels NULL with rows and count 0 frees the data. */
CLNN_API clnn_status clnn_net_set_data(clnn_net *net, const float *x, size_t rows, size_t features,
                                       const int32_t *labels, size_t count);
/** The same with float targets (CLNN_LOSS_MSE; count: rows × out_features,
 * checked finite; rows × out_features × 4 more bytes of device memory). */
CLNN_API clnn_status clnn_net_set_data_targets(clnn_net *net, const float *x, size_t rows,
                                               size_t features, const float *targets,
                                               size_t count);
/** The order clnn_net_train_rows takes the data's rows in: count row
 * indices, each below the data's rows (e.g. an epoch's shuffle; repeats
 * allowed). One transfer; steps already queued keep the order they were
 * queued with. */
CLNN_API clnn_status clnn_net_set_data_order(clnn_net *net, const uint32_t *order, size_t count);
/** forward + backward + step on the rows at positions first .. first+batch−1
 * of the data's order: the same results, bit for bit, as
 * clnn_net_train_batch with those rows and labels. */
CLNN_API clnn_status clnn_net_train_rows(clnn_net *net, size_t first, size_t batch);
/** One epoch on the data set of clnn_net_set_data: every position of its
 * order (clnn_net_set_data_order) once, in steps of batch_size rows
 * (clnn_net_train_rows), the last step taking what remains, unless that is
 * a single row BatchNorm cannot train on. Reports progress ("training",
 * rows queued, rows of the epoch) before each step, so the context's
 * progress callback can cancel; the steps queued before it did are kept.
 * Resets the training metrics first and, when mean_loss or accuracy is not
 * NULL, waits for the epoch and gives its mean loss and accuracy. */
CLNN_API clnn_status clnn_net_train_epoch(clnn_net *net, size_t batch_size, double *mean_loss,
                                          double *accuracy);

/** Wait and read the output (rows × out_features logits) of the last
 * forward, as computed (no check for non-finite values). */
CLNN_API clnn_status clnn_net_read_output(clnn_net *net, float *logits, size_t count);
/** Wait and read the mean loss of the last backward. */
CLNN_API clnn_status clnn_net_read_loss(clnn_net *net, float *loss);

/** Loss and accuracy summed on the device over every backward (training) or
 * clnn_net_evaluate batch since the last reset; reading waits. */
CLNN_API clnn_status clnn_net_metrics_reset(clnn_net *net);
CLNN_API clnn_status clnn_net_metrics_read(clnn_net *net, double *mean_loss, double *accuracy, uint64_t *samples);

/* Divergence: when an optimizer step has left a parameter NaN or infinite,
 * or a loss is no longer finite, the calls that read results
 * (clnn_net_read_loss, clnn_net_metrics_read, clnn_net_evaluate,
 * clnn_net_predict, clnn_net_predict_output and every save) return
 * CLNN_ERR_NONFINITE instead of numbers computed from such weights. The
 * parameters are checked on the device by those calls, once after any
 * steps, so training steps neither wait nor pay for it.
 * Lower the learning rate (clnn_net_set_lr) and start again from finite
 * weights (clnn_net_load_weights, clnn_net_load_checkpoint, or a new net). */

/** Evaluate rows samples in eval mode in batches of batch; restores the mode. */
CLNN_API clnn_status clnn_net_evaluate(clnn_net *net, const float *x, size_t rows, size_t features,
                                       const int32_t *labels, size_t count, size_t batch,
                                       double *mean_loss, double *accuracy);
/** The same against float targets (CLNN_LOSS_MSE; count: rows ×
 * out_features): the mean squared error over every row and output. */
CLNN_API clnn_status clnn_net_evaluate_targets(clnn_net *net, const float *x, size_t rows,
                                               size_t features, const float *targets,
                                               size_t count, size_t batch, double *mean_loss);
/** Class with the largest logit for each of rows samples, in eval mode, into
 * classes (count: rows). */
CLNN_API clnn_status clnn_net_predict(clnn_net *net, const float *x, size_t rows, size_t features,
                                      int32_t *classes, size_t count);

/** What clnn_net_predict_output writes per sample. */
typedef enum clnn_output_kind {
    CLNN_OUTPUT_LOGITS = 0,       /* the last layer's outputs */
    CLNN_OUTPUT_PROBABILITIES = 1 /* their softmax: class probabilities summing to 1 */
} clnn_output_kind;

/** The outputs of rows samples in eval mode, rows × out_features floats into
 * out (count: rows × out_features): logits, or class probabilities (softmax
 * of the logits, computed on the host in double precision). */
CLNN_API clnn_status clnn_net_predict_output(clnn_net *net, const float *x, size_t rows,
                                             size_t features, clnn_output_kind kind, float *out,
                                             size_t count);

/* ------------------------------------------------------ data parallelism */

/** Sum count floats element-wise across all processes, in place (for example
 * MPI_Allreduce with MPI_SUM on MPI_FLOAT). Every process must make the same
 * calls in the same order. Returning non-OK aborts the step. */
typedef clnn_status (*clnn_allreduce_fn)(float *data, size_t count, void *user);

/** Fill it with clnn_parallel_options_init, then set what you need. */
typedef struct clnn_parallel_options {
    size_t struct_size;          /* sizeof(clnn_parallel_options): set by _init */
    clnn_allreduce_fn allreduce; /* NULL: this process trains alone */
    void *user;
    /* BatchNorm statistics over the global batch (as torch's SyncBatchNorm);
     * otherwise each process normalises with its own shard's statistics (as
     * DistributedDataParallel does). */
    bool sync_batchnorm;
} clnn_parallel_options;

/** No allreduce (training alone), per-process BatchNorm; and struct_size. */
CLNN_API void clnn_parallel_options_init(clnn_parallel_options *options);
/** Make the network one replica of a data-parallel group: gradients are summed
 * across processes, one layer at a time while backpropagation goes on. Every
 * replica must start from the same parameters (same seed or file). options
 * NULL, or its allreduce NULL, makes the network train alone again. */
CLNN_API clnn_status clnn_net_set_parallel(clnn_net *net, const clnn_parallel_options *options);
/** Train on this process's shard (rows rows) of a global batch of
 * global_batch rows: forward, the gradient of the mean loss over the global
 * batch, allreduce, step. clnn_net_train_batch is the case of one process. */
CLNN_API clnn_status clnn_net_train_shard(clnn_net *net, const float *x, size_t rows,
                                          size_t features, const int32_t *labels, size_t count,
                                          size_t global_batch);
/** clnn_net_train_shard for the shard that is rows first_row .. first_row +
 * rows - 1 of the global batch: layers that draw random numbers per row
 * (dropout) then draw for each row what one process training the whole
 * global batch would, so K processes train the model one would.
 * clnn_net_train_shard draws as for rows 0 .. rows - 1. */
CLNN_API clnn_status clnn_net_train_shard_at(clnn_net *net, const float *x, size_t rows,
                                             size_t features, const int32_t *labels,
                                             size_t count, size_t global_batch,
                                             size_t first_row);
/** clnn_net_train_shard_at against float targets (CLNN_LOSS_MSE; count:
 * rows × out_features); the loss is the mean over the global batch's rows ×
 * out_features. */
CLNN_API clnn_status clnn_net_train_shard_targets(clnn_net *net, const float *x, size_t rows,
                                                  size_t features, const float *targets,
                                                  size_t count, size_t global_batch,
                                                  size_t first_row);

/* ------------------------------------------------- parameters and buffers */

typedef enum clnn_dtype { CLNN_DTYPE_F32 = 0, CLNN_DTYPE_I64 = 1 } clnn_dtype;

/** One entry of the state dict, named as PyTorch names it, as
 * clnn_net_tensor_info fills it: declare it as
 * `clnn_tensor_info info = {.struct_size = sizeof info};`. */
typedef struct clnn_tensor_info {
    size_t struct_size;
    const char *name;   /* "0.weight", "bn1.running_var", ... valid while net lives */
    clnn_dtype dtype;
    size_t ndim;        /* 0 (scalar), 1 or 2 */
    size_t shape[2];
    size_t numel;
    bool trainable;     /* has a gradient and is updated by the optimizer */
} clnn_tensor_info;

CLNN_API size_t clnn_net_tensor_count(const clnn_net *net);
CLNN_API clnn_status clnn_net_tensor_info(const clnn_net *net, size_t index, clnn_tensor_info *info);
CLNN_API clnn_status clnn_net_tensor_find(const clnn_net *net, const char *name, size_t *index);
/** Copy a tensor to/from host memory; bytes must equal numel × dtype size. */
CLNN_API clnn_status clnn_net_tensor_read(clnn_net *net, size_t index, void *dst, size_t bytes);
CLNN_API clnn_status clnn_net_tensor_write(clnn_net *net, size_t index, const void *src, size_t bytes);
/** Gradient of a trainable tensor from the last backward. */
CLNN_API clnn_status clnn_net_grad_read(clnn_net *net, size_t index, float *dst, size_t bytes);
/** Output of layer `layer` (batch × its width) from the last forward. */
CLNN_API clnn_status clnn_net_layer_output_read(clnn_net *net, size_t layer, float *dst, size_t count);

/* ---------------------------------------------------------- model files */

/** Save parameters and buffers as safetensors with PyTorch's state-dict
 * names; the layer spec, clnn version and the network's metadata
 * (clnn_net_set_metadata) go to __metadata__. The file is written to a
 * temporary name and renamed, so a failure leaves any earlier file intact. */
CLNN_API clnn_status clnn_net_save(clnn_net *net, const char *path);
/** The same file, byte for byte, in memory: *data gets a buffer of *size
 * bytes that the caller frees with clnn_free. */
CLNN_API clnn_status clnn_net_save_to_memory(clnn_net *net, void **data, size_t *size);
/** Free what the library allocated for the caller (clnn_net_save_to_memory);
 * NULL is a no-op. */
CLNN_API void clnn_free(void *data);
/** Create a network from a safetensors file written by clnn_net_save (or by
 * PyTorch with a "clnn.spec" metadata entry or a spec given here), with the
 * file's metadata. spec may be NULL to use the file's metadata. */
CLNN_API clnn_status clnn_net_load(clnn_context *ctx, const char *path, const char *spec, clnn_net **out);
/** The same from size bytes at data (a file's image, as
 * clnn_net_save_to_memory gives), checked as strictly as a file: a
 * malformed, truncated or damaged image is refused with CLNN_ERR_BAD_FILE
 * and nothing is read past size bytes. data may be freed on return. */
CLNN_API clnn_status clnn_net_load_from_memory(clnn_context *ctx, const void *data, size_t size,
                                               const char *spec, clnn_net **out);
/** Load the tensors of a file into an initialised network; every tensor of the
 * network must be present with the same shape, and no other (strict). The
 * network keeps its metadata. */
CLNN_API clnn_status clnn_net_load_weights(clnn_net *net, const char *path);
/** The same from size bytes at data. */
CLNN_API clnn_status clnn_net_load_weights_from_memory(clnn_net *net, const void *data,
                                                       size_t size);

/** A key and value of a file's metadata, passed as an array (the caller's
 * entries of clnn_net_save_checkpoint). Frozen: these two pointers are all
 * it will ever hold, so that an array of it has the same stride in every
 * version, and it carries no struct_size. */
typedef struct clnn_metadata {
    const char *key;
    const char *value;
} clnn_metadata;

/** Save a training checkpoint: everything clnn_net_save writes, plus the
 * optimizer (settings, step count, momentum buffers or Adam moments, as
 * "optimizer.<tensor>.<buffer>" tensors), the training metrics accumulated
 * since the last reset, and the caller's entries (for example epoch and batch
 * position) as metadata "user.<key>" (read them with clnn_file_metadata).
 * Written atomically like clnn_net_save.
 * clnn_net_load and clnn_net_load_weights read a checkpoint as a model. */
CLNN_API clnn_status clnn_net_save_checkpoint(clnn_net *net, const char *path,
                                              const clnn_metadata *user, size_t user_count);
/** Most caller entries clnn_net_save_checkpoint takes. */
#define CLNN_CHECKPOINT_USER_MAX 32
/** Restore a checkpoint into a network of the same stack: parameters, buffers,
 * optimizer settings and state, and metrics, so training continues exactly as
 * if it had not stopped. */
CLNN_API clnn_status clnn_net_load_checkpoint(clnn_net *net, const char *path);
/** Copy the metadata value of key in a safetensors file into value (cap bytes).
 * CLNN_ERR_INVALID_ARGUMENT when the key is absent, CLNN_ERR_SHAPE when the
 * value and its terminator need more than cap bytes. */
CLNN_API clnn_status clnn_file_metadata(const char *path, const char *key, char *value, size_t cap);

/* ----------------------------------------------------------------- data */

/** Rows of float32 features (n × features: images in [0,1] from IDX files,
 * table columns from CSV and NumPy files, see clnn_dataset_load) and their
 * labels, in host memory. Thread-safety: immutable after loading except
 * clnn_dataset_normalize and clnn_dataset_standardize. */
typedef struct clnn_dataset clnn_dataset;

/** Load an IDX image file and IDX label file (plain or gzip-compressed). */
CLNN_API clnn_status clnn_dataset_load_idx(const char *images_path, const char *labels_path, clnn_dataset **out);
/** Load the "train" or "test" split of (Fashion-)MNIST from dir, trying the
 * standard file names with and without ".gz". */
CLNN_API clnn_status clnn_dataset_load_split(const char *dir, const char *split, clnn_dataset **out);
CLNN_API void clnn_dataset_free(clnn_dataset *ds);
CLNN_API size_t clnn_dataset_count(const clnn_dataset *ds);
CLNN_API size_t clnn_dataset_features(const clnn_dataset *ds);
/* The number of class names, else max label + 1. */
CLNN_API size_t clnn_dataset_classes(const clnn_dataset *ds);
/* The rows of features, count × features floats. */
CLNN_API const float *clnn_dataset_images(const clnn_dataset *ds);
/* One label per row, or NULL when the file had none (or float targets). */
CLNN_API const int32_t *clnn_dataset_labels(const clnn_dataset *ds);
/* Float targets (loaded with CLNN_TARGET_VALUES): count × target_width
 * floats, or NULL when the dataset has none. */
CLNN_API const float *clnn_dataset_targets(const clnn_dataset *ds);
/* Targets per row: 0 without float targets. */
CLNN_API size_t clnn_dataset_target_width(const clnn_dataset *ds);
/** x = (x - mean) / std for every pixel. */
CLNN_API clnn_status clnn_dataset_normalize(clnn_dataset *ds, float mean, float std);
/** A permutation of 0..n-1 drawn from (seed, stream): the same arguments give
 * the same order on every machine (used to shuffle epoch `stream`). */
CLNN_API clnn_status clnn_permutation(uint64_t seed, uint64_t stream, size_t n, uint32_t *perm);
/** Where dataset-fashion-mnist installs the files. */
#define CLNN_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

/* ----------------------------------------------------------- data files */

/** What a dataset's labels are: classes (for CLNN_LOSS_CROSS_ENTROPY) or
 * float targets (for CLNN_LOSS_MSE). */
typedef enum clnn_target_kind {
    CLNN_TARGET_CLASSES = 0, /* a class per row: whole numbers 0..k−1, or names */
    /* Float targets: a CSV's label column (one per row), an .npy's labels
     * or an .npz's y, 1-D (one per row) or 2-D (rows × k); every one a
     * finite number (clnn_dataset_targets). */
    CLNN_TARGET_VALUES = 1
} clnn_target_kind;

/** How clnn_dataset_load reads a file. Fill it with
 * clnn_dataset_options_init, then set what you need. */
typedef struct clnn_dataset_options {
    size_t struct_size;       /* sizeof(clnn_dataset_options): set by _init */
    clnn_target_kind target;  /* CLNN_TARGET_CLASSES (default) or CLNN_TARGET_VALUES */
    /* CSV: the labels' column, by its header name or as a decimal index from
     * 0; NULL: like's label column when like has one, else the last column.
     * Every other column is a feature. */
    const char *label_column;
    /* .npy features: the .npy file of their labels (1-D, integers or whole
     * floats); NULL: none. */
    const char *labels_path;
    /* A file without labels (a CSV without the label column, an .npy
     * without labels_path, an .npz without y) loads with none
     * (clnn_dataset_labels gives NULL) instead of failing. A CSV then has
     * labels when its header names the label column or, when the features
     * have no names, when it has one column more than like's features. */
    bool labels_optional;
    /* CSV: the first line is data, not column names. */
    bool csv_no_header;
    /* Read the file as like's companion (a test split, new inputs): the same
     * features (CSV columns found by like's names, in any order, where it
     * has names), its classes (names mapped to like's numbers; a class like
     * lacks is an error) and its standardisation applied. NULL: none. */
    const clnn_dataset *like;
} clnn_dataset_options;

CLNN_API void clnn_dataset_options_init(clnn_dataset_options *options);
/** Load a table of features and labels from a file, recognised by its
 * content:
 *  - CSV (RFC 4180): a header row of column names (unless csv_no_header),
 *    then one row per sample with a field per column; fields separated by
 *    commas, rows by LF or CRLF, double quotes around fields that hold
 *    commas, quotes or line breaks; UTF-8 with or without a byte order
 *    mark. Features are decimal numbers (read as strtod reads them in the C
 *    locale, then rounded to float). Labels that are all whole numbers
 *    from 0 are the class numbers; otherwise each distinct label is a class
 *    name, numbered in sorted (byte) order. Read in one streaming pass.
 *  - .npy (NumPy): a 2-D float32, float64 or integer array of rows × features,
 *    either byte order, C or Fortran order; labels from labels_path.
 *  - .npz (np.savez, np.savez_compressed): arrays x (features) and y (labels).
 * Every feature must be present and finite. A file that breaks these rules
 * is CLNN_ERR_BAD_FILE with a message naming the file, line and column
 * (CSV) and the cause; nothing is returned then. options may be NULL (the
 * defaults). */
CLNN_API clnn_status clnn_dataset_load(const char *path, const clnn_dataset_options *options,
                                       clnn_dataset **out);
/** Split ds into two new datasets: round(fraction × count) rows chosen at
 * random from seed go to held_out, the rest to kept, both in ds's order and
 * with its description. fraction in (0, 1), and both parts not empty. */
CLNN_API clnn_status clnn_dataset_split(const clnn_dataset *ds, double fraction, uint64_t seed,
                                        clnn_dataset **kept, clnn_dataset **held_out);
/** Standardise every feature: x = (x − mean) / std, with like's mean and
 * standard deviation, or with NULL the feature's own over ds's rows (in
 * double precision; the population standard deviation, 1 for a constant
 * feature, as scikit-learn's StandardScaler). ds keeps them
 * (clnn_dataset_standardization); CLNN_ERR_STATE when it is standardised
 * already. */
CLNN_API clnn_status clnn_dataset_standardize(clnn_dataset *ds, const clnn_dataset *like);
/** The mean and standard deviation of each feature (count: features) that
 * standardised ds. CLNN_ERR_STATE when it is not standardised. */
CLNN_API clnn_status clnn_dataset_standardization(const clnn_dataset *ds, float *mean, float *std,
                                                  size_t count);
/** The name of feature index (a CSV column's header), or NULL when the
 * features have no names. Valid while ds lives. */
CLNN_API const char *clnn_dataset_feature_name(const clnn_dataset *ds, size_t index);
/** The name of class index (a CSV label), or NULL when the classes are
 * numbers. Valid while ds lives. */
CLNN_API const char *clnn_dataset_class_name(const clnn_dataset *ds, size_t index);
/** The name of the label column (CSV), or NULL. */
CLNN_API const char *clnn_dataset_label_name(const clnn_dataset *ds);

/** Keep ds's description — feature names, label column, class names and
 * standardisation — in the network, which every save writes into its
 * metadata (keys "clnn.data.features", "clnn.data.label",
 * "clnn.data.classes": JSON arrays of strings, a string;
 * "clnn.data.mean", "clnn.data.std": JSON arrays of numbers; each only
 * when ds has it) and loading reads back. ds's features must be the
 * network's inputs and its classes no more than its outputs. */
CLNN_API clnn_status clnn_net_set_data_description(clnn_net *net, const clnn_dataset *ds);
/** The network's data description as a dataset of no rows, to pass as
 * clnn_dataset_options.like when loading inputs for it: so its inputs are
 * read, labelled and standardised as the data it was trained on. A network
 * without one gives in_features unnamed features and out_features numbered
 * classes. Free it with clnn_dataset_free. */
CLNN_API clnn_status clnn_net_data_description(const clnn_net *net, clnn_dataset **out);

#ifdef __cplusplus
}
#endif

#endif /* CLNN_H */
