/* mask: PII masking. Every string in the input (recursively) is scanned for
 * e-mail addresses, phone numbers, payment card numbers (Luhn-checked) and
 * national ids (US SSN); values of named fields are masked whole. Modes:
 * redact ("***"), partial (keep the last 4 digits, or an e-mail's domain),
 * hash (SHA-256 hex, salted with a granted secret when configured). The
 * output is the masked document plus counts per kind.
 *
 * Detection is pattern-based and errs towards precision: a phone number
 * needs a leading '+' or a common grouping (3-3-4, 1-3-3-4, 3-4-4, 2-4-4),
 * so dates, times, amounts and bare ids are left alone. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/nodes/node-internal.h"

static const char *const kinds[] = {"email", "phone", "credit_card", "national_id", NULL};
enum { PII_EMAIL, PII_PHONE, PII_CARD, PII_NATIONAL_ID, PII_FIELD, _PII_MAX };
static const char *const count_names[_PII_MAX] = {"email", "phone", "credit_card", "national_id", "field"};
static const char *const modes[] = {"redact", "partial", "hash", NULL};
enum { MODE_REDACT, MODE_PARTIAL, MODE_HASH };

typedef struct Masker {
    bool detect[PII_FIELD];
    const json_t *fields;
    int mode;
    const char *salt;
    size_t counts[_PII_MAX];
} Masker;

static void mask_check(const json_t *config, const char *path, Diags *d)
{
    static const char *const keys[] = {"input", "output",      "detect",     "fields",
                                       "mode",  "salt_secret", "counts_key", NULL};
    const json_t *detect = json_object_get(config, "detect"), *fields = json_object_get(config, "fields");
    char p[512];
    size_t i;
    json_t *v;

    node_check_keys(config, path, keys, d);
    node_check_io(config, path, true, d);
    int mode = node_check_enum(config, "mode", path, modes, MODE_REDACT, d);
    node_check_string(config, "counts_key", path, NULL, d);
    if (node_check_string(config, "salt_secret", path, NULL, d) && mode != MODE_HASH)
        diags_add(d, node_subpath(p, sizeof(p), path, ".salt_secret"), "only applies to \"mode\": \"hash\"");
    if (detect && (!json_is_array(detect) || json_array_size(detect) > 4))
        diags_add(d, node_subpath(p, sizeof(p), path, ".detect"),
                  "must be an array of \"email\", \"phone\", \"credit_card\", \"national_id\" ([] for none)");
    else if (detect)
        json_array_foreach ((json_t *)detect, i, v) {
            bool ok = false;
            for (size_t k = 0; json_is_string(v) && kinds[k]; k++)
                ok |= strcmp(json_string_value(v), kinds[k]) == 0;
            if (!ok)
                diags_add(d, node_subpath(p, sizeof(p), path, ".detect[%zu]", i),
                          "must be one of \"email\", \"phone\", \"credit_card\", \"national_id\"");
        }
    if (fields && (!json_is_array(fields) || json_array_size(fields) > NODE_MAX_FIELDS))
        diags_add(d, node_subpath(p, sizeof(p), path, ".fields"), "must be an array of at most %d field names",
                  NODE_MAX_FIELDS);
    else if (fields)
        json_array_foreach ((json_t *)fields, i, v)
            if (!json_is_string(v) || json_string_length(v) == 0)
                diags_add(d, node_subpath(p, sizeof(p), path, ".fields[%zu]", i), "must be a field name");
}

/* ---- detection ---- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
static bool is_local(char c) { return is_alnum(c) || (c && strchr("._%+-", c)); }
static bool is_domain(char c) { return is_alnum(c) || c == '-'; }

bool node_luhn_ok(const char *digits, size_t n)
{
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(digits[n - 1 - i] - '0');
        if (i % 2) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return n > 0 && sum % 10 == 0;
}

/* An address starting at s[i]: local@label.label..., the last label
 * alphabetic and at least 2 long. Returns the end, or 0. */
static size_t try_email(const char *s, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && is_local(s[j]))
        j++;
    if (j == i || j >= len || s[j] != '@' || s[i] == '.' || s[j - 1] == '.')
        return 0;
    size_t k = j + 1, end = 0, labels = 0;
    for (;;) {
        size_t l = k;
        while (k < len && is_domain(s[k]))
            k++;
        if (k == l || s[l] == '-' || s[k - 1] == '-')
            break;
        labels++;
        bool alpha = k - l >= 2;
        for (size_t x = l; x < k && alpha; x++)
            alpha = is_alpha(s[x]);
        if (labels >= 2 && alpha)
            end = k;
        if (k + 1 >= len || s[k] != '.' || !is_domain(s[k + 1]))
            break;
        k++;
    }
    return end;
}

