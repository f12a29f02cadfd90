/* chronos-paths.c: where Chronos keeps its files
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Everything lives under the XDG base directories so that tests can move
 * all of it with XDG_CACHE_HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR, and so
 * that on Windows GLib maps it to %LocalAppData%.
 */

#include "config.h"

#include "chronos-paths.h"

/* The cache directory: logs, verification results, run directories when no
 * runtime directory exists. Nothing here is precious. */
char *
chronos_paths_cache_dir (void)
{
#if CHRONOS_OS_WINDOWS
  /* GLib's cache dir on Windows is the Internet cache, which Disk Cleanup
   * empties: keep logs and verification results beside the QEMU install. */
  return g_build_filename (g_get_user_data_dir (), "Chronos", "cache", NULL);
#else
  return g_build_filename (g_get_user_cache_dir (), "chronos", NULL);
#endif
}

/* One QEMU log per VM, named in every error message about that VM. */
char *
chronos_paths_log_dir (void)
{
  g_autofree char *cache = chronos_paths_cache_dir ();

  return g_build_filename (cache, "logs", NULL);
}

/* VM run directories (overlay, firmware vars, QMP socket). A Unix socket
 * path must stay under 108 bytes, so prefer the short runtime directory;
 * GLib falls back to the cache directory when there is none. */
char *
chronos_paths_run_root (void)
{
#if CHRONOS_OS_WINDOWS
  g_autofree char *cache = chronos_paths_cache_dir ();

  return g_build_filename (cache, "run", NULL);
#else
  return g_build_filename (g_get_user_runtime_dir (), "chronos", NULL);
#endif
}

/* QEMU that Chronos downloaded and installed itself
 * (%LocalAppData%\Chronos\qemu on Windows). */
char *
chronos_paths_qemu_install_dir (void)
{
#if CHRONOS_OS_WINDOWS
  return g_build_filename (g_get_user_data_dir (), "Chronos", "qemu", NULL);
#else
  return g_build_filename (g_get_user_data_dir (), "chronos", "qemu", NULL);
#endif
}

/* Verification results, one JSON file and screenshot per backup. */
char *
chronos_paths_verify_dir (void)
{
  g_autofree char *cache = chronos_paths_cache_dir ();

  return g_build_filename (cache, "verify", NULL);
}

/* Small facts learnt about this host, such as "OVMF needs TCG here". */
char *
chronos_paths_state_dir (void)
{
#if CHRONOS_OS_WINDOWS
  return g_build_filename (g_get_user_data_dir (), "Chronos", "state", NULL);
#else
  return g_build_filename (g_get_user_data_dir (), "chronos", "state", NULL);
#endif
}
