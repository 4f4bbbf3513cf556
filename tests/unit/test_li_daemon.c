/* li_daemon: the start-up hardening (no core dumps, umask 077), a stop signal is read
 * from the descriptor (and does not kill the process), and the ready file holds exactly
 * the JSON object of li_daemon.h, readable by the daemon's user only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "li_daemon.h"

static void test_signals(void **state)
{
    (void)state;
    struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
    setrlimit(RLIMIT_CORE, &rl);   /* as a shell with `ulimit -c unlimited` would start it */
    umask(022);
    int sfd = li_daemon_signals();
    assert_true(sfd >= 0);
    /* No core dump: a dump would hold keys and intercepted content. */
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 0);
    assert_int_equal(rl.rlim_max, 0);   /* and the process cannot raise it again */
    rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
    if (geteuid() != 0)
        assert_int_not_equal(setrlimit(RLIMIT_CORE, &rl), 0);
    mode_t old = umask(077);
    assert_int_equal(old, 077);
    assert_int_equal(li_daemon_stop_requested(sfd, 0), 0);
    /* Blocked: delivered to the descriptor, not to the default action (exit). */
    assert_int_equal(kill(getpid(), SIGTERM), 0);
    assert_int_equal(li_daemon_stop_requested(sfd, 1000), 1);
    assert_int_equal(li_daemon_stop_requested(sfd, 0), 0);   /* consumed */
    /* SIGPIPE is ignored. */
    assert_int_equal(kill(getpid(), SIGPIPE), 0);
    close(sfd);
}

static void test_ready_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_li_daemon.XXXXXX", path[128], err[256], text[256], want[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ready", dir);
    li_config *cfg = li_config_new();
    const li_daemon_port ports[] = { { "x1", 4001 }, { "metrics", 0 }, { "control", 65535 } };
    /* Without the key: nothing written, no error. */
    assert_int_equal(li_daemon_ready(cfg, ports, 3, err, sizeof err), LI_OK);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(li_config_set(cfg, "daemon.ready_file", path), LI_OK);
    assert_int_equal(li_daemon_ready(cfg, ports, 3, err, sizeof err), LI_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    snprintf(want, sizeof want,
             "{\"pid\":%ld,\"ports\":{\"x1\":4001,\"metrics\":0,\"control\":65535}}\n",
             (long)getpid());
    assert_string_equal(text, want);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);   /* umask 077 of li_daemon_signals() */
    /* Unix sockets are named by path, in their own object, escaped as JSON strings. */
    const li_daemon_socket socks[] = { { "control", "/run/r \"1\"\\x.ctl" } };
    assert_int_equal(li_daemon_ready_sockets(cfg, ports, 1, socks, 1, err, sizeof err), LI_OK);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    snprintf(want, sizeof want,
             "{\"pid\":%ld,\"ports\":{\"x1\":4001},\"sockets\":{\"control\":"
             "\"/run/r \\\"1\\\"\\\\x.ctl\"}}\n", (long)getpid());
    assert_string_equal(text, want);
    /* An unwritable place is an error the daemon reports. */
    snprintf(path, sizeof path, "%s/no/such/dir/ready", dir);
    assert_int_equal(li_config_set(cfg, "daemon.ready_file", path), LI_OK);
    err[0] = 0;
    assert_int_equal(li_daemon_ready(cfg, ports, 3, err, sizeof err), LI_ERR_IO);
    assert_non_null(strstr(err, "daemon.ready_file"));
    li_config_free(cfg);
    snprintf(path, sizeof path, "%s/ready", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals),     /* first: it sets the umask */
        cmocka_unit_test(test_ready_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
