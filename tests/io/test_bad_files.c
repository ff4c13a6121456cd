/* The malformed-file suite: every file listed in tests/data/bad/MANIFEST.tsv
 * (made by tools/make-bad-files.py) must be rejected with the listed status
 * and a message containing the listed text; control files must load.
 *
 *   test_bad_files host    safetensors, IDX, CSV, .npy and .npz readers (no
 *                          device needed)
 *   test_bad_files model   clnn_net_load_weights (needs an OpenCL device), and
 *                          every model and safetensors file again through
 *                          the memory path (clnn_net_load_weights_from_memory
 *                          and clnn_net_load_from_memory), from an exact-size
 *                          heap copy, with the same status and message
 */
#include "io_test.h"

#include "io/idx.h"
#include "io/safetensors.h"

/* The network "model" entries load into; tools/make-bad-files.py writes
 * its files for the same stack. */
#define MODEL_IN 5
#define MODEL_SPEC "fc1=dense:3,bn1=bn,relu,fc2=dense:2"

typedef struct entry {
    char *file;
    char *loader;
    char *status;
    char *message;
} entry;

static entry *entries;
static size_t nentries;
static const char *data_dir;
static clnn_context *ctx;

/* Tallies, kept in this process: the runner does not fork (see main). */
static size_t bad_total, bad_rejected, good_total, good_loaded;

static bool wanted(const char *loader, const char *group)
{
    if (strcmp(group, "model") == 0)
        return strcmp(loader, "model") == 0 || strcmp(loader, "safetensors") == 0;
    return strcmp(loader, "model") != 0;
}

/* Runs before any test, where ck_assert cannot report: fail loudly. */
static void require(bool ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "test_bad_files: %s%s\n", what, detail);
        exit(EXIT_FAILURE);
    }
}

/* Split the manifest into entries of the group; '#' lines are comments. */
static void read_manifest(const char *group)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bad/MANIFEST.tsv", data_dir);
    FILE *f = fopen(path, "rb");
    require(f != NULL, "cannot open (regenerate with tools/make-bad-files.py) ", path);
    size_t cap = 16, len = 0, r;
    char *text = malloc(1 << 16);
    require(text != NULL, "out of memory", "");
    while ((r = fread(text + len, 1, (1 << 16) - 1 - len, f)) > 0)
        len += r;
    fclose(f);
    require(len < (1 << 16) - 1, "manifest too large: ", path);
    text[len] = '\0';
    entries = calloc(cap, sizeof *entries);
    require(entries != NULL, "out of memory", "");
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *field[4] = {NULL, NULL, NULL, ""};
        char *p = line;
        for (int i = 0; i < 4 && p; i++) {
            field[i] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        require(field[2] != NULL, "MANIFEST.tsv: malformed line: ", field[0]);
        if (!wanted(field[1], group))
            continue;
        if (nentries == cap) {
            cap *= 2;
            entries = realloc(entries, cap * sizeof *entries);
            require(entries != NULL, "out of memory", "");
        }
        entries[nentries++] = (entry){strdup(field[0]), strdup(field[1]), strdup(field[2]),
                                      strdup(field[3])};
    }
    free(text);
}

static void free_manifest(void)
{
    for (size_t i = 0; i < nentries; i++) {
        free(entries[i].file);
        free(entries[i].loader);
        free(entries[i].status);
        free(entries[i].message);
    }
    free(entries);
}

static clnn_status load_safetensors(const char *path)
{
    clnn__st_file f;
    clnn_status st = clnn__st_read(path, &f);
    if (st == CLNN_OK)
        clnn__st_free(&f);
    return st;
}

static clnn_status load_idx(const char *path)
{
    clnn__idx idx;
    clnn_status st = clnn__idx_read(path, &idx);
    if (st == CLNN_OK)
        clnn__idx_free(&idx);
    return st;
}

/* clnn_dataset_load with its defaults; an .npy of features needs no labels. */
static clnn_status load_dataset(const char *path, bool npy)
{
    clnn_dataset_options o;
    clnn_dataset_options_init(&o);
    o.labels_optional = npy;
    clnn_dataset *ds = NULL;
    clnn_status st = clnn_dataset_load(path, &o, &ds);
    ck_assert_msg((st == CLNN_OK) == (ds != NULL), "%s: %s with dataset %p", path,
                  clnn_status_name(st), (void *)ds);
    clnn_dataset_free(ds);
    return st;
}

