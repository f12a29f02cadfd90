/* chronos-run-dir.h: a VM's private run directory (overlay, vars, sockets)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A Unix socket path (with its NUL) must fit sockaddr_un.sun_path. */
#define CHRONOS_RUN_DIR_MAX_SOCKET_PATH 108

#define CHRONOS_TYPE_RUN_DIR (chronos_run_dir_get_type ())

G_DECLARE_FINAL_TYPE (ChronosRunDir, chronos_run_dir, CHRONOS, RUN_DIR, GObject)

/* Creates ROOT/vm-XXXXXX with mode 0700 and an "owner" file naming this
 * process (pid, start time, boot id) so that a later sweep can tell a dead
 * owner from a live one even after the pid was reused. ROOT is
 * chronos_paths_run_root(), or, when socket paths there would not fit in
 * sun_path (a long XDG_RUNTIME_DIR), a private directory in the system's
 * temporary directory. Blocking (a few small files). */
ChronosRunDir *chronos_run_dir_new (GError **error);
/* The same under an explicit root (tests). */
ChronosRunDir *chronos_run_dir_new_in (const char *root,
                                       GError    **error);

const char *chronos_run_dir_get_path (ChronosRunDir *self);
/* PATH/overlay.qcow2: the qcow2 overlay that takes the guest's writes. */
const char *chronos_run_dir_get_overlay_path (ChronosRunDir *self);
/* PATH/vars.fd: the VM's private copy of the UEFI variable store. */
const char *chronos_run_dir_get_vars_path (ChronosRunDir *self);
/* PATH/bios.fd: the WHPX workaround image (vars + code). */
const char *chronos_run_dir_get_bios_path (ChronosRunDir *self);
/* PATH/qmp.sock and PATH/vnc.sock; always shorter than
 * CHRONOS_RUN_DIR_MAX_SOCKET_PATH bytes. */
const char *chronos_run_dir_get_qmp_socket_path (ChronosRunDir *self);
const char *chronos_run_dir_get_vnc_socket_path (ChronosRunDir *self);

/* Records the QEMU process running from this directory (pid and start
 * time) so that a sweep after our own death can end it if it survived. */
gboolean chronos_run_dir_record_qemu (ChronosRunDir *self,
                                      GPid           pid,
                                      GError       **error);

/* Deletes the directory and everything in it. Idempotent; also done when
 * the object is finalized without having been removed. */
gboolean chronos_run_dir_remove (ChronosRunDir *self,
                                 GError       **error);

/* Removes the run directories whose owner process is dead, first killing a
 * QEMU recorded there that is still running (same pid, same start time,
 * its command line naming the directory). Looks in every root
 * chronos_run_dir_new() may use. Returns how many directories it removed.
 * Never fails: what cannot be removed is left for the next sweep. */
guint chronos_run_dir_sweep_stale (void);
guint chronos_run_dir_sweep_stale_in (const char *root);

/* When process @process_id started, as an opaque string that differs
 * between two processes that had the same id; NULL when no such process
 * runs. Exposed for tests. */
char *chronos_run_dir_process_start_time (guint64 process_id);

G_END_DECLS
