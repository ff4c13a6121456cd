/* Developer hooks (src/base/debug_env.c) answer only in builds made with
 * them: this program is built twice, with CLNN_DEBUG_HOOKS 1 and 0, and run
 * as "on" and "off". Without hooks, a variable such as CLNN_FAULT_INJECT in
 * an application's environment must change nothing. */
#include "base/platform.h"
#include "clnn_test_os.h" /* setenv and unsetenv on Windows */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0)) {
        fprintf(stderr, "usage: test_debug_hooks on|off\n");
        return 2;
    }
    const bool on = strcmp(argv[1], "on") == 0;
    if (setenv("CLNN_KERNEL_DIR", "/kernels-under-test", 1) != 0) {
        perror("setenv");
        return 1;
    }
    char buf[64];
    const char *v = clnn__debug_env("CLNN_KERNEL_DIR", buf, sizeof buf);
    const bool seen = v && strcmp(v, "/kernels-under-test") == 0;
    if (clnn__debug_hooks() != on || seen != on || (!on && v)) {
        fprintf(stderr, "debug hooks %s: clnn__debug_hooks() = %d, CLNN_KERNEL_DIR read as %s\n",
                argv[1], clnn__debug_hooks(), v ? v : "(nothing)");
        return 1;
    }
    /* An unset variable reads as nothing either way. */
    unsetenv("CLNN_KERNEL_DIR");
    if (clnn__debug_env("CLNN_KERNEL_DIR", buf, sizeof buf) != NULL) {
        fprintf(stderr, "an unset hook read as set\n");
        return 1;
    }
    printf("debug hooks %s: as built\n", argv[1]);
    return 0;
}
