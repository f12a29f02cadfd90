/* chronos-vm-commands.h: the subcommands of chronos-vm
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each command takes the arguments after its own name (argv[0] is the
 * command name) and returns the process exit status: 0 success, 1 the
 * operation failed or the image is bad, 2 usage error.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHRONOS_VM_EXIT_OK      0
#define CHRONOS_VM_EXIT_FAILED  1
#define CHRONOS_VM_EXIT_USAGE   2

int chronos_vm_cmd_info    (int argc, char **argv);
int chronos_vm_cmd_list    (int argc, char **argv);
int chronos_vm_cmd_boot    (int argc, char **argv);
int chronos_vm_cmd_verify  (int argc, char **argv);
int chronos_vm_cmd_convert (int argc, char **argv);
int chronos_vm_cmd_qemu    (int argc, char **argv);
int chronos_vm_cmd_serve   (int argc, char **argv);

G_END_DECLS
