/* chronos-vm-options.h: the VM options every chronos-vm command that boots shares
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

#include "chronos-vm-config.h"

G_BEGIN_DECLS

/* --memory MiB --cpus N --firmware auto|uefi|bios --accel auto|hardware|tcg
 * --display window|vnc|none --network/--no-network --nic MODEL
 * --disk-bus auto|ahci|nvme|ide|virtio --serial FILE --qemu DIR
 * --drivers ISO --writable --shutdown-timeout S
 *
 * Usage:
 *   g_autoptr(ChronosVmOptions) options = chronos_vm_options_new ();
 *   g_option_context_add_group (context, chronos_vm_options_get_group (options));
 *   ... chronos_vm_parse () ...
 *   chronos_vm_options_apply (options, config, &error);
 *
 * Values are checked while parsing (a bad one is a usage error, exit 2);
 * only the options given change the config. */
typedef struct _ChronosVmOptions ChronosVmOptions;

ChronosVmOptions *chronos_vm_options_new (void);
void              chronos_vm_options_free (ChronosVmOptions *self);
/* A new group whose entries fill @self; the context that gets it owns it.
 * @self must outlive the parse. Call once. */
GOptionGroup *chronos_vm_options_get_group (ChronosVmOptions *self);
/* Sets what was given on @config. FALSE (with a G_OPTION_ERROR) only when
 * options contradict each other. */
gboolean chronos_vm_options_apply (ChronosVmOptions *self,
                                   ChronosVmConfig  *config,
                                   GError          **error);
/* --qemu DIR, or NULL. */
const char *chronos_vm_options_get_qemu_dir (ChronosVmOptions *self);
/* Whether --display was given (callers pick their own default otherwise). */
gboolean chronos_vm_options_has_display (ChronosVmOptions *self);
/* Whether --writable was given; callers print
 * chronos_vm_options_writable_warning() before booting. */
gboolean    chronos_vm_options_get_writable (ChronosVmOptions *self);
const char *chronos_vm_options_writable_warning (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosVmOptions, chronos_vm_options_free)

G_END_DECLS