static bool boundary_after(const char *s, size_t len, size_t end) { return end >= len || !is_alnum(s[end]); }

/* Card groupings: none, fours (the last group shorter for 13-19 digits),
 * and Amex/Diners 4-6-5 / 4-6-4. */
static bool card_grouping_ok(const size_t *g, size_t n)
{
    if (n == 1)
        return true;
    if (n == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4))
        return true;
    for (size_t i = 0; i + 1 < n; i++)
        if (g[i] != 4)
            return false;
    return g[n - 1] >= 1 && g[n - 1] <= 4;
}

/* 13-19 digits, alone or in the usual groups separated by one space or
 * dash (the same throughout), Luhn-valid; the longest match wins. */
static size_t try_card(const char *s, size_t len, size_t i)
{
    char digits[20], sep = 0;
    size_t n = 0, j = i, best = 0, groups[20], n_groups = 0;

    while (j < len && n < 19 && is_digit(s[j])) {
        size_t g = 0;
        while (j < len && is_digit(s[j]) && n < 19)
            digits[n++] = s[j++], g++;
        if (j < len && is_digit(s[j]))
            break; /* more than 19 digits in a row */
        groups[n_groups++] = g;
        if (n >= 13 && boundary_after(s, len, j) && card_grouping_ok(groups, n_groups) && node_luhn_ok(digits, n))
            best = j;
        if (j + 1 >= len || (s[j] != ' ' && s[j] != '-') || !is_digit(s[j + 1]) || (sep && s[j] != sep))
            break;
        sep = s[j++];
    }
    return best;
}

/* ddd-dd-dddd, not 000/666/9xx, 00 or 0000 (numbers the SSA never issues). */
static size_t try_ssn(const char *s, size_t len, size_t i)
{
    static const char shape[] = "ddd-dd-dddd";
    if (i + 11 > len || !boundary_after(s, len, i + 11))
        return 0;
    for (size_t k = 0; k < 11; k++)
        if (shape[k] == 'd' ? !is_digit(s[i + k]) : s[i + k] != '-')
            return 0;
    if (!strncmp(s + i, "000", 3) || !strncmp(s + i, "666", 3) || s[i] == '9' || !strncmp(s + i + 4, "00", 2) ||
        !strncmp(s + i + 7, "0000", 4))
        return 0;
    return i + 11;
}

static bool grouping_ok(const size_t *g, size_t n)
{
    static const size_t shapes[][4] = {{3, 3, 4, 0}, {1, 3, 3, 4}, {3, 4, 4, 0}, {2, 4, 4, 0}};
    for (size_t k = 0; k < ELEMENTSOF(shapes); k++) {
        size_t m = shapes[k][3] ? 4 : 3;
        if (m != n)
            continue;
        bool ok = true;
        for (size_t x = 0; x < m; x++)
            ok &= g[x] == shapes[k][x];
        if (ok)
            return true;
    }
    return false;
}

/* +<8-15 digits with separators>, or a common national grouping. */
static size_t try_phone(const char *s, size_t len, size_t i)
{
    bool plus = s[i] == '+';
    size_t j = i + plus, digits = 0, groups[16], n_groups = 0, best = 0;
    bool dots = false, other_sep = false;

    if (j >= len || !(is_digit(s[j]) || s[j] == '('))
        return 0;
    while (j < len && n_groups < 16) {
        if (is_digit(s[j])) {
            size_t g = 0;
            while (j < len && is_digit(s[j]))
                j++, g++, digits++;
            groups[n_groups++] = g;
            bool ok = plus ? digits >= 8 && digits <= 15 : grouping_ok(groups, n_groups);
            if (ok && (!dots || !other_sep) && boundary_after(s, len, j))
                best = j;
            if (digits > 15)
                break;
        } else if (strchr(" -.()", s[j]) && s[j]) {
            dots |= s[j] == '.';
            other_sep |= s[j] != '.';
            /* One separator, or ") " / " (", between groups. */
            size_t k = j;
            while (k < len && k - j < 2 && s[k] && strchr(" -.()", s[k]))
                k++;
            if (k >= len || !is_digit(s[k]))
                break;
            j = k;
        } else
            break;
    }
    return best;
}

