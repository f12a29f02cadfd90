/* chronos-paths.h: where Chronos keeps its files
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *chronos_paths_cache_dir       (void);
char *chronos_paths_log_dir         (void);
char *chronos_paths_run_root        (void);
char *chronos_paths_qemu_install_dir (void);
char *chronos_paths_verify_dir      (void);
char *chronos_paths_state_dir       (void);

G_END_DECLS
