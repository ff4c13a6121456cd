/* Number formatting shared by the per-epoch and evaluation lines. */
#include "cli.h"

#include <math.h>
#include <stdio.h>

const char *cli_format_metric(double value, char *buf, size_t cap)
{
    /* printf spells NaN "-nan" on glibc for a negative NaN, which reads as a sign. */
    if (isnan(value))
        snprintf(buf, cap, "nan");
    else if (isinf(value))
        snprintf(buf, cap, value > 0 ? "inf" : "-inf");
    else if (fabs(value) >= 1e6)
        snprintf(buf, cap, "%.4e", value); /* a diverging loss would print 30 digits */
    else
        snprintf(buf, cap, "%.4f", value);
    return buf;
}

void cli_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}