/* ---- masking ---- */

static void put_hash(Masker *m, StrBuf *out, const char *s, size_t n)
{
    StrBuf in = {0};
    char hex[65];

    if (m->salt)
        sb_puts(&in, m->salt);
    sb_append(&in, s, n);
    node_sha256_hex(in.s ? in.s : "", in.len, hex);
    sb_puts(out, hex);
    sb_free(&in);
}

/* Partial: every digit but the last four becomes '*'; separators stay. */
static void put_digits_partial(StrBuf *out, const char *s, size_t n)
{
    size_t total = 0, seen = 0;
    for (size_t i = 0; i < n; i++)
        total += is_digit(s[i]);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (is_digit(c) && seen++ < total - (total < 4 ? total : 4))
            c = '*';
        sb_append(out, &c, 1);
    }
}

/* Partial for free-form values: the last four characters (code points). */
static void put_text_partial(StrBuf *out, const char *s, size_t n)
{
    size_t cps = 0, keep_from = n;
    for (size_t i = 0; i < n; i++)
        cps += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (cps <= 4) {
        sb_puts(out, "***");
        return;
    }
    for (size_t seen = 0; keep_from > 0 && seen < 4;)
        if (((unsigned char)s[--keep_from] & 0xC0) != 0x80)
            seen++;
    for (size_t i = 0; i < cps - 4; i++)
        sb_puts(out, "*");
    sb_append(out, s + keep_from, n - keep_from);
}

static void put_masked(Masker *m, StrBuf *out, int kind, const char *s, size_t n)
{
    m->counts[kind]++;
    if (m->mode == MODE_REDACT)
        sb_puts(out, "***");
    else if (m->mode == MODE_HASH)
        put_hash(m, out, s, n);
    else if (kind == PII_EMAIL) {
        const char *at = memchr(s, '@', n);
        sb_puts(out, "***");
        sb_append(out, at, n - (size_t)(at - s));
    } else if (kind == PII_FIELD)
        put_text_partial(out, s, n);
    else
        put_digits_partial(out, s, n);
}

static size_t detect_at(const Masker *m, const char *s, size_t len, size_t i, int *kind)
{
    size_t end;
    /* Numbers start at a word boundary, and not in the middle of a dashed
     * or dotted number ("912-12-3456" holds no "3456 ..." to match). */
    bool start =
        i == 0 || (!is_alnum(s[i - 1]) && !((s[i - 1] == '-' || s[i - 1] == '.') && i >= 2 && is_digit(s[i - 2])));

    if (m->detect[PII_EMAIL] && is_local(s[i]) && (i == 0 || !is_local(s[i - 1])) && (end = try_email(s, len, i))) {
        *kind = PII_EMAIL;
        return end;
    }
    if (!start || !(is_digit(s[i]) || s[i] == '+' || s[i] == '('))
        return 0;
    if (m->detect[PII_CARD] && is_digit(s[i]) && (end = try_card(s, len, i))) {
        *kind = PII_CARD;
        return end;
    }
    if (m->detect[PII_NATIONAL_ID] && (end = try_ssn(s, len, i))) {
        *kind = PII_NATIONAL_ID;
        return end;
    }
    if (m->detect[PII_PHONE] && (end = try_phone(s, len, i))) {
        *kind = PII_PHONE;
        return end;
    }
    return 0;
}

/* Returns a new string when something was masked, else NULL. */
static json_t *mask_string(Masker *m, const char *s, size_t len)
{
    StrBuf out = {0};
    size_t copied = 0;
    bool any = false;

    for (size_t i = 0; i < len;) {
        int kind;
        size_t end = detect_at(m, s, len, i, &kind);
        if (!end) {
            i++;
            continue;
        }
        sb_append(&out, s + copied, i - copied);
        put_masked(m, &out, kind, s + i, end - i);
        copied = i = end;
        any = true;
    }
    if (!any)
        return NULL;
    sb_append(&out, s + copied, len - copied);
    json_t *v = json_stringn(out.s, out.len);
    sb_free(&out);
    return v;
}

