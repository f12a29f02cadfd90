/* kvm-probe.c: does KVM really run a guest on this host?
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The answer comes from tests/kvm-runs-guests.sh, shared with the python
 * tests, so that every suite agrees on what "KVM works here" means.
 */

#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "kvm-probe.h"

gboolean
test_kvm_openable (void)
{
  int fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    return FALSE;
  close (fd);
  return TRUE;
}

gboolean
test_kvm_runs_guests (void)
{
  static gsize answer = 0;

  if (g_once_init_enter (&answer))
    {
      const char      *root = g_getenv ("CHRONOS_SOURCE_ROOT");
      g_autofree char *script = g_build_filename (root != NULL ? root : ".", "tests", "kvm-runs-guests.sh", NULL);
      const char      *argv[] = { "/bin/sh", script, NULL };
      int              wait_status = 0;
      gboolean         runs = FALSE;

      if (test_kvm_openable () &&
          g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                        NULL, NULL, NULL, NULL, &wait_status, NULL))
        runs = g_spawn_check_wait_status (wait_status, NULL);
      g_test_message ("KVM %s guests here", runs ? "runs" : "does not run");
      g_once_init_leave (&answer, runs ? 2 : 1);
    }
  return answer == 2;
}
