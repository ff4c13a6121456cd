/* Prepended to every program. Sizes and offsets are passed as int: every
 * tensor clnn handles holds fewer than 2^31 elements (checked on the host). */
#define CLNN_KERNELS 1

/* Kernels specialised with -D W=4, 8 or 16 handle W adjacent floats per
 * work-item as one explicit vector (vec, LOAD, STORE): CPU drivers such as
 * PoCL need that to run these loops at memory speed, while GPUs take W = 1
 * (the default) so that neighbouring work-items coalesce. */
#ifndef W
#define W 1
#endif
#if W == 1
typedef float vec;
#define LOAD(p, i) ((p)[i])
#define STORE(v, p, i) ((p)[i] = (v))
#elif W == 4
typedef float4 vec;
#define LOAD(p, i) vload4(0, (p) + (i))
#define STORE(v, p, i) vstore4((v), 0, (p) + (i))
#elif W == 8
typedef float8 vec;
#define LOAD(p, i) vload8(0, (p) + (i))
#define STORE(v, p, i) vstore8((v), 0, (p) + (i))
#elif W == 16
typedef float16 vec;
#define LOAD(p, i) vload16(0, (p) + (i))
#define STORE(v, p, i) vstore16((v), 0, (p) + (i))
#else
#error "W must be 1, 4, 8 or 16"
#endif
