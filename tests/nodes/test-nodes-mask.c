/* mask: SHA-256 test vectors, the Luhn check, what is and is not detected
 * as an e-mail, phone, card or national id, and the three modes. */
#include "nodes-test.h"
#include "server/nodes/node-internal.h"

static void test_node_sha256_vectors(void **state)
{
    char hex[65];
    (void)state;
    node_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    node_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: two tail blocks */
    node_sha256_hex(m448, strlen(m448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    node_sha256_hex(million, 1000000, hex);
    free(million);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_node_luhn_ok(void **state)
{
    (void)state;
    assert_true(node_luhn_ok("4111111111111111", 16));
    assert_true(node_luhn_ok("5500005555555559", 16));
    assert_true(node_luhn_ok("378282246310005", 15));
    assert_false(node_luhn_ok("4111111111111112", 16));
    assert_false(node_luhn_ok("", 0));
}

/* Masks one string with config, returns the masked text (static). */
static const char *masked(const char *config, const char *text)
{
    static char buf[4096];
    json_t *in = json_pack("{s:s}", "t", text);
    char *inputs = json_dumps(in, 0);
    json_t *out = t_ok("mask", config, inputs);
    snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(out, "t")));
    free(inputs);
    json_decref(in);
    json_decref(out);
    return buf;
}

#define REDACT "{}"
#define PARTIAL "{\"mode\": \"partial\"}"

static void test_mask_email(void **state)
{
    (void)state;
    assert_string_equal(masked(REDACT, "to: a.b+tag@mail.example.co.uk."), "to: ***.");
    assert_string_equal(masked(PARTIAL, "(ann_lee@example.com)"), "(***@example.com)");
    assert_string_equal(masked(REDACT, "user@localhost and @handle and a@b.c"), "user@localhost and @handle and a@b.c");
    assert_string_equal(masked(REDACT, "x@1.2.3.4"), "x@1.2.3.4");
}

static void test_mask_phone(void **state)
{
    (void)state;
    assert_string_equal(masked(PARTIAL, "call +1 (555) 123-4567 now"), "call +* (***) ***-4567 now");
    assert_string_equal(masked(PARTIAL, "555-123-4567"), "***-***-4567");
    assert_string_equal(masked(PARTIAL, "(555) 123-4567"), "(***) ***-4567");
    assert_string_equal(masked(PARTIAL, "555.123.4567"), "***.***.4567");
    assert_string_equal(masked(PARTIAL, "+4915112345678"), "+*********5678");
    assert_string_equal(masked(PARTIAL, "020 7946 0958"), "*** **** 0958");
    /* Not phones: dates, times, amounts, versions, ips, plain ids. */
    static const char *const keep[] = {"2024-01-15 10:30", "1234567890",     "12,345,678.90", "192.168.100.200",
                                       "v1.2.3",           "order 555-1234", "+12",           "555-123-45678"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        assert_string_equal(masked(REDACT, keep[i]), keep[i]);
}

static void test_mask_card_luhn(void **state)
{
    (void)state;
    assert_string_equal(masked(PARTIAL, "card 4111 1111 1111 1111."), "card **** **** **** 1111.");
    assert_string_equal(masked(PARTIAL, "5500-0055-5555-5559"), "****-****-****-5559");
    assert_string_equal(masked(PARTIAL, "378282246310005"), "***********0005");
    assert_string_equal(masked(REDACT, "4111 1111 1111 1112"), "4111 1111 1111 1112"); /* fails Luhn */
    assert_string_equal(masked(REDACT, "a4111111111111111"), "a4111111111111111");     /* inside a word */
    assert_string_equal(masked(REDACT, "4111 111111 111111"), "4111 111111 111111");   /* no card grouping */
    assert_string_equal(masked(REDACT, "4111-1111 1111-1111"), "4111-1111 1111-1111"); /* mixed separators */
    assert_string_equal(masked(PARTIAL, "3782 822463 10005"), "**** ****** *0005");
    json_t *out = t_ok("mask", PARTIAL, "{\"n\": 4111111111111111, \"m\": 4111111111111112}");
    T_EXPECT_JSON(out, "{\"n\": \"************1111\", \"m\": 4111111111111112, \"masked\": {\"email\": 0, "
                       "\"phone\": 0, \"credit_card\": 1, \"national_id\": 0, \"field\": 0}}");
    json_decref(out);
}

static void test_mask_national_id(void **state)
{
    (void)state;
    assert_string_equal(masked(PARTIAL, "SSN: 123-45-6789"), "SSN: ***-**-6789");
    assert_string_equal(masked(REDACT, "000-12-3456 666-12-3456 912-12-3456 123-00-4567 123-45-0000"),
                        "000-12-3456 666-12-3456 912-12-3456 123-00-4567 123-45-0000");
    assert_string_equal(masked(REDACT, "123-45-67890"), "123-45-67890");
}

static void test_mask_detect_subset_and_fields(void **state)
{
    (void)state;
    json_t *out = t_ok("mask",
                       "{\"detect\": [\"email\"], \"fields\": [\"SSN\", \"profile\", \"age\"], \"mode\": "
                       "\"partial\", \"counts_key\": \"pii\"}",
                       "{\"note\": \"a@example.com 555-123-4567\", \"user\": {\"ssn\": \"123456789\", \"age\": 41, "
                       "\"profile\": {\"x\": 1}, \"nick\": \"Zoë Smith\"}, \"keys\": {\"ssn\": null}}");
    T_EXPECT_JSON(out, "{\"note\": \"***@example.com 555-123-4567\", \"user\": {\"ssn\": \"*****6789\", \"age\": "
                       "\"***\", \"profile\": \"***\", \"nick\": \"Zoë Smith\"}, \"keys\": {\"ssn\": null}, \"pii\": "
                       "{\"email\": 1, \"phone\": 0, \"credit_card\": 0, \"national_id\": 0, \"field\": 3}}");
    json_decref(out);
    out = t_ok("mask", "{\"fields\": [\"name\"], \"mode\": \"partial\"}", "{\"name\": \"Zoë Åberg\"}");
    assert_string_equal(json_string_value(json_object_get(out, "name")), "*****berg"); /* code points, not bytes */
    json_decref(out);
}

static void test_mask_hash_with_salt(void **state)
{
    char want[65];
    (void)state;
    json_t *out = t_ok("mask", "{\"mode\": \"hash\"}", "{\"e\": \"mail ann@example.com\"}");
    node_sha256_hex("ann@example.com", 15, want);
    char expect[128];
    snprintf(expect, sizeof(expect), "mail %s", want);
    assert_string_equal(json_string_value(json_object_get(out, "e")), expect);
    json_decref(out);
    /* The salt comes from a granted secret, i.e. the child's environment. */
    setenv("MASK_SALT", "pepper", 1);
    out = t_ok("mask", "{\"mode\": \"hash\", \"salt_secret\": \"MASK_SALT\"}", "{\"e\": \"ann@example.com\"}");
    node_sha256_hex("pepperann@example.com", 21, want);
    assert_string_equal(json_string_value(json_object_get(out, "e")), want);
    json_decref(out);
    unsetenv("MASK_SALT");
    const char *msg = t_fails("mask", "{\"mode\": \"hash\", \"salt_secret\": \"MASK_SALT\"}", "{}", "InvalidInput");
    assert_non_null(strstr(msg, "not granted"));
}

static void test_mask_input_key(void **state)
{
    (void)state;
    json_t *out = t_ok("mask", "{\"input\": \"records\"}",
                       "{\"records\": [{\"e\": \"x@example.org\"}, \"fine\"], \"other\": \"y@example.org\"}");
    T_EXPECT_JSON(out, "{\"records\": [{\"e\": \"***\"}, \"fine\"], \"masked\": {\"email\": 1, \"phone\": 0, "
                       "\"credit_card\": 0, \"national_id\": 0, \"field\": 0}}");
    json_decref(out);
}

int main(void)
{
    nodes_init(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_sha256_vectors),
        cmocka_unit_test(test_node_luhn_ok),
        cmocka_unit_test(test_mask_email),
        cmocka_unit_test(test_mask_phone),
        cmocka_unit_test(test_mask_card_luhn),
        cmocka_unit_test(test_mask_national_id),
        cmocka_unit_test(test_mask_detect_subset_and_fields),
        cmocka_unit_test(test_mask_hash_with_salt),
        cmocka_unit_test(test_mask_input_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
