/* chronos-vm.c: the command-line front end of Chronos
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chronos-vm-commands.h"

typedef struct
{
  const char *name;
  int       (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
#ifdef CHRONOS_VM_HAVE_INFO
  { "info", chronos_vm_cmd_info, N_("Show what a backup image contains and how it boots") },
  { "list", chronos_vm_cmd_list, N_("List the backup images in folders") },
#endif
#ifdef CHRONOS_VM_HAVE_BOOT
  { "boot", chronos_vm_cmd_boot, N_("Boot a backup image read-only as a virtual machine") },
#endif
#ifdef CHRONOS_VM_HAVE_VERIFY
  { "verify", chronos_vm_cmd_verify, N_("Boot a backup headless and judge whether it boots") },
#endif
#ifdef CHRONOS_VM_HAVE_CONVERT
  { "convert", chronos_vm_cmd_convert, N_("Convert a backup image to QCOW2") },
#endif
#ifdef CHRONOS_VM_HAVE_QEMU
  { "qemu", chronos_vm_cmd_qemu, N_("Show or install the QEMU that Chronos uses") },
#endif
#ifdef CHRONOS_VM_HAVE_SERVE
  { "serve", chronos_vm_cmd_serve, N_("Export a backup image read-only over NBD") },
#endif
};

static void
print_usage (FILE *stream)
{
  fprintf (stream, "%s\n\n", _("Usage: chronos-vm COMMAND [OPTION…]"));
  fprintf (stream, "%s\n", _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-9s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (stream, "\n%s\n", _("Run “chronos-vm COMMAND --help” for a command’s options."));
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("chronos-vm");

  if (argc < 2)
    {
      print_usage (stderr);
      return CHRONOS_VM_EXIT_USAGE;
    }

  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return CHRONOS_VM_EXIT_OK;
    }

  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("chronos-vm %s\n", PACKAGE_VERSION);
      return CHRONOS_VM_EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (argv[1], commands[i].name) == 0)
        return commands[i].run (argc - 1, argv + 1);
    }

  fprintf (stderr, _("chronos-vm: unknown command “%s”\n\n"), argv[1]);
  print_usage (stderr);
  return CHRONOS_VM_EXIT_USAGE;
}
