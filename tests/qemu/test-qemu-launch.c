/* test-qemu-launch.c: QEMU 7.2 accepts every argv the builder produces
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Suite vm. Builds argvs like the golden ones but over real files in a
 * directory whose name has a comma, a space and "é", starts the real QEMU
 * paused (-S), checks over QMP that it came up with the block graph the
 * design asks for (read-only base), and quits it. The backup's SHA-256 must
 * not change.
 */

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "chronos-accel.h"
#include "chronos-firmware.h"
#include "chronos-qemu.h"
#include "chronos-qemu-command.h"
#include "chronos-qemu-error.h"
#include "kvm-probe.h"

static ChronosQemu     *qemu;
static ChronosFirmware *firmware;

typedef struct
{
  char *base;  /* the temporary directory */
  char *dir;   /* BASE/back up, copy é */
  char *image; /* the "backup" */
  char *overlay;
  char *hash; /* SHA-256 of the image before the test */
} Fixture;

static void
run_or_die (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);

  g_assert_no_error (error);
  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
}

static char *
sha256_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize            len = 0;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data, len);
}

static void
fixture_set_up (Fixture      *fixture,
                gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *img = chronos_qemu_get_img_path (qemu);

  fixture->base = g_dir_make_tmp ("chronos-launch-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->dir = g_build_filename (fixture->base, "back up, copy é", NULL);
  g_assert_cmpint (g_mkdir (fixture->dir, 0700), ==, 0);
  fixture->image = g_build_filename (fixture->dir, "disk, 1 \"é\".vhdx", NULL);
  fixture->overlay = g_build_filename (fixture->dir, "overlay, 1.qcow2", NULL);

  {
    /* A 4 MiB disk with a known pattern, converted to VHDX by qemu-img. */
    g_autofree char *raw = g_build_filename (fixture->base, "pattern.raw", NULL);
    g_autofree char *pattern = g_malloc (4 << 20);
    const char      *convert[] = { img, "convert", "-q", "-f", "raw", "-O", "vhdx", raw, fixture->image, NULL };
    const char      *overlay[] = { img, "create", "-q", "-f", "qcow2", "-b", fixture->image, "-F", "vhdx",
                                   fixture->overlay, NULL };

    memset (pattern, 0x5a, 4 << 20);
    g_file_set_contents (raw, pattern, 4 << 20, &error);
    g_assert_no_error (error);
    run_or_die (convert);
    run_or_die (overlay);
  }
  fixture->hash = sha256_file (fixture->image);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture      *fixture,
                   gconstpointer data)
{
  g_autofree char *after = sha256_file (fixture->image);

  /* Rule 4: the backup is unchanged after every boot. */
  g_assert_cmpstr (after, ==, fixture->hash);

  remove_tree (fixture->base);
  g_free (fixture->base);
  g_free (fixture->dir);
  g_free (fixture->image);
  g_free (fixture->overlay);
  g_free (fixture->hash);
}

/* ---- a minimal synchronous QMP client --------------------------------- */

typedef struct
{
  GSocketConnection *connection;
  GDataInputStream  *in;
  GOutputStream     *out;
} Qmp;

static JsonNode *
qmp_read (Qmp *qmp)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_utf8 (qmp->in, NULL, NULL, &error);
  g_autoptr (JsonParser) parser = json_parser_new ();

  g_assert_no_error (error);
  g_assert_nonnull (line);
  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* Sends a command and returns its "return" value, skipping events. */
static JsonNode *
qmp_execute (Qmp        *qmp,
             const char *command)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("{\"execute\": \"%s\"}\n", command);

  g_output_stream_write_all (qmp->out, text, strlen (text), NULL, NULL, &error);
  g_assert_no_error (error);

  for (;;)
    {
      g_autoptr (JsonNode) reply = qmp_read (qmp);
      JsonObject *object = json_node_get_object (reply);

      if (json_object_has_member (object, "event"))
        continue;
      if (json_object_has_member (object, "error"))
        {
          JsonObject *err = json_object_get_object_member (object, "error");

          g_error ("QMP %s failed: %s", command, json_object_get_string_member (err, "desc"));
        }
      return json_node_copy (json_object_get_member (object, "return"));
    }
}

