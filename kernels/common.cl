/* Prepended to every program. Sizes and offsets are passed as int: every
 * tensor clnn handles holds fewer than 2^31 elements (checked on the host). */
#define CLNN_KERNELS 1
