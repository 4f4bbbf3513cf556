/* guard.h itself: the byte after a guarded copy is unreadable (a read there kills the
 * reader with SIGSEGV), the copy is whole, and an empty input ends at the page too. */
#include "guard.h"

#include <signal.h>
#include <sys/wait.h>

/* 1 when reading p[0] in a child process dies of SIGSEGV. */
static int read_faults(const volatile uint8_t *p)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* cmocka catches it in the test process */
        uint8_t v = p[0];
        _exit(v == 0xA5 ? 2 : 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static void test_byte_after_faults(void **state)
{
    (void)state;
    static const size_t lens[] = { 0, 1, 7, 4095, 4096, 4097, 70000 };
    static uint8_t data[70000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        guard g = guard_new(data, lens[i]);
        assert_memory_equal(g.data, data, lens[i]);
        assert_true(read_faults(g.data + lens[i]));
        if (lens[i])
            assert_false(read_faults(g.data + lens[i] - 1));
        guard_free(&g);
        guard_free(&g); /* a second free is a no-op */
    }
}

static void test_guarded_slot(void **state)
{
    (void)state;
    const uint8_t *a = guarded("abc", 3);
    assert_memory_equal(a, "abc", 3);
    assert_true(read_faults(a + 3));
    const uint8_t *b = guarded("de", 2);
    assert_memory_equal(b, "de", 2);
    assert_true(read_faults(b + 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_after_faults),
        cmocka_unit_test(test_guarded_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