static gboolean
qmp_connect (Qmp         *qmp,
             const char  *path,
             GSubprocess *process)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  /* QEMU creates the socket while it starts; it may also fail first. */
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) error = NULL;

      qmp->connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
      if (qmp->connection != NULL)
        break;
      if (g_subprocess_get_identifier (process) == NULL)
        return FALSE;
      g_usleep (50 * 1000);
    }
  if (qmp->connection == NULL)
    return FALSE;

  qmp->in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (qmp->connection)));
  g_data_input_stream_set_newline_type (qmp->in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  qmp->out = g_io_stream_get_output_stream (G_IO_STREAM (qmp->connection));

  {
    g_autoptr (JsonNode) greeting = qmp_read (qmp);
    g_autoptr (JsonNode) reply = NULL;

    g_assert_true (json_object_has_member (json_node_get_object (greeting), "QMP"));
    reply = qmp_execute (qmp, "qmp_capabilities");
  }
  return TRUE;
}

static void
qmp_close (Qmp *qmp)
{
  g_clear_object (&qmp->in);
  g_clear_object (&qmp->connection);
}

/* The "ro" flag of a node in query-named-block-nodes. */
static gboolean
node_read_only (JsonNode   *nodes,
                const char *name,
                gboolean   *found)
{
  JsonArray *array = json_node_get_array (nodes);

  *found = FALSE;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *node = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (node, "node-name"), name) == 0)
        {
          *found = TRUE;
          return json_object_get_boolean_member (node, "ro");
        }
    }
  return FALSE;
}

static void
assert_node (JsonNode   *nodes,
             const char *name,
             gboolean    read_only)
{
  gboolean found = FALSE;
  gboolean ro = node_read_only (nodes, name, &found);

  if (!found)
    g_error ("Block node %s is missing", name);
  g_assert_cmpint (ro, ==, read_only);
}

/* ---- the launches ----------------------------------------------------- */

typedef struct
{
  gboolean run;        /* resume the guest for a moment before quitting */
  gboolean expect_vnc; /* the VNC socket must exist */
} LaunchCheck;

/* Starts QEMU with @argv, checks the block graph, quits it cleanly. */
static void
launch_and_quit (Fixture                 *fixture,
                 const ChronosLaunchSpec *spec,
                 const LaunchCheck       *check)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = chronos_qemu_command_build (spec, &error);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autofree char *log_path = g_build_filename (fixture->dir, "qemu, log.txt", NULL);
  g_autoptr (JsonNode) nodes = NULL;
  g_autoptr (JsonNode) status = NULL;
  g_autoptr (JsonNode) quit = NULL;
  Qmp qmp = { NULL };

  g_assert_no_error (error);
  g_assert_nonnull (argv);

  {
    g_autofree char *joined = g_strjoinv ("\n  ", argv);

    g_test_message ("argv:\n  %s", joined);
  }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv, &error);
  g_assert_no_error (error);

  if (!qmp_connect (&qmp, spec->qmp_socket, process))
    {
      g_autofree char *log = NULL;

      g_subprocess_wait (process, NULL, NULL);
      g_file_get_contents (log_path, &log, NULL, NULL);
      g_error ("QEMU did not start: %s", log ? log : "(no log)");
    }

  status = qmp_execute (&qmp, "query-status");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "prelaunch");

  nodes = qmp_execute (&qmp, "query-named-block-nodes");
  if (chronos_vm_config_get_protect_backup (spec->config))
    {
      /* DESIGN.md rule 2: an explicitly read-only base under a writable
       * overlay. */
      assert_node (nodes, "base-file", TRUE);
      assert_node (nodes, "base", TRUE);
      assert_node (nodes, "overlay-file", FALSE);
      assert_node (nodes, "disk", FALSE);
    }
  else
    {
      assert_node (nodes, "base-file", FALSE);
      assert_node (nodes, "disk", FALSE);
    }

  if (check->expect_vnc)
    g_assert_true (g_file_test (spec->vnc_socket, G_FILE_TEST_EXISTS));
  if (chronos_vm_config_get_serial_path (spec->config) != NULL)
    g_assert_true (g_file_test (chronos_vm_config_get_serial_path (spec->config), G_FILE_TEST_EXISTS));

  if (check->run)
    {
      g_autoptr (JsonNode) cont = qmp_execute (&qmp, "cont");
      g_autoptr (JsonNode) running = NULL;

      g_usleep (500 * 1000);
      running = qmp_execute (&qmp, "query-status");
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (running), "status"), ==, "running");
    }

  quit = qmp_execute (&qmp, "quit");
  qmp_close (&qmp);

  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (process))
    {
      g_autofree char *log = NULL;

      g_file_get_contents (log_path, &log, NULL, NULL);
      g_error ("QEMU ended with an error: %s", log ? log : "(no log)");
    }
}

