/* test-provision-vm.c: install a bundle of this machine's QEMU, find it, boot with it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The bundle is made from /usr/bin/qemu-system-x86_64, qemu-img and the
 * SeaBIOS/OVMF firmware, in a top folder that strip_components removes,
 * served by a SoupServer on 127.0.0.1 and installed into the default
 * destination (chronos_paths_qemu_install_dir(), under the isolated XDG
 * dirs). QEMU discovery must then report it as "installed" without any
 * setting, and a tiny BIOS guest must boot with the installed emulator and
 * firmware, from a read-only base under a qcow2 overlay that the installed
 * qemu-img made. The base image is hashed before and after.
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "chronos-paths.h"
#include "chronos-provisioner.h"
#include "chronos-qemu.h"
#include "provision-test-util.h"

#define GUEST_MESSAGE "CHRONOS-PROVISION-OK"

typedef struct
{
  GMainLoop *loop;
  GError    *error;
  gboolean   done;
} Run;

static void
install_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Run *run = user_data;

  chronos_provisioner_install_finish (CHRONOS_PROVISIONER (object), result, &run->error);
  run->done = TRUE;
  g_main_loop_quit (run->loop);
}

/* A boot sector that prints GUEST_MESSAGE on COM1 and halts. */
static char *
write_guest_disk (const char *dir)
{
  static const guint8 code[] = {
    0xFA,             /* cli */
    0x31, 0xC0,       /* xor ax, ax */
    0x8E, 0xD8,       /* mov ds, ax */
    0xBE, 0x16, 0x7C, /* mov si, 0x7c16 (the message) */
    0xBA, 0xF8, 0x03, /* mov dx, 0x3f8 */
    0xAC,             /* loop: lodsb */
    0x84, 0xC0,       /* test al, al */
    0x74, 0x03,       /* jz done */
    0xEE,             /* out dx, al */
    0xEB, 0xF8,       /* jmp loop */
    0xF4,             /* done: hlt */
    0xEB, 0xFD,       /* jmp done */
  };
  g_autofree guint8 *disk = g_malloc0 (1024 * 1024);
  char              *path = g_build_filename (dir, "guest.img", NULL);

  memcpy (disk, code, sizeof code);
  memcpy (disk + sizeof code, GUEST_MESSAGE "\r\n", strlen (GUEST_MESSAGE) + 3);
  disk[510] = 0x55;
  disk[511] = 0xAA;
  g_assert_true (g_file_set_contents (path, (char *)disk, 1024 * 1024, NULL));
  return path;
}

