/* word_count: an example flowd plugin node (include/flowd/node.h).
 *
 * inputs:  {"text": "..."} or {"texts": ["...", ...]}
 * config:  {"top": 5, "lowercase": true, "min_length": 1}
 * output:  {"words": N, "unique": N, "lines": N, "chars": N,
 *           "top": [{"word": "the", "count": 12}, ...]}
 *
 * Words are runs of letters, digits, apostrophes and non-ASCII bytes
 * (UTF-8 text stays whole); "lowercase" folds ASCII letters. Build:
 *   bazel build //examples/plugins:word_count.so
 * and copy word_count.so to FLOWD_PLUGIN_DIR; workflows then use kind
 * "plugin:word_count". */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include <flowd/node.h>

typedef struct Counts {
    json_t *freq; /* word -> count */
    long long words, lines, chars;
    size_t min_length;
    int lowercase;
} Counts;

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

static void count_text(Counts *c, const char *s, size_t n)
{
    char word[256];

    c->lines += n > 0;
    for (size_t i = 0; i < n;) {
        c->chars += ((unsigned char)s[i] & 0xC0) != 0x80;
        c->lines += s[i] == '\n' && i + 1 < n;
        if (!word_byte((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t len = 0;
        for (; i < n && word_byte((unsigned char)s[i]); i++) {
            c->chars += len > 0 && ((unsigned char)s[i] & 0xC0) != 0x80;
            if (len < sizeof(word) - 1)
                word[len++] = c->lowercase && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        }
        word[len] = '\0';
        if (len < c->min_length)
            continue;
        c->words++;
        json_t *prev = json_object_get(c->freq, word);
        json_object_set_new(c->freq, word, json_integer(prev ? json_integer_value(prev) + 1 : 1));
    }
}

/* The top n words by count, ties broken alphabetically (selection: n is small). */
static json_t *top_words(json_t *freq, size_t n)
{
    json_t *top = json_array(), *taken = json_object();

    for (size_t k = 0; k < n; k++) {
        const char *best = NULL, *w;
        json_int_t best_n = 0;
        json_t *v;
        json_object_foreach (freq, w, v) {
            json_int_t cnt = json_integer_value(v);
            if (json_object_get(taken, w))
                continue;
            if (!best || cnt > best_n || (cnt == best_n && strcmp(w, best) < 0)) {
                best = w;
                best_n = cnt;
            }
        }
        if (!best)
            break;
        json_object_set_new(taken, best, json_true());
        json_array_append_new(top, json_pack("{s:s,s:I}", "word", best, "count", best_n));
    }
    json_decref(taken);
    return top;
}

static int collect(Counts *c, const json_t *inputs, FlowdNodeOutput *out)
{
    const json_t *text = json_object_get(inputs, "text"), *texts = json_object_get(inputs, "texts");
    size_t i;
    json_t *t;

    if (json_is_string(text)) {
        count_text(c, json_string_value(text), json_string_length(text));
        return 0;
    }
    if (!json_is_array(texts)) {
        out->fail(out, "InvalidInput", "word_count needs an input \"text\" (a string) or \"texts\" (strings)");
        return -1;
    }
    json_array_foreach (texts, i, t) {
        if (!json_is_string(t)) {
            out->fail(out, "InvalidInput", "every element of \"texts\" must be a string");
            return -1;
        }
        count_text(c, json_string_value(t), json_string_length(t));
        out->progress(out, (double)(i + 1) / (double)json_array_size(texts), "counting");
    }
    return 0;
}

static int run(const FlowdNodeRequest *req, FlowdNodeOutput *out)
{
    json_error_t jerr;
    json_t *config = json_loadb(req->config_json, req->config_len, 0, &jerr);
    json_t *inputs = json_loadb(req->inputs_json, req->inputs_len, 0, &jerr);
    json_int_t top = json_integer_value(json_object_get(config, "top"));
    json_int_t min_len = json_integer_value(json_object_get(config, "min_length"));
    Counts c = {.freq = json_object(),
                .lowercase = !json_is_false(json_object_get(config, "lowercase")),
                .min_length = min_len > 0 ? (size_t)min_len : 1};
    int rc = collect(&c, inputs, out);

    if (rc == 0) {
        json_t *res =
            json_pack("{s:I,s:I,s:I,s:I,s:o}", "words", (json_int_t)c.words, "unique",
                      (json_int_t)json_object_size(c.freq), "lines", (json_int_t)c.lines, "chars", (json_int_t)c.chars,
                      "top", top_words(c.freq, top > 0 && top <= 1000 ? (size_t)top : 5));
        char *text = json_dumps(res, JSON_COMPACT);
        rc = text && out->write(out, text, strlen(text)) == 0 ? 0 : -1;
        free(text);
        json_decref(res);
    }
    fprintf(stderr, "word_count: node %s attempt %u: %lld words\n", req->node_id, req->attempt, c.words);
    json_decref(c.freq);
    json_decref(config);
    json_decref(inputs);
    return rc;
}

static const FlowdNodeV1 word_count = {
    .abi_version = FLOWD_NODE_ABI_VERSION,
    .struct_size = sizeof(FlowdNodeV1),
    .name = "word_count",
    .version = "1.0.0",
    .summary = "counts words, lines and characters; lists the most frequent words",
    .run = run,
};

const FlowdNodeV1 *flowd_node_v1(void) { return &word_count; }
