/* Statuses and other calls that need no device: every status of the X-macro
 * table has its own name and description, CLNN_STATUS_COUNT counts them, and
 * every *_free(NULL) is a no-op. */
#include "core_test.h"

#include <stdlib.h>

/* The table itself, expanded here as a test sees it. */
static const struct {
    clnn_status status;
    const char *name;
    const char *text;
} statuses[] = {
#define ENTRY(suffix, value, text) {CLNN_##suffix, "CLNN_" #suffix, text},
    CLNN_STATUS_TABLE(ENTRY)
#undef ENTRY
};
#define N_STATUSES (sizeof statuses / sizeof statuses[0])

START_TEST(test_status_table)
{
    ck_assert_uint_ge(N_STATUSES, 15);
    for (size_t i = 0; i < N_STATUSES; i++) {
        clnn_status st = statuses[i].status;
        const char *text = clnn_strerror(st), *name = clnn_status_name(st);
        ck_assert_ptr_nonnull(text);
        ck_assert_uint_gt(strlen(text), 0);
        ck_assert_str_eq(text, statuses[i].text);
        ck_assert_str_eq(name, statuses[i].name);
        ck_assert_int_eq(strncmp(name, "CLNN_", 5), 0);
        for (size_t j = 0; j < i; j++) {
            ck_assert_msg(statuses[j].status != st, "%s and %s share value %d", name,
                          statuses[j].name, (int)st);
            ck_assert_msg(strcmp(clnn_strerror(statuses[j].status), text) != 0,
                          "%s and %s share the description \"%s\"", name, statuses[j].name,
                          text);
        }
    }
    ck_assert_int_eq(CLNN_OK, 0);
    /* CLNN_STATUS_COUNT: one more than the highest, and no status itself. */
    ck_assert_int_eq(CLNN_STATUS_COUNT, N_STATUSES);
    for (size_t i = 0; i < N_STATUSES; i++)
        ck_assert_int_lt(statuses[i].status, CLNN_STATUS_COUNT);
    ck_assert_str_eq(clnn_status_name(CLNN_STATUS_COUNT), "CLNN_UNKNOWN");
    ck_assert_str_eq(clnn_strerror(CLNN_STATUS_COUNT), "unknown status");
    /* Values outside the table still give printable text. */
    ck_assert_str_eq(clnn_strerror((clnn_status)9999), "unknown status");
    ck_assert_str_eq(clnn_status_name((clnn_status)-1), "CLNN_UNKNOWN");
}
END_TEST

START_TEST(test_free_null_is_noop)
{
    clnn_net_free(NULL);
    clnn_context_free(NULL);
    clnn_dataset_free(NULL);
}
END_TEST

START_TEST(test_null_arguments)
{
    /* Getters on NULL objects answer with neutral values instead of
     * crashing. */
    ck_assert_uint_eq(clnn_net_in_features(NULL), 0);
    ck_assert_uint_eq(clnn_net_out_features(NULL), 0);
    ck_assert_uint_eq(clnn_net_layer_count(NULL), 0);
    ck_assert_uint_eq(clnn_net_tensor_count(NULL), 0);
    ck_assert(!clnn_net_is_training(NULL));
    char buf[4] = "xyz";
    ck_assert_uint_eq(clnn_net_spec(NULL, buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(clnn_net_forward(NULL, NULL, 1, clnn_net_in_features(NULL)),
                     CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clnn_net_init(NULL, 1), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clnn_net_set_training(NULL, true), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(clnn_context_create(NULL, NULL), CLNN_ERR_INVALID_ARGUMENT);
    ck_assert_uint_gt(strlen(clnn_last_error()), 0);
}
END_TEST

START_TEST(test_version)
{
    ck_assert_str_eq(clnn_version(), CLNN_VERSION_STRING);
}
END_TEST

static Suite *status_suite(void)
{
    Suite *s = suite_create("core-status");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, test_status_table);
    tcase_add_test(tc, test_free_null_is_noop);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_version);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* No device needed: nothing here reaches OpenCL. */
    return core_run(status_suite());
}