static json_t *mask_whole(Masker *m, const json_t *v)
{
    StrBuf out = {0};
    char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    const char *s = text ? text : json_string_value(v);
    size_t n = text ? strlen(text) : json_string_length(v);

    if (m->mode == MODE_PARTIAL && (json_is_object(v) || json_is_array(v))) {
        m->counts[PII_FIELD]++;
        sb_puts(&out, "***");
    } else
        put_masked(m, &out, PII_FIELD, s ? s : "", s ? n : 0);
    json_t *r = json_stringn(out.s ? out.s : "", out.len);
    sb_free(&out);
    free(text);
    return r;
}

static bool named_field(const Masker *m, const char *key)
{
    size_t i;
    json_t *f;
    json_array_foreach ((json_t *)m->fields, i, f)
        if (strcasecmp(json_string_value(f), key) == 0)
            return true;
    return false;
}

/* A card number stored as a JSON integer is still a card number. */
static json_t *mask_integer(Masker *m, const json_t *v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    if (!m->detect[PII_CARD] || n < 13 || n > 19 || !node_luhn_ok(buf, (size_t)n))
        return NULL;
    StrBuf out = {0};
    put_masked(m, &out, PII_CARD, buf, (size_t)n);
    json_t *r = json_stringn(out.s, out.len);
    sb_free(&out);
    return r;
}

/* Returns a new masked value, or NULL when v is unchanged. */
static json_t *mask_value(Masker *m, const json_t *v)
{
    const char *k;
    json_t *x, *r, *copy = NULL;
    size_t i;

    if (json_is_string(v))
        return mask_string(m, json_string_value(v), json_string_length(v));
    if (json_is_integer(v))
        return mask_integer(m, v);
    if (json_is_array(v)) {
        json_array_foreach ((json_t *)v, i, x)
            if ((r = mask_value(m, x))) {
                if (!copy)
                    copy = json_copy((json_t *)v);
                json_array_set_new(copy, i, r);
            }
        return copy;
    }
    json_object_foreach ((json_t *)v, k, x) {
        r = named_field(m, k) && !json_is_null(x) ? mask_whole(m, x) : mask_value(m, x);
        if (r) {
            if (!copy)
                copy = json_copy((json_t *)v);
            json_object_set_new(copy, k, r);
        }
    }
    return copy;
}

static void masker_init(Masker *m, const json_t *config)
{
    const json_t *detect = json_object_get(config, "detect");
    const char *salt_var = json_string_value(json_object_get(config, "salt_secret"));
    size_t i;
    json_t *d;

    *m = (Masker){.fields = json_object_get(config, "fields"),
                  .mode = node_check_enum(config, "mode", "", modes, MODE_REDACT, NULL)};
    for (int k = 0; k < PII_FIELD; k++)
        m->detect[k] = !json_is_array(detect);
    json_array_foreach ((json_t *)detect, i, d)
        for (int k = 0; k < PII_FIELD; k++)
            if (json_is_string(d) && strcmp(json_string_value(d), kinds[k]) == 0)
                m->detect[k] = true;
    /* A granted secret reaches a built-in as an environment variable. */
    m->salt = salt_var ? getenv(salt_var) : NULL;
}

static int mask_run(const NodeCtx *c, json_t **ret, NodeErr *e)
{
    const char *key, *salt_var = json_string_value(json_object_get(c->config, "salt_secret"));
    const char *ckey = json_string_value(json_object_get(c->config, "counts_key"));
    const json_t *in = node_operand(c, "$", &key, e);
    Masker m;

    if (!in)
        return -1;
    masker_init(&m, c->config);
    if (salt_var && !m.salt)
        return node_err(e, "InvalidInput",
                        "salt_secret names %s, which is not granted to this node: list it in "
                        "the node's \"secrets\"",
                        salt_var);
    json_t *masked = mask_value(&m, in);
    if (!masked)
        masked = json_is_object(in) || json_is_array(in) ? json_deep_copy(in) : json_incref((json_t *)in);
    json_t *out = node_output(c, key, NULL, masked);
    json_t *counts = json_object();
    for (int k = 0; k < _PII_MAX; k++)
        json_object_set_new(counts, count_names[k], json_integer((json_int_t)m.counts[k]));
    json_object_set_new(out, ckey ? ckey : "masked", counts);
    *ret = out;
    return 0;
}

static int mask_main(void) { return node_main(mask_run); }

const NodeKind node_kind_mask = {
    .name = "mask",
    .summary = "masks PII (e-mails, phones, card numbers, national ids, named fields): redact, partial or hash",
    .check = mask_check,
    .builtin = mask_main,
    .profile = SBX_PROFILE_COMPUTE,
};