static clnn_net *model_net(void)
{
    clnn_net *net = NULL;
    ck_assert_clnn_ok(clnn_net_create(ctx, MODEL_IN, &net));
    ck_assert_clnn_ok(clnn_net_add_layers(net, MODEL_SPEC));
    ck_assert_clnn_ok(clnn_net_init(net, 7));
    return net;
}

/* Load into a fresh network; a rejected file must leave it untouched. The
 * load's message is copied to message before other calls replace it. */
static clnn_status load_model(const char *path, bool expect_ok, char *message, size_t cap)
{
    clnn_net *net = model_net();
    size_t w = 0;
    ck_assert_clnn_ok(clnn_net_tensor_find(net, "fc1.weight", &w));
    float before[3 * MODEL_IN], after[3 * MODEL_IN];
    ck_assert_clnn_ok(clnn_net_tensor_read(net, w, before, sizeof before));
    clnn_status st = clnn_net_load_weights(net, path);
    snprintf(message, cap, "%s", clnn_last_error());
    clnn_status read = clnn_net_tensor_read(net, w, after, sizeof after);
    clnn_net_free(net); /* before any assertion can leave */
    ck_assert_msg(read == CLNN_OK, "reading fc1.weight back: %s", clnn_last_error());
    bool changed = memcmp(before, after, sizeof before) != 0;
    if (st != CLNN_OK || !expect_ok)
        ck_assert_msg(!changed, "%s: a rejected file changed fc1.weight", path);
    else
        ck_assert_msg(changed, "%s: loading did not change fc1.weight", path);
    return st;
}

/* The file's bytes in a heap block of exactly their size. */
static uint8_t *file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    uint8_t *data = malloc(1);
    size_t n = 0, r;
    uint8_t chunk[4096];
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
        uint8_t *grown = realloc(data, n + r);
        ck_assert_ptr_nonnull(grown);
        data = grown;
        memcpy(data + n, chunk, r);
        n += r;
    }
    fclose(f);
    *len = n;
    return data;
}

/* The same file from memory, into a fresh network: as load_model, and
 * through clnn_net_load_from_memory with the stack given. */
static clnn_status load_model_memory(const char *path, bool expect_ok, char *message, size_t cap)
{
    size_t len = 0;
    uint8_t *data = file_bytes(path, &len);
    clnn_net *net = model_net();
    size_t w = 0;
    ck_assert_clnn_ok(clnn_net_tensor_find(net, "fc1.weight", &w));
    float before[3 * MODEL_IN], after[3 * MODEL_IN];
    ck_assert_clnn_ok(clnn_net_tensor_read(net, w, before, sizeof before));
    clnn_status st = clnn_net_load_weights_from_memory(net, data, len);
    snprintf(message, cap, "%s", clnn_last_error());
    clnn_status read = clnn_net_tensor_read(net, w, after, sizeof after);
    clnn_net_free(net);
    clnn_net *loaded = NULL;
    clnn_status whole = clnn_net_load_from_memory(ctx, data, len, MODEL_SPEC, &loaded);
    char whole_message[4096];
    snprintf(whole_message, sizeof whole_message, "%s", clnn_last_error());
    clnn_net_free(loaded);
    free(data);
    ck_assert_msg(read == CLNN_OK, "reading fc1.weight back: %s", clnn_last_error());
    if (st != CLNN_OK || !expect_ok)
        ck_assert_msg(memcmp(before, after, sizeof before) == 0,
                      "%s: a rejected image changed fc1.weight", path);
    ck_assert_msg(whole == st, "%s: clnn_net_load_from_memory gave %s (%s), load_weights %s", path,
                  clnn_status_name(whole), whole_message, clnn_status_name(st));
    ck_assert_msg(whole == CLNN_OK || strstr(whole_message, "clnn_net_load_from_memory"),
                  "%s: \"%s\" does not name clnn_net_load_from_memory", path, whole_message);
    return st;
}

