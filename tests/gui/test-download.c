/* test-download.c: the QEMU download dialog against a loopback server
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A real SoupServer on 127.0.0.1 serves a real archive; the dialog must
 * show the plan, walk through progress, show a failure with its reason,
 * retry to success, and offer the package command where nothing can be
 * downloaded for this system.
 */

#include "config.h"

#include <adwaita.h>

#include "gui-test-util.h"

#include "chronos-download-dialog.h"
#include "chronos-provision-error.h"
#include "provision-test-util.h"

#define WAIT_SECONDS 60

typedef struct
{
  char       *root;
  char       *dest;
  TestServer *server;
} Fixture;

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gpointer data);

static void
wait_until (Condition condition,
            gpointer  data)
{
  gboolean timed_out = FALSE;
  guint    id = g_timeout_add_seconds (WAIT_SECONDS, timeout_cb, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_false (timed_out);
}

static gpointer
child (GtkWidget  *dialog,
       const char *name)
{
  GObject *object = gtk_widget_get_template_child (dialog, CHRONOS_TYPE_DOWNLOAD_DIALOG, name);

  g_assert_nonnull (object);
  return object;
}

static const char *
page_of (GtkWidget *dialog)
{
  return gtk_stack_get_visible_child_name (child (dialog, "stack"));
}

static void
fixture_setup (Fixture      *f,
               gconstpointer data)
{
  f->root = g_dir_make_tmp ("chronos-download-XXXXXX", NULL);
  f->dest = g_build_filename (f->root, "qemu", NULL);
  f->server = test_server_new ();
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer data)
{
  test_server_free (f->server);
  test_remove_tree (f->root);
  g_free (f->dest);
  g_free (f->root);
}

/* A bundle like a real one: a top folder, two programs, a firmware folder
 * with 1 MiB of incompressible data so the download takes a while. */
static GBytes *
make_bundle (Fixture *f,
             char   **sha256,
             guint64 *size)
{
  g_autofree char *path = g_build_filename (f->root, "qemu-9.9.9.tar.gz", NULL);
  g_autoptr (GBytes) script = g_bytes_new_static ("#!/bin/sh\necho QEMU emulator version 9.9.9\n", 44);
  g_autoptr (GBytes) blob = test_random_bytes (1024 * 1024);
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize            length;
  TestEntry        entries[] = {
           { .name = "qemu-9.9.9/", .type = TEST_ENTRY_DIR },
           { .name = "qemu-9.9.9/bin/", .type = TEST_ENTRY_DIR },
           { .name = "qemu-9.9.9/bin/qemu-system-x86_64", .type = TEST_ENTRY_FILE, .data = script, .mode = 0755 },
           { .name = "qemu-9.9.9/bin/qemu-img", .type = TEST_ENTRY_FILE, .data = script, .mode = 0755 },
           { .name = "qemu-9.9.9/share/", .type = TEST_ENTRY_DIR },
           { .name = "qemu-9.9.9/share/firmware.fd", .type = TEST_ENTRY_FILE, .data = blob },
  };

  g_assert_true (test_archive_write (path, "tar.gz", entries, G_N_ELEMENTS (entries), &error));
  g_assert_no_error (error);
  *sha256 = test_sha256_file (path, size);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_bytes_new_take (g_steal_pointer (&contents), length);
}

static GtkWidget *
make_dialog (Fixture    *f,
             const char *manifest_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosManifest) manifest = chronos_manifest_new_from_data (manifest_json, -1, &error);
  g_autoptr (ChronosProvisioner) provisioner = NULL;
  GtkWidget *dialog;

  g_assert_no_error (error);
  provisioner = chronos_provisioner_new (manifest);
  chronos_provisioner_set_destination (provisioner, f->dest);
  /* Fail fast instead of retrying, so the failure page shows. */
  chronos_downloader_set_retries (chronos_provisioner_get_downloader (provisioner), 0, 10);
  chronos_downloader_set_stall_timeout_ms (chronos_provisioner_get_downloader (provisioner), 5000);

  dialog = chronos_download_dialog_new (NULL, provisioner);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

typedef struct
{
  GtkWidget  *dialog;
  gboolean    installed;
  double      max_fraction;
  gboolean    saw_progress_text;
  GPtrArray  *steps;
  const char *page;
} Watch;

static void
installed_cb (GtkWidget *dialog,
              Watch     *watch)
{
  watch->installed = TRUE;
}

static gboolean
page_is (gpointer data)
{
  Watch          *watch = data;
  GtkProgressBar *bar = child (watch->dialog, "progress_bar");
  const char     *label = gtk_label_get_label (child (watch->dialog, "progress_label"));
  const char     *title = adw_status_page_get_title (child (watch->dialog, "progress_page"));

  /* Sample the progress view while we wait. */
  watch->max_fraction = MAX (watch->max_fraction, gtk_progress_bar_get_fraction (bar));
  if (label != NULL && label[0] != '\0')
    watch->saw_progress_text = TRUE;
  if (title != NULL && (watch->steps->len == 0 ||
                        g_strcmp0 (g_ptr_array_index (watch->steps, watch->steps->len - 1), title) != 0))
    g_ptr_array_add (watch->steps, g_strdup (title));

  return g_strcmp0 (page_of (watch->dialog), watch->page) == 0;
}

static gboolean
installed (gpointer data)
{
  /* Once installed the dialog closes itself: look no further. */
  if (((Watch *)data)->installed)
    return TRUE;
  page_is (data);
  return FALSE;
}

static void
test_download_progress_failure_retry (Fixture      *f,
                                      gconstpointer data)
{
  g_autofree char *sha256 = NULL;
  g_autofree char *url = NULL;
  g_autofree char *manifest = NULL;
  g_autofree char *system = NULL;
  g_autoptr (GBytes) bundle = NULL;
  g_autoptr (GPtrArray) steps = g_ptr_array_new_with_free_func (g_free);
  guint64     size = 0;
  Watch       watch = { 0 };
  const char *description;

  bundle = make_bundle (f, &sha256, &size);
  /* The first request is cut off half way; the retry resumes and ends. */
  test_server_add (f->server, "/qemu-9.9.9.tar.gz", bundle, TEST_SERVE_TRUNCATE_ONCE, 0, NULL);
  url = g_strconcat (test_server_get_base_url (f->server), "/qemu-9.9.9.tar.gz", NULL);
  manifest = test_manifest_json (url, "9.9.9", size, sha256, "tar.gz", 1,
                                 "bin/qemu-system-x86_64", "bin/qemu-img", "share");

  watch.dialog = g_object_ref (make_dialog (f, manifest));
  watch.steps = steps;
  g_signal_connect (watch.dialog, "installed", G_CALLBACK (installed_cb), &watch);

  /* Before: what, how big, from where. */
  g_assert_cmpstr (page_of (watch.dialog), ==, "plan");
  description = adw_status_page_get_description (child (watch.dialog, "plan_page"));
  g_assert_nonnull (strstr (description, "9.9.9"));
  g_assert_nonnull (strstr (description, "127.0.0.1"));
  {
    g_autofree char *size_text = g_format_size (size);
    g_assert_nonnull (strstr (description, size_text));
  }

  /* During, then the failure with its reason. */
  g_signal_emit_by_name (child (watch.dialog, "download_button"), "clicked");
  g_assert_cmpstr (page_of (watch.dialog), ==, "progress");
  g_assert_nonnull (chronos_download_dialog_get_job (CHRONOS_DOWNLOAD_DIALOG (watch.dialog)));
  watch.page = "failed";
  wait_until (page_is, &watch);
  g_assert_false (watch.installed);
  description = adw_status_page_get_description (child (watch.dialog, "failed_page"));
  g_assert_nonnull (description);
  g_assert_cmpstr (description, !=, "");
  g_assert_true (gtk_widget_get_visible (child (watch.dialog, "failed_buttons")));
  g_assert_true (watch.saw_progress_text);
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));

  /* Retry: this time it goes through, and the dialog says it is done. */
  g_signal_emit_by_name (child (watch.dialog, "retry_button"), "clicked");
  wait_until (installed, &watch);
  g_assert_cmpfloat (watch.max_fraction, >, 0.0);
  g_assert_cmpuint (steps->len, >=, 2);
  system = g_build_filename (f->dest, "bin", "qemu-system-x86_64", NULL);
  g_assert_true (g_file_test (system, G_FILE_TEST_IS_EXECUTABLE));
  /* The dialog closed itself. */
  g_assert_false (gtk_widget_get_visible (watch.dialog));
  g_object_unref (watch.dialog);
}

