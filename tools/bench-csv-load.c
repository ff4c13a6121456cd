/* Load a CSV (or NumPy) file with clnn_dataset_load and print its size and
 * the time it took; tools/bench-csv.sh runs it under /usr/bin/time -v. */
#include <clnn.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench-csv-load FILE\n");
        return 2;
    }
    struct timespec a, b;
    timespec_get(&a, TIME_UTC);
    clnn_dataset *ds = NULL;
    if (clnn_dataset_load(argv[1], NULL, &ds) != CLNN_OK) {
        fprintf(stderr, "%s\n", clnn_last_error());
        return 1;
    }
    timespec_get(&b, TIME_UTC);
    double s = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    size_t n = clnn_dataset_count(ds), d = clnn_dataset_features(ds);
    printf("rows %zu features %zu float_bytes %zu seconds %.3f\n", n, d, n * d * sizeof(float), s);
    clnn_dataset_free(ds);
    return 0;
}