START_TEST(test_entry)
{
    const entry *e = &entries[_i];
    /* On the stack: a failed assertion leaves the function (no fork), and
     * nothing must leak then. */
    char file[4096];
    snprintf(file, sizeof file, "%s/bad/%s", data_dir, e->file);
    bool expect_ok = strcmp(e->status, "CLNN_OK") == 0;
    char message[4096];
    clnn_status st;
    bool model_group = ctx != NULL;
    if (model_group && strcmp(e->status, "CLNN_OK") == 0 && strcmp(e->loader, "model") != 0)
        return; /* a valid file of other tensors: nothing to compare from memory */
    if (model_group && strcmp(e->loader, "model") == 0) {
        st = load_model(file, expect_ok, message, sizeof message);
        char from_memory[4096];
        clnn_status mst = load_model_memory(file, expect_ok, from_memory, sizeof from_memory);
        ck_assert_msg(mst == st, "%s: %s from the file, %s from memory (%s)", e->file,
                      clnn_status_name(st), clnn_status_name(mst), from_memory);
        if (!expect_ok)
            ck_assert_msg(strstr(from_memory, e->message) != NULL,
                          "%s from memory: message \"%s\" lacks \"%s\"", e->file, from_memory,
                          e->message);
    } else if (model_group) {
        st = load_model_memory(file, expect_ok, message, sizeof message);
    } else if (strcmp(e->loader, "safetensors") == 0)
        st = load_safetensors(file);
    else if (strcmp(e->loader, "idx") == 0)
        st = load_idx(file);
    else if (strcmp(e->loader, "csv") == 0 || strcmp(e->loader, "npz") == 0)
        st = load_dataset(file, false);
    else if (strcmp(e->loader, "npy") == 0)
        st = load_dataset(file, true);
    else if (strcmp(e->loader, "model") == 0)
        st = load_model(file, expect_ok, message, sizeof message);
    else
        ck_abort_msg("%s: unknown loader '%s' in MANIFEST.tsv", e->file, e->loader);
    if (!model_group)
        snprintf(message, sizeof message, "%s", clnn_last_error());

    if (expect_ok)
        good_total++;
    else
        bad_total++;
    ck_assert_msg(strcmp(clnn_status_name(st), e->status) == 0,
                  "%s (%s): got %s (%s), expected %s", e->file, e->loader, clnn_status_name(st),
                  message, e->status);
    if (!expect_ok)
        ck_assert_msg(strstr(message, e->message) != NULL, "%s (%s): message \"%s\" lacks \"%s\"",
                      e->file, e->loader, message, e->message);
    if (expect_ok)
        good_loaded++;
    else
        bad_rejected++;
    printf("  %-44s %-11s %s%s%s\n", e->file, e->loader, e->status, expect_ok ? "" : ": ",
           expect_ok ? "" : message);
}
END_TEST

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "host";
    if (strcmp(group, "host") != 0 && strcmp(group, "model") != 0) {
        fprintf(stderr, "usage: %s [host|model]\n", argv[0]);
        return 2;
    }
    data_dir = getenv("CLNN_TEST_DATA");
    if (!data_dir || !*data_dir) {
        fprintf(stderr, "CLNN_TEST_DATA is not set (run through meson test)\n");
        return 1;
    }
    bool model = strcmp(group, "model") == 0;
    if (model) {
        clnn_test_require_device();
        clnn_context_options o;
        clnn_context_options_init(&o);
        if (clnn_context_create(&o, &ctx) != CLNN_OK) {
            fprintf(stderr, "clnn_context_create: %s\n", clnn_last_error());
            return 1;
        }
    }
    read_manifest(group);
    if (nentries == 0) {
        fprintf(stderr, "MANIFEST.tsv has no %s entries\n", group);
        return 1;
    }

    Suite *s = suite_create(model ? "bad-files-model" : "bad-files-host");
    TCase *tc = tcase_create("manifest");
    tcase_add_loop_test(tc, test_entry, 0, (int)nentries);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    /* No fork: OpenCL state does not survive fork(), and the tallies above
     * must be seen by this process. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    printf("%zu files, %zu rejected with the expected message", bad_total, bad_rejected);
    printf(" (%zu control files, %zu loaded)\n", good_total, good_loaded);
    free_manifest();
    clnn_context_free(ctx);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