static void
test_install_and_boot (void)
{
  const char *sources[][2] = {
    { "/usr/bin/qemu-system-x86_64", "bin/qemu-system-x86_64" },
    { "/usr/bin/qemu-img", "bin/qemu-img" },
    { "/usr/share/seabios/bios-256k.bin", "share/qemu/bios-256k.bin" },
    { "/usr/share/seabios/vgabios-stdvga.bin", "share/qemu/vgabios-stdvga.bin" },
    { "/usr/share/qemu/kvmvapic.bin", "share/qemu/kvmvapic.bin" },
    { "/usr/share/qemu/linuxboot_dma.bin", "share/qemu/linuxboot_dma.bin" },
    { "/usr/share/OVMF/OVMF_CODE_4M.fd", "share/qemu/OVMF_CODE_4M.fd" },
    { "/usr/share/OVMF/OVMF_VARS_4M.fd", "share/qemu/OVMF_VARS_4M.fd" },
  };
  g_autofree char *root = g_dir_make_tmp ("chronos-provision-vm-XXXXXX", NULL);
  g_autofree char *bundle = g_build_filename (root, "qemu-bundle.tar.zst", NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) entries = g_array_new (FALSE, TRUE, sizeof (TestEntry));
  g_autoptr (GError) error = NULL;
  g_autofree char *sha = NULL;
  g_autofree char *manifest_json = NULL;
  g_autofree char *url = NULL;
  g_autofree char *install_dir = chronos_paths_qemu_install_dir ();
  g_autofree char *system_version = NULL;
  g_autoptr (GBytes) bundle_bytes = NULL;
  g_autoptr (ChronosManifest) manifest = NULL;
  g_autoptr (ChronosProvisioner) provisioner = NULL;
  g_autoptr (ChronosProvisionPlan) plan = NULL;
  g_autoptr (ChronosJob) job = chronos_job_new ("Installing QEMU");
  g_autoptr (ChronosQemu) qemu = NULL;
  TestServer *server;
  Run         run = { 0 };
  guint64     size;

  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      TestEntry e = { .type = TEST_ENTRY_FILE, .mode = g_str_has_prefix (sources[i][1], "bin/") ? 0755 : 0644 };
      char     *name = g_strdup_printf ("qemu-7-bundle/%s", sources[i][1]);

      if (!g_file_test (sources[i][0], G_FILE_TEST_EXISTS))
        {
          g_autofree char *why = g_strdup_printf ("%s is missing (install qemu-system-x86 qemu-utils seabios ovmf)", sources[i][0]);
          g_test_skip (why);
          test_remove_tree (root);
          return;
        }
      e.name = name;
      e.source = sources[i][0];
      g_ptr_array_add (names, name);
      g_array_append_val (entries, e);
    }

  /* Debian's QEMU loads TCG (and the UIs) as modules, from
   * BIN/../lib/x86_64-linux-gnu/qemu once relocated: a real Linux bundle
   * carries them too. */
  {
    const char *moddir = "/usr/lib/x86_64-linux-gnu/qemu";
    g_autoptr (GDir) dir = g_dir_open (moddir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        TestEntry e = { .type = TEST_ENTRY_FILE, .mode = 0644 };
        char     *source = g_build_filename (moddir, name, NULL);
        char     *entry = g_strdup_printf ("qemu-7-bundle/lib/x86_64-linux-gnu/qemu/%s", name);

        g_ptr_array_add (names, source);
        g_ptr_array_add (names, entry);
        e.name = entry;
        e.source = source;
        g_array_append_val (entries, e);
      }
  }

  g_assert_true (test_archive_write (bundle, "tar.zst", (TestEntry *)entries->data, entries->len, &error));
  g_assert_no_error (error);
  sha = test_sha256_file (bundle, &size);
  g_test_message ("bundle: %" G_GUINT64_FORMAT " bytes, sha256 %s", size, sha);

  {
    const char      *argv[] = { "/usr/bin/qemu-system-x86_64", "-version", NULL };
    g_autofree char *out = NULL;
    guint            major, minor, micro;

    g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, 0, NULL, NULL, &out, NULL, NULL, &error));
    g_assert_true (chronos_qemu_parse_version (out, &major, &minor, &micro));
    system_version = g_strdup_printf ("%u.%u.%u", major, minor, micro);
  }

  server = test_server_new ();
  {
    /* The bytes hold their own reference to the mapping. */
    g_autoptr (GMappedFile) mapped = g_mapped_file_new (bundle, FALSE, &error);

    g_assert_no_error (error);
    bundle_bytes = g_mapped_file_get_bytes (mapped);
  }
  test_server_add (server, "/qemu-bundle.tar.zst", bundle_bytes, TEST_SERVE_NORMAL, 0, NULL);
  url = g_strdup_printf ("%s/qemu-bundle.tar.zst", test_server_get_base_url (server));
  manifest_json = test_manifest_json (url, system_version, size, sha, "tar.zst", 1,
                                      "bin/qemu-system-x86_64", "bin/qemu-img", "share/qemu");

  manifest = chronos_manifest_new_from_data (manifest_json, -1, &error);
  g_assert_no_error (error);
  provisioner = chronos_provisioner_new (manifest);
  /* No destination set: the default, where discovery looks. */
  plan = chronos_provisioner_plan (provisioner, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (plan->destination, ==, install_dir);

  run.loop = g_main_loop_new (NULL, FALSE);
  chronos_provisioner_install_async (provisioner, plan, job, NULL, install_cb, &run);
  if (!run.done)
    g_main_loop_run (run.loop);
  g_main_loop_unref (run.loop);
  g_assert_no_error (run.error);
  test_server_free (server);

  /* Discovery finds it first, as "installed", with no setting. */
  qemu = chronos_qemu_find (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_qemu_get_source (qemu), ==, CHRONOS_QEMU_SOURCE_INSTALLED);
  g_assert_true (g_str_has_prefix (chronos_qemu_get_system_path (qemu), install_dir));
  g_assert_true (g_str_has_prefix (chronos_qemu_get_img_path (qemu), install_dir));
  g_assert_cmpstr (chronos_qemu_get_version_string (qemu), ==, system_version);

  /* Boot a guest with the installed emulator, firmware and qemu-img. */
  {
    g_autofree char *base = write_guest_disk (root);
    g_autofree char *overlay = g_build_filename (root, "overlay.qcow2", NULL);
    g_autofree char *serial = g_build_filename (root, "serial.log", NULL);
    g_autofree char *serial_arg = g_strdup_printf ("file:%s", serial);
    g_autofree char *share = g_build_filename (install_dir, "share", "qemu", NULL);
    g_autofree char *bios = g_build_filename (share, "bios-256k.bin", NULL);
    g_autofree char *base_node = g_strdup_printf ("driver=file,node-name=base-file,filename=%s,read-only=on", base);
    g_autofree char *overlay_node = g_strdup_printf ("driver=file,node-name=overlay-file,filename=%s", overlay);
    g_autofree char *hash_before = test_sha256_file (base, NULL);
    g_autofree char *hash_after = NULL;
    g_autoptr (GSubprocess) vm = NULL;
    gboolean booted = FALSE;
    gint64   deadline;

    {
      const char *argv[] = { chronos_qemu_get_img_path (qemu), "create", "-q", "-f", "qcow2",
                             "-b", base, "-F", "raw", overlay, NULL };
      int         wait_status;

      g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, 0, NULL, NULL, NULL, NULL, &wait_status, &error));
      g_assert_true (g_spawn_check_wait_status (wait_status, &error));
    }

    vm = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                           chronos_qemu_get_system_path (qemu),
                           "-machine", "q35", "-accel", "tcg", "-m", "64", "-nodefaults",
                           "-display", "none", "-L", share, "-bios", bios,
                           "-serial", serial_arg,
                           "-blockdev", base_node,
                           "-blockdev", "driver=raw,node-name=base,file=base-file,read-only=on",
                           "-blockdev", overlay_node,
                           "-blockdev", "driver=qcow2,node-name=disk,file=overlay-file,backing=base",
                           "-device", "ide-hd,drive=disk,bus=ide.0",
                           NULL);
    g_assert_no_error (error);

    deadline = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;
    while (!booted && g_get_monotonic_time () < deadline)
      {
        g_autofree char *log = NULL;

        g_usleep (100 * 1000);
        while (g_main_context_iteration (NULL, FALSE))
          ;
        if (g_subprocess_get_identifier (vm) == NULL)
          break; /* QEMU exited: its stderr says why */
        if (g_file_get_contents (serial, &log, NULL, NULL) && strstr (log, GUEST_MESSAGE) != NULL)
          booted = TRUE;
      }
    g_subprocess_force_exit (vm);
    g_subprocess_wait (vm, NULL, NULL);
    g_assert_true (booted);

    hash_after = test_sha256_file (base, NULL);
    g_assert_cmpstr (hash_before, ==, hash_after);
  }

  test_remove_tree (root);
}

int
main (int   argc,
      char *argv[])
{
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/provision-vm/install-find-boot", test_install_and_boot);

  return g_test_run ();
}