static void
spec_init (ChronosLaunchSpec *spec,
           Fixture           *fixture,
           ChronosVmConfig   *config,
           char             **qmp_out)
{
  static const ChronosAccelKind linux_accels[] = { CHRONOS_ACCEL_KIND_KVM, CHRONOS_ACCEL_KIND_TCG };
  /* QEMU's own list covers a KVM that cannot initialise, not one that
   * aborts while it sets up the vCPU (ChronosVm restarts those on TCG):
   * where KVM does not run guests, this bare launch asks for TCG. */
  gboolean kvm = test_kvm_runs_guests ();

  *qmp_out = g_build_filename (fixture->dir, "qmp, 1.sock", NULL);
  *spec = (ChronosLaunchSpec){
    .system_path = chronos_qemu_get_system_path (qemu),
    .config = config,
    .firmware = CHRONOS_FIRMWARE_MODE_BIOS,
    .accels = kvm ? linux_accels : linux_accels + 1,
    .n_accels = kvm ? G_N_ELEMENTS (linux_accels) : 1,
    .image_path = fixture->image,
    .overlay_path = fixture->overlay,
    .qmp_socket = *qmp_out,
    .vm_name = "disk, 1 \"é\".vhdx",
    .start_paused = TRUE,
  };
}

static ChronosVmConfig *
small_config (void)
{
  ChronosVmConfig *config = chronos_vm_config_new ();

  chronos_vm_config_set_memory_mib (config, 256);
  chronos_vm_config_set_cpus (config, 1);
  chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_NONE);
  return config;
}

/* BIOS, AHCI, VNC on a Unix socket, serial to a file, a drivers CD, virtio
 * network, KVM then TCG; the guest runs for a moment. */
static void
test_bios_vnc_serial_iso (Fixture      *fixture,
                          gconstpointer data)
{
  g_autoptr (ChronosVmConfig) config = small_config ();
  g_autofree char *qmp = NULL;
  g_autofree char *vnc = g_build_filename (fixture->dir, "vnc, 1.sock", NULL);
  g_autofree char *serial = g_build_filename (fixture->dir, "serial, é.log", NULL);
  g_autofree char *iso = g_build_filename (fixture->dir, "virtio, win.iso", NULL);
  g_autoptr (GError) error = NULL;
  ChronosLaunchSpec spec;
  const LaunchCheck check = { .run = TRUE, .expect_vnc = TRUE };

  g_file_set_contents (iso, "not really an ISO, but raw data is fine for a CD", -1, &error);
  g_assert_no_error (error);

  chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_VNC);
  chronos_vm_config_set_serial_path (config, serial);
  chronos_vm_config_set_drivers_iso (config, iso);
  chronos_vm_config_set_nic_model (config, CHRONOS_NIC_MODEL_VIRTIO);
  spec_init (&spec, fixture, config, &qmp);
  spec.vnc_socket = vnc;
  launch_and_quit (fixture, &spec, &check);
}

/* UEFI through pflash with a private vars copy, NVMe, no display, no
 * network, TCG. */
