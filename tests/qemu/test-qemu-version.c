/* test-qemu-version.c: QEMU version parsing and install hints (pure)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-qemu.h"

static void
test_parse_version (void)
{
  struct
  {
    const char *text;
    gboolean    ok;
    guint       major, minor, micro;
  } cases[] = {
    { "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright ...", TRUE, 7, 2, 22 },
    { "QEMU emulator version 10.1.2 (v10.1.2-12-gdeadbeef)", TRUE, 10, 1, 2 },
    { "QEMU emulator version 6.2.0 (Debian 1:6.2+dfsg-2ubuntu6.15)", TRUE, 6, 2, 0 },
    { "QEMU emulator version 8.0", TRUE, 8, 0, 0 },
    { "qemu-img version 7.2.22 (Debian)", TRUE, 7, 2, 22 },
    { "hello", FALSE, 0, 0, 0 },
    { "", FALSE, 0, 0, 0 },
    { "QEMU emulator version x.y", FALSE, 0, 0, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint    major = 99, minor = 99, micro = 99;
      gboolean ok = chronos_qemu_parse_version (cases[i].text, &major, &minor, &micro);

      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_cmpuint (major, ==, cases[i].major);
          g_assert_cmpuint (minor, ==, cases[i].minor);
          g_assert_cmpuint (micro, ==, cases[i].micro);
        }
    }
  g_assert_false (chronos_qemu_parse_version (NULL, NULL, NULL, NULL));
}

static void
test_hints (void)
{
  struct
  {
    const char *os_release;
    const char *qemu;
    const char *firmware;
  } cases[] = {
    { "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
      "Install it with: sudo apt install qemu-system-x86 qemu-utils", "Install it with: sudo apt install ovmf" },
    { "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n",
      "Install it with: sudo apt install qemu-system-x86 qemu-utils", NULL },
    { "ID=\"linuxmint\"\nID_LIKE=\"ubuntu debian\"\n",
      "Install it with: sudo apt install qemu-system-x86 qemu-utils", NULL },
    { "NAME=\"Fedora Linux\"\nID=fedora\n",
      "Install it with: sudo dnf install qemu-system-x86 qemu-img", "Install it with: sudo dnf install edk2-ovmf" },
    { "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
      "Install it with: sudo dnf install qemu-system-x86 qemu-img", NULL },
    { "ID=arch\n", "Install it with: sudo pacman -S qemu-desktop", "Install it with: sudo pacman -S edk2-ovmf" },
    { "ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n",
      "Install it with: sudo zypper install qemu-x86 qemu-tools", "Install it with: sudo zypper install qemu-ovmf-x86_64" },
    { "ID=\"someos\"\nID_LIKE=\"arch\"\n", "Install it with: sudo pacman -S qemu-desktop", NULL },
    { "ID=nixos\n", "Install qemu-system-x86_64 and qemu-img with the package manager of your distribution.",
      "Install the OVMF (edk2) UEFI firmware package of your distribution." },
    { NULL, "Install qemu-system-x86_64 and qemu-img with the package manager of your distribution.", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *qemu = chronos_qemu_install_hint_for_os_release (CHRONOS_QEMU_COMPONENT_QEMU,
                                                                        cases[i].os_release);

      g_assert_cmpstr (qemu, ==, cases[i].qemu);
      if (cases[i].firmware != NULL)
        {
          g_autofree char *firmware = chronos_qemu_install_hint_for_os_release (CHRONOS_QEMU_COMPONENT_FIRMWARE,
                                                                                cases[i].os_release);

          g_assert_cmpstr (firmware, ==, cases[i].firmware);
        }
    }

  /* This host. */
  {
    g_autofree char *hint = chronos_qemu_install_hint (CHRONOS_QEMU_COMPONENT_QEMU);

    g_assert_nonnull (hint);
    if (g_file_test ("/etc/debian_version", G_FILE_TEST_EXISTS))
      g_assert_cmpstr (hint, ==, "Install it with: sudo apt install qemu-system-x86 qemu-utils");
  }
}

static void
test_sources (void)
{
  g_assert_cmpstr (chronos_qemu_source_to_string (CHRONOS_QEMU_SOURCE_SETTING), ==, "setting");
  g_assert_cmpstr (chronos_qemu_source_to_string (CHRONOS_QEMU_SOURCE_INSTALLED), ==, "installed");
  g_assert_cmpstr (chronos_qemu_source_to_string (CHRONOS_QEMU_SOURCE_BUNDLED), ==, "bundled");
  g_assert_cmpstr (chronos_qemu_source_to_string (CHRONOS_QEMU_SOURCE_PATH), ==, "path");
  g_assert_cmpstr (chronos_qemu_source_to_string (CHRONOS_QEMU_SOURCE_SYSTEM), ==, "system");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/qemu-version/parse", test_parse_version);
  g_test_add_func ("/qemu-version/hints", test_hints);
  g_test_add_func ("/qemu-version/sources", test_sources);

  return g_test_run ();
}
