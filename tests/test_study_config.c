/* Study configs: grid expansion and task order, and errors that name the
 * file, line and key before any work starts. */
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "sgdmc/study/study_config.h"

static char path[64];

static void write_config(const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void check_error(const char *text, const char *expected1, const char *expected2)
{
    write_config(text);
    sgdmc_study study;
    char err[1024] = "";
    int status = sgdmc_study_load(path, &study, err, sizeof err);
    CHECK(status != 0, "accepted:\n%s", text);
    if (status == 0) {
        sgdmc_study_free(&study);
        return;
    }
    CHECK(strstr(err, expected1) && strstr(err, expected2) && !strchr(err, '\n'),
          "message '%s' lacks '%s' or '%s'", err, expected1, expected2);
}

/* A relative data file is found beside the config, wherever sgdmc runs. */
static void test_relative_data(void)
{
    char dir[64], data[128], config[128];
    snprintf(dir, sizeof dir, "relative_%d", (int)getpid());
    snprintf(data, sizeof data, "%s/points.h5", dir);
    snprintf(config, sizeof config, "%s/study.cfg", dir);
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    const double x[4] = {0.0, 0.25, 0.5, 1.0}, y[4] = {1.0, 0.0, 1.0, 0.0};
    harness_write_data(data, x, y, 4, 1);
    FILE *f = fopen(config, "w");
    fputs("name = \"relative\";\nseeds = 2;\ngrid = { init = [\"uniform\", \"he\"]; };\n"
          "train = { data = \"points.h5\"; loss = \"logistic\"; batch_size = 0; };\n", f);
    fclose(f);
    sgdmc_study study;
    char err[1024];
    CHECK(sgdmc_study_load(config, &study, err, sizeof err) == 0, "%s", err);
    CHECK(!strcmp(study.base.data_file, data), "data file %s, expected %s", study.base.data_file,
          data);
    CHECK(!strcmp(study.axes[0].values[1], "he"), "init name changed to %s",
          study.axes[0].values[1]);
    sgdmc_study_free(&study);
    remove(config);
    remove(data);
    rmdir(dir);
}

int main(void)
{
    test_relative_data();
    snprintf(path, sizeof path, "test_study_%d.cfg", (int)getpid());
    write_config("name = \"nonconvergence\";\n"
                 "seeds = 1000;\n"
                 "grid = {\n"
                 "  width = [1, 2, 4, 8, 16];\n"
                 "  depth = [1, 2, 3];\n"
                 "  optimizer = [\"sgd\", \"adam\"];\n"
                 "};\n"
                 "train = { target = \"square\"; steps = 20000; batch_size = 16; lr = 0.01; "
                 "tol = 1e-3; skip = false; };\n"
                 "output = { trajectory = 32; };\n");
    sgdmc_study study;
    char err[1024];
    CHECK(sgdmc_study_load(path, &study, err, sizeof err) == 0, "%s", err);
    CHECK(study.tasks == 30000 && study.cells == 30 && study.seeds == 1000,
          "tasks %ld cells %ld", study.tasks, study.cells);
    CHECK(!strcmp(study.name, "nonconvergence"), "name %s", study.name);
    CHECK(strstr(study.text, "width = [1, 2, 4, 8, 16];") != NULL, "config text kept");
    struct {
        long task;
        int width, depth;
        sgdmc_optimizer_kind optimizer;
        unsigned long seed;
    } expected[] = {
        {0, 1, 1, SGDMC_OPT_SGD, 0},       {1, 1, 1, SGDMC_OPT_SGD, 1},
        {999, 1, 1, SGDMC_OPT_SGD, 999},   {1000, 1, 1, SGDMC_OPT_ADAM, 0},
        {2000, 1, 2, SGDMC_OPT_SGD, 0},    {6000, 2, 1, SGDMC_OPT_SGD, 0},
        {29999, 16, 3, SGDMC_OPT_ADAM, 999},
    };
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
        sgdmc_train_config c;
        int index[SGDMC_STUDY_MAX_AXES];
        sgdmc_study_task(&study, expected[i].task, &c, index);
        CHECK(c.width == expected[i].width && c.depth == expected[i].depth &&
                  c.optimizer.kind == expected[i].optimizer && c.seed == expected[i].seed,
              "task %ld: width %d depth %d optimizer %d seed %lu", expected[i].task, c.width,
              c.depth, c.optimizer.kind, c.seed);
        CHECK(c.steps == 20000 && c.batch_size == 16 && c.optimizer.lr == 0.01 &&
                  c.trajectory == 32 && c.target == SGDMC_TARGET_SQUARE,
              "task %ld: train section not applied", expected[i].task);
    }
    sgdmc_study_free(&study);

    check_error("name = \"a\";\ngrid = { widht = [1, 2]; };\n", ":2: grid.widht", "width");
    check_error("name = \"a\";\ntrain = {\n  width = \"four\";\n};\n", ":3: train.width", "four");
    check_error("name = \"a\";\ngrid = { width = []; };\n", ":2: grid.width", "empty");
    check_error("name = \"a\";\ngrid = {\n optimizer = [\"sgd\", \"adamw\"];\n};\n",
                ":3: grid.optimizer", "adamw");
    check_error("name = \"a\";\ntrain = { width = [1, 2]; };\n", ":2: train.width", "one value");
    check_error("name = \"a\";\ntrain = { seed = 3; };\n", ":2: train.seed", "seeds");
    check_error("name = \"a\";\ngrid = { width = 4; };\n", ":2: grid.width", "list");
    check_error("name = \"a\";\n\nseeds = 0;\n", ":3: seeds", "from 1 to 1099511627776");
    check_error("name = \"a\";\nseeds = = 10;\ngrid = {};\n", ":2", "syntax");
    check_error("seeds = 10;\n", "name", "missing");
    check_error("name = \"a\";\nouptut = { trajectory = 3; };\n", ":2: ouptut", "unknown key");
    check_error("name = \"a\";\noutput = { trajectory = -3; };\n", ":2: output.trajectory",
                "integer");
    check_error("name = \"a\";\ntrain = { width = 4; };\ngrid = { width = [1, 2]; };\n",
                ":3: grid.width", "also set in train");
    check_error("name = \"a\";\ntrain = { widths = \"4,4\"; };\ngrid = { depth = [2, 3]; };\n",
                "grid cell depth=3", "--widths");
    check_error("name = \"a\";\ngrid = { steps = [10, 100]; };\n", "grid.steps",
                "/runs/steps");
    check_error("name = \"a\";\ngrid = { tol = [0.1, 0.01]; };\n", "grid.tol", "collide");
    check_error("name = \"a\";\ntrain = { data = \"/nonexistent.h5\"; batch_size = 0; };\n",
                "/nonexistent.h5", "--data");
    check_error("name = \"a\";\ntrain = { lr = -1.0; };\n", ":2: train.lr", "out of range");
    /* text that would split a message or spoil the file's UTF-8 attributes: a NUL (libconfig
     * would silently stop there: seeds = 5 lost), bytes that are not UTF-8, a newline or a
     * control character inside a value; UTF-8 letters pass */
    {
        static const char nul[] = "name = \"a\";\nseeds = 1;\0 seeds = 5;\n";
        FILE *f = fopen(path, "wb");
        fwrite(nul, 1, sizeof nul - 1, f);
        fclose(f);
        sgdmc_study study;
        char err[1024] = "";
        CHECK(sgdmc_study_load(path, &study, err, sizeof err) != 0 &&
                  strstr(err, ":2: the config holds a NUL byte") && !strchr(err, '\n'),
              "a NUL in the config: '%s'", err);
    }
    check_error("name = \"a\";\n\ntrain = { data = \"x\xff.h5\"; };\n", ":3:",
                "is not valid UTF-8");
    check_error("name = \"a\";\ntrain = { optimizer = \"\xc3\x28\"; };\n", ":2:",
                "is not valid UTF-8");
    check_error("name = \"a\\nb\";\n", ":1: name:", "control character");
    check_error("name = \"a\";\ntrain = { optimizer = \"adam\\tx\"; };\n",
                ":2: train.optimizer", "the value holds a control character");
    write_config("name = \"h\xc3\xa9llo\";\n");
    {
        sgdmc_study study;
        char err[1024] = "";
        CHECK(sgdmc_study_load(path, &study, err, sizeof err) == 0, "a UTF-8 name: %s", err);
        if (!err[0])
            sgdmc_study_free(&study);
    }
    /* two cells that would be one: the same value twice, or two seeds above 2^53 that the
     * float64 grid column would store as one number (2^53 + 1 reads back as 2^53) */
    check_error("name = \"a\";\ngrid = { width = [4, 2, 4]; };\n", ":2: grid.width",
                "4 is given twice (elements 1 and 3)");
    check_error("name = \"a\";\ngrid = { lr = [0.1, 1e-1]; };\n", ":2: grid.lr",
                "given twice");
    check_error("name = \"a\";\ngrid = { optimizer = [\"adam\", \"sgd\", \"adam\"]; };\n",
                ":2: grid.optimizer", "adam is given twice");
    check_error("name = \"a\";\ngrid = {\n teacher_seed = [9007199254740992L, "
                "9007199254740993L]; };\n", ":3: grid.teacher_seed",
                "9007199254740993 is above 2^53");
    CHECK(sgdmc_study_load("/nonexistent/study.cfg", &study, err, sizeof err) != 0 &&
              strstr(err, "/nonexistent/study.cfg: cannot read"),
          "missing file: %s", err);
    /* integers past 32 bits without L, which libconfig 1.5 wraps (4294967346 read as 50):
     * refused by line; with L, or in strings and comments, or as decimals, they pass (as do
     * words and @ in strings and comments, booleans in any case, names before = or :) */
    check_error("name = \"a\";\ntrain = { steps = 4294967346; };\n", ":2: steps:", "4294967346L");
    check_error("name = \"a\";\n\nseeds = 4294967298;\n", ":3:", "does not fit in 32 bits");
    check_error("name = \"a\";\ngrid = { width = [2, 4294967298]; };\n", ":2: width:", "32 bits");
    check_error("name = \"a\";\ntrain = { steps = -3000000000; };\n", ":2:", "-3000000000");
    check_error("name = \"a\";\ntrain = { steps = 0x1FFFFFFFF; };\n", ":2:", "0x1FFFFFFFFL");
    /* past 64 bits with L libconfig clamps or wraps; decimals beyond a double it reads as
     * inf or 0, and subnormals, which the command line refuses too: refused by line */
    check_error("name = \"a\";\ngrid = {\n teacher_seed = [1L, 18446744073709551615L]; };\n",
                ":3: teacher_seed:", "18446744073709551615 does not fit in a signed 64-bit");
    check_error("name = \"a\";\ntrain = { steps = -9223372036854775809L; };\n", ":2: steps:",
                "-9223372036854775809 does not fit in a signed 64-bit");
    check_error("name = \"a\";\ntrain = { lr = 1e-400; };\n", ":2: lr:",
                "1e-400 is beyond a double");
    check_error("name = \"a\";\ngrid = { init_scale = [1.0, 2e308]; };\n", ":2: init_scale:",
                "2e308 is beyond a double");
    check_error("name = \"a\";\ngrid = { l2 = [0.0, 1e-310]; };\n", ":2: l2:",
                "1e-310 is beyond a double");
    /* a whole-number double past 2^53 is a double, not an integer that lost digits */
    write_config("name = \"a\";\ngrid = { blowup = [1e10, 1e16]; };\n");
    {
        sgdmc_study study;
        char err[1024] = "";
        CHECK(sgdmc_study_load(path, &study, err, sizeof err) == 0, "blowup 1e16: %s", err);
        if (!err[0])
            sgdmc_study_free(&study);
    }
    /* what libconfig calls a bare "syntax error": a word where a value goes (no nan or inf
     * literal, a name without quotes), by line and key; an @include, whose text the results
     * file would not store */
    check_error("name = \"a\";\ntrain = { lr = nan; };\n", ":2: lr: 'nan'", "not a value");
    check_error("name = \"a\";\ntrain = {\n  blowup = -inf; };\n", ":3: blowup: 'inf'",
                "no nan or inf");
    check_error("name = \"a\";\ngrid = { optimizer = [\"sgd\", adam]; };\n",
                ":2: optimizer: 'adam'", "\"string\"");
    check_error("name = \"a\";\n@include \"more.cfg\"\n", ":2: @include", "one file");
    /* the key is the last setting name, not text inside a string; a line continued inside
     * a string counts; a block comment never closed would hide the rest from libconfig */
    check_error("name = \"a\";\ngrid = { optimizer = [\"sgd:x=y\", adam]; };\n",
                ":2: optimizer: 'adam'", "not a value");
    check_error("name = \"a\\\nb\";\ntrain = { optimizer = adam; };\n", ":3: optimizer:",
                "'adam'");
    check_error("name = \"a\";\ntrain = { steps = 10; };\n/* grid = { lr = [0.1, 0.2]; };\n",
                ":3:", "never closed");
    check_error("name = \"a\";\ntrain = { lr = .5e+3000000000; };\n", ":2: lr:",
                "beyond a double");
    /* a comment or a form feed between a name and its = is still a name */
    write_config("name = \"a\"; seeds /* s */ = 2;\ntrain = { steps # n\n = 7; lr\f= 0.5; };\n");
    CHECK(sgdmc_study_load(path, &study, err, sizeof err) == 0 && study.tasks == 2 &&
              study.base.steps == 7,
          "comments between names and values: %s", err);
    sgdmc_study_free(&study);
    write_config("name = \"a 66666666666 nan @include\"; # 99999999999 nan\n"
                 "/* 88888888888 inf @x */ seeds = 2;\n"
                 "train = { steps = 5000000000L; lr = 3e10; skip = TRUE, depth : 2,\n"
                 "          init_scale = 0x10; }; // 77777777777 nan\n");
    CHECK(sgdmc_study_load(path, &study, err, sizeof err) == 0, "%s", err);
    if (study.tasks == 2) {
        sgdmc_train_config config;
        int index[SGDMC_STUDY_MAX_AXES];
        sgdmc_study_task(&study, 0, &config, index);
        CHECK(config.steps == 5000000000L, "steps %ld", (long)config.steps);
    }
    sgdmc_study_free(&study);
    /* 10^4 values on each of five keys: 10^20 cells, past a long; refused by line and key
     * before the product overflows (UBSan's signed overflow) */
    {
        const char *keys[] = {"lr", "init_scale", "l2", "weight_decay", "blowup"};
        size_t size = 5 * 10000 * 24 + 256, used = 0;
        char *text = malloc(size);
        used += (size_t)snprintf(text + used, size - used, "name = \"big\";\ngrid = {\n");
        for (int k = 0; k < 5; k++) {
            used += (size_t)snprintf(text + used, size - used, "  %s = [", keys[k]);
            for (int i = 0; i < 10000; i++)
                used += (size_t)snprintf(text + used, size - used, "%s%.6f", i ? ", " : "",
                                         1.0 + i * 1e-4);
            used += (size_t)snprintf(text + used, size - used, "];\n");
        }
        snprintf(text + used, size - used, "};\n");
        check_error(text, ":4: grid.init_scale", "more than 2^20 (1048576) cells");
        free(text);
    }
    remove(path);
    return harness_exit("test_study_config");
}