static void
test_uefi_nvme (Fixture      *fixture,
                gconstpointer data)
{
  static const ChronosAccelKind tcg[] = { CHRONOS_ACCEL_KIND_TCG };
  g_autoptr (ChronosVmConfig) config = small_config ();
  g_autofree char *qmp = NULL;
  g_autofree char *vars = g_build_filename (fixture->dir, "vars, 1.fd", NULL);
  g_autofree char *contents = NULL;
  gsize            len = 0;
  g_autoptr (GError) error = NULL;
  ChronosLaunchSpec spec;
  const LaunchCheck check = { .run = TRUE };

  if (firmware == NULL)
    {
      g_test_skip ("No UEFI firmware installed (ovmf)");
      return;
    }
  g_file_get_contents (chronos_firmware_get_vars_path (firmware), &contents, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (vars, contents, len, &error);
  g_assert_no_error (error);

  chronos_vm_config_set_disk_bus (config, CHRONOS_DISK_BUS_NVME);
  chronos_vm_config_set_network (config, FALSE);
  spec_init (&spec, fixture, config, &qmp);
  spec.firmware = CHRONOS_FIRMWARE_MODE_UEFI;
  spec.firmware_code = chronos_firmware_get_code_path (firmware);
  spec.firmware_vars = vars;
  spec.accels = tcg;
  spec.n_accels = 1;
  launch_and_quit (fixture, &spec, &check);
}

/* The WHPX -bios image (run here under TCG), IDE, e1000e. */
static void
test_bios_image_ide (Fixture      *fixture,
                     gconstpointer data)
{
  static const ChronosAccelKind tcg[] = { CHRONOS_ACCEL_KIND_TCG };
  g_autoptr (ChronosVmConfig) config = small_config ();
  g_autofree char *qmp = NULL;
  g_autofree char *bios = g_build_filename (fixture->dir, "ovmf, whpx é.fd", NULL);
  g_autoptr (GError) error = NULL;
  ChronosLaunchSpec spec;
  const LaunchCheck check = { .run = TRUE };

  if (firmware == NULL)
    {
      g_test_skip ("No UEFI firmware installed (ovmf)");
      return;
    }
  chronos_firmware_write_bios_image (firmware, chronos_firmware_get_vars_path (firmware), bios, &error);
  g_assert_no_error (error);

  chronos_vm_config_set_disk_bus (config, CHRONOS_DISK_BUS_IDE);
  spec_init (&spec, fixture, config, &qmp);
  spec.firmware = CHRONOS_FIRMWARE_MODE_UEFI;
  spec.whpx_bios_workaround = TRUE;
  spec.bios_image = bios;
  spec.accels = tcg;
  spec.n_accels = 1;
  launch_and_quit (fixture, &spec, &check);
}

/* Writable mode on a copy (never on the fixture's "backup"), virtio-blk. */
static void
test_writable_virtio (Fixture      *fixture,
                      gconstpointer data)
{
  g_autoptr (ChronosVmConfig) config = small_config ();
  g_autofree char *qmp = NULL;
  g_autofree char *copy = g_build_filename (fixture->dir, "writable, copy.vhdx", NULL);
  g_autofree char *contents = NULL;
  gsize            len = 0;
  g_autoptr (GError) error = NULL;
  ChronosLaunchSpec spec;
  const LaunchCheck check = { 0 };

  g_file_get_contents (fixture->image, &contents, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (copy, contents, len, &error);
  g_assert_no_error (error);

  chronos_vm_config_set_protect_backup (config, FALSE);
  chronos_vm_config_set_disk_bus (config, CHRONOS_DISK_BUS_VIRTIO);
  spec_init (&spec, fixture, config, &qmp);
  spec.image_path = copy;
  spec.overlay_path = NULL;
  launch_and_quit (fixture, &spec, &check);
}

/* AHCI plus a drivers CD on an added controller next to NVMe: the device
 * layout for the CD when the disk bus has no CD slot. */
static void
test_nvme_iso (Fixture      *fixture,
               gconstpointer data)
{
  g_autoptr (ChronosVmConfig) config = small_config ();
  g_autofree char *qmp = NULL;
  g_autofree char *iso = g_build_filename (fixture->dir, "drivers.iso", NULL);
  g_autoptr (GError) error = NULL;
  ChronosLaunchSpec spec;
  const LaunchCheck check = { 0 };

  g_file_set_contents (iso, "cd", -1, &error);
  g_assert_no_error (error);
  chronos_vm_config_set_disk_bus (config, CHRONOS_DISK_BUS_NVME);
  chronos_vm_config_set_drivers_iso (config, iso);
  spec_init (&spec, fixture, config, &qmp);
  launch_and_quit (fixture, &spec, &check);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  qemu = chronos_qemu_find (NULL, &error);
  if (qemu == NULL)
    {
      g_printerr ("Skipping: %s\n", error->message);
      return 77;
    }
  firmware = chronos_firmware_find (qemu, NULL);

  g_test_add ("/qemu-launch/bios-vnc-serial-iso", Fixture, NULL,
              fixture_set_up, test_bios_vnc_serial_iso, fixture_tear_down);
  g_test_add ("/qemu-launch/uefi-nvme", Fixture, NULL,
              fixture_set_up, test_uefi_nvme, fixture_tear_down);
  g_test_add ("/qemu-launch/bios-image-ide", Fixture, NULL,
              fixture_set_up, test_bios_image_ide, fixture_tear_down);
  g_test_add ("/qemu-launch/writable-virtio", Fixture, NULL,
              fixture_set_up, test_writable_virtio, fixture_tear_down);
  g_test_add ("/qemu-launch/nvme-iso", Fixture, NULL,
              fixture_set_up, test_nvme_iso, fixture_tear_down);

  status = g_test_run ();
  g_clear_object (&firmware);
  g_clear_object (&qemu);
  return status;
}