static void
test_cancel (Fixture      *f,
             gconstpointer data)
{
  g_autofree char *sha256 = NULL;
  g_autofree char *url = NULL;
  g_autofree char *manifest = NULL;
  g_autoptr (GBytes) bundle = NULL;
  g_autoptr (GPtrArray) steps = g_ptr_array_new_with_free_func (g_free);
  guint64 size = 0;
  Watch   watch = { 0 };

  bundle = make_bundle (f, &sha256, &size);
  /* Slow enough to press Cancel in the middle. */
  test_server_add (f->server, "/slow.tar.gz", bundle, TEST_SERVE_SLOW, 0, NULL);
  url = g_strconcat (test_server_get_base_url (f->server), "/slow.tar.gz", NULL);
  manifest = test_manifest_json (url, "9.9.9", size, sha256, "tar.gz", 1,
                                 "bin/qemu-system-x86_64", "bin/qemu-img", "share");

  watch.dialog = make_dialog (f, manifest);
  watch.steps = steps;
  g_signal_connect (watch.dialog, "installed", G_CALLBACK (installed_cb), &watch);
  g_signal_emit_by_name (child (watch.dialog, "download_button"), "clicked");
  g_assert_cmpstr (page_of (watch.dialog), ==, "progress");

  /* Cancel during the download: back to the plan, nothing installed, no
   * error shown. */
  while (!watch.saw_progress_text)
    {
      g_main_context_iteration (NULL, TRUE);
      page_is (&watch);
    }
  g_signal_emit_by_name (child (watch.dialog, "cancel_button"), "clicked");
  watch.page = "plan";
  wait_until (page_is, &watch);
  g_assert_false (watch.installed);
  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
  gtk_window_destroy (GTK_WINDOW (watch.dialog));
}

