/* chronos-window-private.h: what the window's files share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The window is one type in several files, as gnome-text-editor splits
 * editor-window: chronos-window.c (browser, actions, jobs) and
 * chronos-window-vms.c (running VMs), built in when the VM engine is.
 */

#pragma once

#include "chronos-backup-details.h"
#include "chronos-job.h"
#include "chronos-vm-config.h"
#include "chronos-window.h"

G_BEGIN_DECLS

struct _ChronosWindow
{
  AdwApplicationWindow parent_instance;

  ChronosApplication   *application;
  ChronosBackupLibrary *library;
  GtkFilterListModel   *filter_model;
  GtkSortListModel     *sort_model;
  GtkStringFilter      *filter;
  ChronosBackup        *selected;
  GFile                *pending_file;     /* select when it shows up */
  GFile                *pending_folder;   /* select its newest backup once listed */
  ChronosBackup        *selected_at_open; /* what was selected when it was opened */
  GCancellable         *cancellable;
  GHashTable           *jobs;          /* ChronosBackup -> GPtrArray of ChronosJob */
  GPtrArray            *activity_rows; /* rows shown in the details' activity group */
  GPtrArray            *vm_rows;       /* rows shown in the details' VM group */
  GtkWidget            *vm_buttons;    /* Shut Down / Force Stop, in the VM group's header */
  AdwActionRow         *vm_status_row; /* "Running for 1:23" */
  guint                 vm_tick_id;
  gboolean              closing;        /* close once the last VM has ended */
  GtkPicture           *verify_picture; /* live screen of a verification shown */

  GtkListBox           *backup_list;
  GtkButton            *back_button;
  AdwWindowTitle       *content_title;
  GtkStack             *content_stack;
  GtkButton            *demo_button;
  ChronosBackupDetails *details;
  AdwLeaflet           *leaflet;
  GtkSpinner           *loading_spinner;
  GtkSearchBar         *search_bar;
  GtkSearchEntry       *search_entry;
  GtkStack             *sidebar_stack;
  AdwToastOverlay      *toast_overlay;
};

void _chronos_window_actions_update (ChronosWindow *self);
void _chronos_window_show_error (ChronosWindow *self,
                                 const char    *heading,
                                 const char    *message,
                                 const char    *log_path);
/* Long operations shown in the details of their backup. */
void _chronos_window_add_job (ChronosWindow *self,
                              ChronosBackup *backup,
                              ChronosJob    *job);
void _chronos_window_remove_job (ChronosWindow *self,
                                 ChronosBackup *backup,
                                 ChronosJob    *job);

/* chronos-window-verify.c */
void _chronos_window_verify (ChronosWindow *self,
                             ChronosBackup *backup);
/* The latest screen of a verification job, or NULL. */
GdkTexture *_chronos_window_job_frame (ChronosJob *job);

#ifdef CHRONOS_HAVE_VM
/* chronos-window-vms.c */
void _chronos_window_vms_class_init (GtkWidgetClass *widget_class);
void _chronos_window_vms_actions_update (ChronosWindow *self);
void _chronos_window_vms_init (ChronosWindow *self);
void _chronos_window_vms_dispose (ChronosWindow *self);
/* "Boot as VM": QEMU (or its download), the settings dialog, the start. */
void _chronos_window_boot (ChronosWindow *self,
                           ChronosBackup *backup);
/* Shows the selected backup's VM, if one runs, in the details. */
void _chronos_window_update_vm (ChronosWindow *self);
/* TRUE when a VM of @backup runs (or starts, or stops). */
gboolean _chronos_window_has_vm (ChronosWindow *self,
                                 ChronosBackup *backup);
/* TRUE when closing must wait: VMs run and the person was asked. */
gboolean _chronos_window_vms_close_request (ChronosWindow *self);
#endif

G_END_DECLS