static void
test_no_bundle_gives_command (Fixture      *f,
                              gconstpointer data)
{
  g_autofree char *manifest = NULL;
  g_autofree char *hint = chronos_provisioner_no_bundle_hint ();
  GtkWidget       *dialog;

  /* Published for another OS only. */
  manifest = g_strdup ("{ \"schema\": 1, \"components\": [ { \"id\": \"qemu\", \"version\": \"1.0\","
                       " \"os\": \"plan9\", \"arch\": \"x86_64\", \"url\": \"https://example.org/q.zip\","
                       " \"size\": 10, \"sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
                       " \"format\": \"zip\", \"files\": { \"system\": \"qemu-system-x86_64\", \"img\": \"qemu-img\" } } ] }");
  dialog = make_dialog (f, manifest);
  g_assert_cmpstr (page_of (dialog), ==, "hint");
  g_assert_cmpstr (gtk_label_get_label (child (dialog, "hint_label")), ==, hint);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = gui_test_isolate_home ();
  int              status;

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add ("/gui/download/progress-failure-retry", Fixture, NULL,
              fixture_setup, test_download_progress_failure_retry, fixture_teardown);
  g_test_add ("/gui/download/cancel", Fixture, NULL,
              fixture_setup, test_cancel, fixture_teardown);
  g_test_add ("/gui/download/no-bundle-gives-command", Fixture, NULL,
              fixture_setup, test_no_bundle_gives_command, fixture_teardown);

  status = g_test_run ();
  gui_test_cleanup_home (home);
  return status;
}
