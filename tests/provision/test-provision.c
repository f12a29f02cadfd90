/* test-provision.c: downloading, verifying, extracting and installing QEMU bundles
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Every test runs the real ChronosProvisioner against a real SoupServer on
 * 127.0.0.1 (in a thread of this process) with real archives written by
 * libarchive. A fault must end in a clear error and leave nothing behind:
 * no install, no temporary directory, and no NAME.part except where the
 * downloader documents that it keeps one to resume.
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#ifdef __linux__
#include <sys/mount.h>
#endif

#include "chronos-provisioner.h"
#include "provision-test-util.h"

#define BLOB_SIZE (4 * 1024 * 1024)

typedef struct
{
  TestServer *server;
  char       *root;
  char       *parent;
  char       *dest;
  GBytes     *blob;
} Fixture;

static void
fixture_setup (Fixture      *f,
               gconstpointer data)
{
  f->server = test_server_new ();
  f->root = g_dir_make_tmp ("chronos-provision-XXXXXX", NULL);
  g_assert_nonnull (f->root);
  f->parent = g_build_filename (f->root, "inst", NULL);
  f->dest = g_build_filename (f->parent, "qemu", NULL);
  f->blob = test_random_bytes (BLOB_SIZE);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer data)
{
  test_server_free (f->server);
  test_remove_tree (f->root);
  g_free (f->root);
  g_free (f->parent);
  g_free (f->dest);
  g_bytes_unref (f->blob);
}

/* A bundle like a real one: a top folder to strip, two programs and a
 * firmware folder with an incompressible file (so downloads take a while). */
static char *
make_bundle (Fixture    *f,
             const char *format,
             const char *version,
             char      **sha256,
             guint64    *size)
{
  g_autofree char *name = g_strdup_printf ("qemu-%s.%s", version, format);
  char            *path = g_build_filename (f->root, name, NULL);
  g_autofree char *top = g_strdup_printf ("qemu-%s", version);
  g_autofree char *d_top = g_strdup_printf ("%s/", top);
  g_autofree char *d_bin = g_strdup_printf ("%s/bin/", top);
  g_autofree char *d_share = g_strdup_printf ("%s/share/", top);
  g_autofree char *system = g_strdup_printf ("%s/bin/qemu-system-x86_64", top);
  g_autofree char *img = g_strdup_printf ("%s/bin/qemu-img", top);
  g_autofree char *fw = g_strdup_printf ("%s/share/firmware.fd", top);
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\necho QEMU emulator version %s\n", version);
  g_autoptr (GBytes) script_bytes = g_bytes_new (script, strlen (script));
  g_autoptr (GError) error = NULL;
  TestEntry entries[] = {
    { .name = d_top, .type = TEST_ENTRY_DIR },
    { .name = d_bin, .type = TEST_ENTRY_DIR },
    { .name = system, .type = TEST_ENTRY_FILE, .data = script_bytes, .mode = 0755 },
    { .name = img, .type = TEST_ENTRY_FILE, .data = script_bytes, .mode = 0755 },
    { .name = d_share, .type = TEST_ENTRY_DIR },
    { .name = fw, .type = TEST_ENTRY_FILE, .data = f->blob },
  };

  g_assert_true (test_archive_write (path, format, entries, G_N_ELEMENTS (entries), &error));
  g_assert_no_error (error);
  *sha256 = test_sha256_file (path, size);
  return path;
}

static GBytes *
read_bytes (const char *path)
{
  g_autofree char *contents = NULL;
  gsize            len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_bytes_new_take (g_steal_pointer (&contents), len);
}

/* Serves @bundle at /NAME and returns the manifest for it. */
static char *
serve_bundle (Fixture      *f,
              const char   *bundle,
              const char   *url_path,
              TestServeMode mode,
              const char   *format,
              const char   *version,
              guint64       size,
              const char   *sha256)
{
  g_autoptr (GBytes) bytes = read_bytes (bundle);
  g_autofree char *url = g_strconcat (test_server_get_base_url (f->server), url_path, NULL);

  test_server_add (f->server, url_path, bytes, mode, 0, NULL);
  return test_manifest_json (url, version, size, sha256, format, 1,
                             "bin/qemu-system-x86_64", "bin/qemu-img", "share");
}

typedef struct
{
  GMainLoop    *loop;
  GError       *error;
  gboolean      done;
  GPtrArray    *steps;
  const char   *cancel_at_step;
  gboolean      cancel_on_bytes;
  GCancellable *cancellable;
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

static void
step_cb (GObject    *object,
         GParamSpec *pspec,
         gpointer    user_data)
{
  Run        *run = user_data;
  const char *step = chronos_job_get_step (CHRONOS_JOB (object));

  g_ptr_array_add (run->steps, g_strdup (step));
  if (run->cancel_at_step != NULL && g_strcmp0 (step, run->cancel_at_step) == 0)
    g_cancellable_cancel (run->cancellable);
}

static void
bytes_cb (GObject    *object,
          GParamSpec *pspec,
          gpointer    user_data)
{
  Run *run = user_data;

  if (run->cancel_on_bytes && chronos_job_get_bytes_done (CHRONOS_JOB (object)) > 0 &&
      g_strcmp0 (chronos_job_get_step (CHRONOS_JOB (object)), "Downloading") == 0)
    g_cancellable_cancel (run->cancellable);
}

typedef struct
{
  const char         *from_file;
  guint               retries;
  guint               stall_ms;
  const char         *cancel_at_step;
  gboolean            cancel_on_bytes;
  guint64             max_bytes;
  guint               max_ratio;
  ChronosDownloader **downloader_out;
  guint               retry_delay_ms; /* 0: 10 ms */
  GSourceFunc         poll;           /* called every 5 ms while the install runs */
  gpointer            poll_data;
} InstallOptions;

/* Runs one install to the end; returns its error (NULL on success) and
 * checks that the job ended in the matching state. */
static GError *
run_install (Fixture              *f,
             const char           *manifest_json,
             const InstallOptions *options,
             GPtrArray           **steps_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosManifest) manifest = chronos_manifest_new_from_data (manifest_json, -1, &error);
  g_autoptr (ChronosProvisioner) provisioner = NULL;
  g_autoptr (ChronosProvisionPlan) plan = NULL;
  g_autoptr (ChronosJob) job = chronos_job_new ("Installing QEMU");
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  InstallOptions defaults = { 0 };
  Run            run = { 0 };

  if (options == NULL)
    options = &defaults;

  g_assert_no_error (error);
  provisioner = chronos_provisioner_new (manifest);
  chronos_provisioner_set_destination (provisioner, f->dest);
  chronos_downloader_set_retries (chronos_provisioner_get_downloader (provisioner), options->retries,
                                  options->retry_delay_ms ? options->retry_delay_ms : 10);
  chronos_downloader_set_stall_timeout_ms (chronos_provisioner_get_downloader (provisioner),
                                           options->stall_ms ? options->stall_ms : 5000);
  chronos_extractor_set_limits (chronos_provisioner_get_extractor (provisioner),
                                options->max_bytes, 0, options->max_ratio);
  if (options->downloader_out != NULL)
    *options->downloader_out = g_object_ref (chronos_provisioner_get_downloader (provisioner));

  plan = chronos_provisioner_plan (provisioner, options->from_file, &error);
  if (plan == NULL)
    return g_steal_pointer (&error);
  g_assert_cmpstr (plan->destination, ==, f->dest);

  run.loop = loop;
  run.steps = g_ptr_array_new_with_free_func (g_free);
  run.cancel_at_step = options->cancel_at_step;
  run.cancel_on_bytes = options->cancel_on_bytes;
  run.cancellable = cancellable;
  g_signal_connect (job, "notify::step", G_CALLBACK (step_cb), &run);
  g_signal_connect (job, "notify::bytes-done", G_CALLBACK (bytes_cb), &run);

  chronos_provisioner_install_async (provisioner, plan, job, cancellable, install_cb, &run);
  if (!run.done)
    {
      guint poll_id = options->poll ? g_timeout_add (5, options->poll, options->poll_data) : 0;

      g_main_loop_run (loop);
      g_clear_handle_id (&poll_id, g_source_remove);
    }
  g_signal_handlers_disconnect_by_data (job, &run);

  if (run.error == NULL)
    g_assert_cmpint (chronos_job_get_state (job), ==, CHRONOS_JOB_STATE_SUCCEEDED);
  else if (g_error_matches (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_assert_cmpint (chronos_job_get_state (job), ==, CHRONOS_JOB_STATE_CANCELLED);
  else
    {
      g_assert_cmpint (chronos_job_get_state (job), ==, CHRONOS_JOB_STATE_FAILED);
      g_assert_cmpstr (chronos_job_get_message (job), ==, run.error->message);
    }

  if (steps_out != NULL)
    *steps_out = g_steal_pointer (&run.steps);
  else
    g_ptr_array_unref (run.steps);

  return run.error;
}

/* Nothing installed, nothing left over in the destination's parent
 * (except @allowed, a comma-separated list). */
static void
assert_nothing_left (Fixture    *f,
                     const char *allowed)
{
  g_autofree char *left = test_list_dir (f->parent);

  g_assert_false (g_file_test (f->dest, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (left, ==, allowed ? allowed : "");
}

static void
assert_installed (Fixture    *f,
                  const char *version,
                  const char *sha256)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) record = chronos_provisioner_read_record (f->dest, &error);
  g_autofree char *system = g_build_filename (f->dest, "bin", "qemu-system-x86_64", NULL);
  g_autofree char *fw = g_build_filename (f->dest, "share", "firmware.fd", NULL);
  g_autofree char *fw_data = NULL;
  g_autofree char *out = NULL;
  g_autofree char *expected = g_strdup_printf ("QEMU emulator version %s\n", version);
  g_autofree char *left = NULL;
  gsize            fw_len;
  int              wait_status;

  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (record, "version"), ==, version);
  g_assert_cmpstr (json_object_get_string_member (record, "sha256"), ==, sha256);
  g_assert_nonnull (json_object_get_string_member (record, "installed"));

  /* The top folder was stripped and the executable bit kept. */
  g_assert_true (g_file_test (system, G_FILE_TEST_IS_EXECUTABLE));
  {
    const char *argv[] = { system, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, 0, NULL, NULL, &out, NULL, &wait_status, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (out, ==, expected);
  }
  g_assert_true (g_file_get_contents (fw, &fw_data, &fw_len, NULL));
  g_assert_cmpuint (fw_len, ==, BLOB_SIZE);

  /* Only the install itself is left in the parent. */
  left = test_list_dir (f->parent);
  g_assert_cmpstr (left, ==, "qemu");
}

static void
test_good_download (Fixture      *f,
                    gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "10.1.2", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/qemu-10.1.2.tar.zst", TEST_SERVE_NORMAL,
                                            "tar.zst", "10.1.2", size, sha);
  g_autoptr (GPtrArray) steps = NULL;
  GError *error = run_install (f, manifest, NULL, &steps);

  g_assert_no_error (error);
  assert_installed (f, "10.1.2", sha);
  g_assert_cmpuint (test_server_bytes_sent (f->server, "/qemu-10.1.2.tar.zst"), ==, size);

  g_assert_cmpuint (steps->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (steps, 0), ==, "Downloading");
  g_assert_cmpstr (g_ptr_array_index (steps, 1), ==, "Verifying");
  g_assert_cmpstr (g_ptr_array_index (steps, 2), ==, "Extracting");
  g_assert_cmpstr (g_ptr_array_index (steps, 3), ==, "Installing");
}

/* Every format, offline (--from FILE) with the same checks. */
static void
test_from_file_formats (Fixture      *f,
                        gconstpointer data)
{
  const char *formats[] = { "zip", "7z", "tar.zst", "tar.xz", "tar.gz" };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *sha = NULL;
      guint64          size;
      g_autofree char *version = g_strdup_printf ("9.%u.0", i);
      g_autofree char *bundle = make_bundle (f, formats[i], version, &sha, &size);
      g_autofree char *url = g_strdup_printf ("https://example.org/qemu.%s", formats[i]);
      g_autofree char *manifest = test_manifest_json (url, version, size, sha, formats[i], 1,
                                                      "bin/qemu-system-x86_64", "bin/qemu-img", "share");
      InstallOptions   options = { .from_file = bundle };
      GError          *error;

      g_test_message ("format %s", formats[i]);
      error = run_install (f, manifest, &options, NULL);
      g_assert_no_error (error);
      /* Each install replaces the previous one. */
      assert_installed (f, version, sha);
      g_assert_true (g_file_test (bundle, G_FILE_TEST_IS_REGULAR));
    }
}

static void
test_from_file_wrong (Fixture      *f,
                      gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "zip", "1.0", &sha, &size);
  g_autofree char *bad_sha = g_strnfill (64, 'a');
  g_autofree char *manifest = test_manifest_json ("https://example.org/q.zip", "1.0", size, bad_sha, "zip", 1,
                                                  "bin/qemu-system-x86_64", "bin/qemu-img", "share");
  InstallOptions   options = { .from_file = bundle };
  g_autoptr (GError) error = run_install (f, manifest, &options, NULL);

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_CHECKSUM_MISMATCH);
  g_assert_nonnull (strstr (error->message, sha));
  assert_nothing_left (f, NULL);
  /* The user's file is never deleted. */
  g_assert_true (g_file_test (bundle, G_FILE_TEST_IS_REGULAR));
}

static void
test_wrong_sha256 (Fixture      *f,
                   gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *bad = g_strdup (sha);
  g_autofree char *manifest = NULL;
  g_autoptr (GError) error = NULL;

  bad[0] = bad[0] == '0' ? '1' : '0';
  manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_NORMAL, "tar.zst", "1.0", size, bad);
  error = run_install (f, manifest, NULL, NULL);

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_CHECKSUM_MISMATCH);
  g_assert_nonnull (strstr (error->message, "SHA-256"));
  g_assert_nonnull (strstr (error->message, sha));
  assert_nothing_left (f, NULL);
}

static void
test_wrong_size (Fixture      *f,
                 gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_NORMAL, "tar.zst", "1.0", size + 1, sha);
  g_autoptr (GError) error = run_install (f, manifest, NULL, NULL);

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SIZE_MISMATCH);
  g_assert_nonnull (strstr (error->message, "the manifest says"));
  assert_nothing_left (f, NULL);
}

static void
test_truncated (Fixture      *f,
                gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_TRUNCATE_ALWAYS, "tar.zst", "1.0", size, sha);
  InstallOptions   options = { .retries = 2 };
  g_autoptr (GError) error = run_install (f, manifest, &options, NULL);
  g_autofree char *part = g_build_filename (f->parent, "q.tar.zst.part", NULL);
  GStatBuf         st;

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "closed"));
  /* Tried three times (1 + 2 retries), resuming from the part each time. */
  g_assert_cmpuint (test_server_requests (f->server, "/q.tar.zst"), ==, 3);
  g_assert_cmpuint (test_server_range_requests (f->server, "/q.tar.zst"), ==, 2);
  /* Documented: a network failure keeps the part to resume. */
  assert_nothing_left (f, "q.tar.zst.part");
  g_assert_cmpint (g_stat (part, &st), ==, 0);
  g_assert_cmpuint (st.st_size, <, size);
  g_assert_cmpuint (st.st_size, >, 0);
}

static void
test_http_status (Fixture      *f,
                  gconstpointer data)
{
  guint            status = GPOINTER_TO_UINT (data);
  g_autofree char *url = g_strdup_printf ("%s/missing.zip", test_server_get_base_url (f->server));
  g_autofree char *manifest = test_manifest_json (url, "1.0", 1000, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                                  "zip", 0, "qemu-system-x86_64.exe", "qemu-img.exe", NULL);
  g_autofree char *expected = g_strdup_printf ("The server answered %u %s for %s.", status,
                                               status == 404 ? "Not Found" : "Internal Server Error", url);
  InstallOptions   options = { .retries = 2 };
  g_autoptr (GError) error = NULL;

  test_server_add (f->server, "/missing.zip", NULL, TEST_SERVE_STATUS, status, NULL);
  error = run_install (f, manifest, &options, NULL);

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_HTTP);
  g_assert_cmpstr (error->message, ==, expected);
  /* A 404 will not change: no retry. A 500 might: retried. */
  g_assert_cmpuint (test_server_requests (f->server, "/missing.zip"), ==, status == 404 ? 1 : 3);
  assert_nothing_left (f, NULL);
}

static void
test_connection_refused (Fixture      *f,
                         gconstpointer data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/q.zip", test_free_port ());
  g_autofree char *manifest = test_manifest_json (url, "1.0", 1000, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                                  "zip", 0, "a", "b", NULL);
  InstallOptions   options = { .retries = 1 };
  g_autoptr (GError) error = run_install (f, manifest, &options, NULL);

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, "refused"));
  assert_nothing_left (f, NULL);
}

static void
test_stall (Fixture      *f,
            gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_STALL, "tar.zst", "1.0", size, sha);
  InstallOptions   options = { .retries = 1, .stall_ms = 400 };
  gint64           start = g_get_monotonic_time ();
  g_autoptr (GError) error = run_install (f, manifest, &options, NULL);
  gint64 elapsed_ms = (g_get_monotonic_time () - start) / 1000;

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_STALLED);
  g_assert_nonnull (strstr (error->message, "sent nothing for too long"));
  g_assert_cmpuint (test_server_requests (f->server, "/q.tar.zst"), ==, 2);
  /* Two stalls of 0.4 s, not libsoup's much longer backstop. */
  g_assert_cmpint (elapsed_ms, >=, 800);
  g_assert_cmpint (elapsed_ms, <, 8000);
  /* 64 KiB arrived before the stall: kept to resume (documented). */
  assert_nothing_left (f, "q.tar.zst.part");
}

static void
test_redirect_loop (Fixture      *f,
                    gconstpointer data)
{
  g_autofree char *url = g_strdup_printf ("%s/loop", test_server_get_base_url (f->server));
  g_autofree char *manifest = test_manifest_json (url, "1.0", 1000, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                                  "zip", 0, "a", "b", NULL);
  g_autoptr (GError) error = NULL;

  test_server_add (f->server, "/loop", NULL, TEST_SERVE_REDIRECT, 0, "/loop");
  error = run_install (f, manifest, NULL, NULL);

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_TOO_MANY_REDIRECTS);
  g_assert_nonnull (strstr (error->message, "redirect loop"));
  g_assert_cmpuint (test_server_requests (f->server, "/loop"), ==, CHRONOS_DOWNLOADER_MAX_REDIRECTS + 1);
  assert_nothing_left (f, NULL);
}

/* A redirect to plain HTTP on another host is refused like the first URL. */
static void
test_redirect_insecure (Fixture      *f,
                        gconstpointer data)
{
  g_autofree char *url = g_strdup_printf ("%s/away", test_server_get_base_url (f->server));
  g_autofree char *manifest = test_manifest_json (url, "1.0", 1000, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                                  "zip", 0, "a", "b", NULL);
  g_autoptr (GError) error = NULL;

  test_server_add (f->server, "/away", NULL, TEST_SERVE_REDIRECT, 0, "http://example.org/q.zip");
  error = run_install (f, manifest, NULL, NULL);

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INSECURE_URL);
  g_assert_nonnull (strstr (error->message, "http://example.org/q.zip"));
  assert_nothing_left (f, NULL);
}

/* The downloader refuses plain HTTP to another host before connecting. */
static void
download_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GError         **error = user_data;
  g_autofree char *sha = chronos_downloader_download_finish (CHRONOS_DOWNLOADER (object), result, NULL, error);

  g_assert_null (sha);
}

static void
test_insecure_url (Fixture      *f,
                   gconstpointer data)
{
  g_autoptr (ChronosDownloader) downloader = chronos_downloader_new ();
  const char      *urls[] = { "http://10.0.0.1/q.zip", NULL };
  g_autofree char *part = g_build_filename (f->root, "q.zip.part", NULL);
  GError          *error = NULL;

  chronos_downloader_download_async (downloader, urls, part, 100, NULL, NULL, download_done_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INSECURE_URL);
  g_assert_nonnull (strstr (error->message, "only over HTTPS"));
  g_assert_cmpuint (chronos_downloader_get_bytes_received (downloader), ==, 0);
  g_assert_false (g_file_test (part, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_assert_false (chronos_manifest_check_url ("http://example.org/x", NULL));
  g_assert_false (chronos_manifest_check_url ("http://128.0.0.1/x", NULL));
  g_assert_false (chronos_manifest_check_url ("ftp://localhost/x", NULL));
  g_assert_false (chronos_manifest_check_url ("file:///etc/passwd", NULL));
  g_assert_true (chronos_manifest_check_url ("http://127.1.2.3:8080/x", NULL));
  g_assert_true (chronos_manifest_check_url ("http://[::1]:8080/x", NULL));
  g_assert_true (chronos_manifest_check_url ("http://localhost/x", NULL));
  g_assert_true (chronos_manifest_check_url ("https://example.org/x", NULL));
}

/* The manifest itself is fetched with the same rules. */
static void
manifest_loaded_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  ChronosManifest **out = user_data;
  g_autoptr (GError) error = NULL;

  *out = chronos_manifest_load_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_manifest_fetch (Fixture      *f,
                     gconstpointer data)
{
  g_autofree char *json = test_manifest_json ("https://example.org/q.zip", "3.0", 42,
                                              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                              "zip", 1, "a", "b", NULL);
  g_autoptr (GBytes) bytes = g_bytes_new (json, strlen (json));
  g_autofree char *url = g_strdup_printf ("%s/manifest.json", test_server_get_base_url (f->server));
  g_autoptr (ChronosManifest) manifest = NULL;
  ChronosManifestComponent *c;

  test_server_add (f->server, "/manifest.json", bytes, TEST_SERVE_NORMAL, 0, NULL);
  chronos_manifest_load_async (url, NULL, manifest_loaded_cb, &manifest);
  while (manifest == NULL)
    g_main_context_iteration (NULL, TRUE);

  c = chronos_manifest_find_component (manifest, "qemu", "linux", "x86_64", NULL);
  g_assert_nonnull (c);
  g_assert_cmpstr (c->version, ==, "3.0");
  g_assert_cmpstr (chronos_manifest_get_source (manifest), ==, url);
}

static void
test_resume (Fixture      *f,
             gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_TRUNCATE_ONCE, "tar.zst", "1.0", size, sha);
  g_autoptr (ChronosDownloader) downloader = NULL;
  InstallOptions first = { .retries = 0 };
  InstallOptions second = { .retries = 0, .downloader_out = &downloader };
  g_autoptr (GError) error = run_install (f, manifest, &first, NULL);
  guint64 sent_first = test_server_bytes_sent (f->server, "/q.tar.zst");
  guint64 sent_second;

  /* The server dropped the connection half way: the part stays. */
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK);
  assert_nothing_left (f, "q.tar.zst.part");
  g_assert_cmpuint (sent_first, ==, size / 2);

  /* The next run hashes the part, asks for the rest with Range and ends
   * with the right SHA-256, having transferred only the second half. */
  g_clear_error (&error);
  error = run_install (f, manifest, &second, NULL);
  g_assert_no_error (error);
  sent_second = test_server_bytes_sent (f->server, "/q.tar.zst") - sent_first;
  g_assert_cmpuint (test_server_range_requests (f->server, "/q.tar.zst"), ==, 1);
  g_assert_cmpuint (sent_second, ==, size - size / 2);
  g_assert_cmpuint (chronos_downloader_get_bytes_received (downloader), ==, size - size / 2);
  g_assert_cmpuint (sent_second, <, size);
  assert_installed (f, "1.0", sha);
}

/* Within one install: the retry resumes. */
static void
test_resume_retry (Fixture      *f,
                   gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_TRUNCATE_ONCE, "tar.zst", "1.0", size, sha);
  InstallOptions   options = { .retries = 2 };
  g_autoptr (GError) error = run_install (f, manifest, &options, NULL);

  g_assert_no_error (error);
  g_assert_cmpuint (test_server_requests (f->server, "/q.tar.zst"), ==, 2);
  g_assert_cmpuint (test_server_bytes_sent (f->server, "/q.tar.zst"), ==, size);
  assert_installed (f, "1.0", sha);
}

/* A server that ignores Range: the 200 answer restarts cleanly. */
static void
test_ignore_range (Fixture      *f,
                   gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_IGNORE_RANGE, "tar.zst", "1.0", size, sha);
  g_autofree char *part = g_build_filename (f->parent, "q.tar.zst.part", NULL);
  g_autoptr (GBytes) whole = read_bytes (bundle);
  g_autoptr (GError) error = NULL;

  /* Half of the file is "already there" from an earlier run. */
  g_assert_cmpint (g_mkdir_with_parents (f->parent, 0755), ==, 0);
  g_assert_true (g_file_set_contents (part, g_bytes_get_data (whole, NULL), size / 2, NULL));

  error = run_install (f, manifest, NULL, NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (test_server_range_requests (f->server, "/q.tar.zst"), ==, 1);
  g_assert_cmpuint (test_server_bytes_sent (f->server, "/q.tar.zst"), ==, size);
  assert_installed (f, "1.0", sha);
}

/* A part that does not belong to this file: the final hash catches it. */
static void
test_bad_part (Fixture      *f,
               gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_NORMAL, "tar.zst", "1.0", size, sha);
  g_autofree char *part = g_build_filename (f->parent, "q.tar.zst.part", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (f->parent, 0755), ==, 0);
  g_assert_true (g_file_set_contents (part, "garbage", -1, NULL));
  error = run_install (f, manifest, NULL, NULL);
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_CHECKSUM_MISMATCH);
  assert_nothing_left (f, NULL);

  /* The next attempt starts from nothing and succeeds. */
  g_clear_error (&error);
  error = run_install (f, manifest, NULL, NULL);
  g_assert_no_error (error);
  assert_installed (f, "1.0", sha);
}

/* A part an earlier run left, changed since (here one byte): the resume
 * re-reads it, so the final hash is over what is on disk and catches it. */
static void
test_tampered_part (Fixture      *f,
                    gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_TRUNCATE_ONCE, "tar.zst", "1.0", size, sha);
  g_autofree char *part = g_build_filename (f->parent, "q.tar.zst.part", NULL);
  g_autofree char *contents = NULL;
  gsize            length;
  InstallOptions   once = { .retries = 0 };
  g_autoptr (GError) error = run_install (f, manifest, &once, NULL);

  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK);
  assert_nothing_left (f, "q.tar.zst.part");

  g_assert_true (g_file_get_contents (part, &contents, &length, NULL));
  g_assert_cmpuint (length, ==, size / 2);
  contents[length / 2] ^= 0x01;
  g_assert_true (g_file_set_contents (part, contents, length, NULL));

  /* Resumed with Range (only the second half travels), and refused. */
  g_clear_error (&error);
  error = run_install (f, manifest, NULL, NULL);
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_CHECKSUM_MISMATCH);
  g_assert_cmpuint (test_server_range_requests (f->server, "/q.tar.zst"), ==, 1);
  g_assert_cmpuint (test_server_bytes_sent (f->server, "/q.tar.zst"), ==, size);
  assert_nothing_left (f, NULL);

  g_clear_error (&error);
  error = run_install (f, manifest, NULL, NULL);
  g_assert_no_error (error);
  assert_installed (f, "1.0", sha);
}

typedef struct
{
  const char *part;
  guint64     size;
  gboolean    done;
} GrowPart;

/* Appends to the part once it holds @size bytes. */
static gboolean
grow_part_cb (gpointer user_data)
{
  GrowPart *grow = user_data;
  GStatBuf  st;
  FILE     *fp;

  if (grow->done || g_stat (grow->part, &st) != 0 || (guint64)st.st_size != grow->size)
    return G_SOURCE_CONTINUE;

  fp = g_fopen (grow->part, "ab");
  g_assert_nonnull (fp);
  g_assert_cmpint (fputs ("junk", fp), >=, 0);
  g_assert_cmpint (fclose (fp), ==, 0);
  grow->done = TRUE;
  return G_SOURCE_CONTINUE;
}

/* Within one run, the retry would append after bytes that were never
 * hashed; it notices that the part is no longer the size it hashed and
 * starts over, so the file that is extracted is the file that was hashed. */
static void
test_part_grew (Fixture      *f,
                gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_TRUNCATE_ONCE, "tar.zst", "1.0", size, sha);
  g_autofree char *part = g_build_filename (f->parent, "q.tar.zst.part", NULL);
  GrowPart         grow = { .part = part, .size = size / 2 };
  InstallOptions   options = { .retries = 1, .retry_delay_ms = 500, .poll = grow_part_cb, .poll_data = &grow };
  g_autoptr (GError) error = run_install (f, manifest, &options, NULL);

  g_assert_no_error (error);
  g_assert_true (grow.done);
  /* Cut short; resumed, but the part had changed; then from the start. */
  g_assert_cmpuint (test_server_requests (f->server, "/q.tar.zst"), ==, 3);
  g_assert_cmpuint (test_server_range_requests (f->server, "/q.tar.zst"), ==, 1);
  assert_installed (f, "1.0", sha);
}

static void
test_cancel_download (Fixture      *f,
                      gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_SLOW, "tar.zst", "1.0", size, sha);
  InstallOptions   options = { .cancel_on_bytes = TRUE };
  g_autoptr (GError) error = run_install (f, manifest, &options, NULL);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (test_server_bytes_sent (f->server, "/q.tar.zst"), <, size);
  assert_nothing_left (f, NULL);
}

static void
test_cancel_extract (Fixture      *f,
                     gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_NORMAL, "tar.zst", "1.0", size, sha);
  InstallOptions   options = { .cancel_at_step = "Extracting" };
  g_autoptr (GError) error = run_install (f, manifest, &options, NULL);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_nothing_left (f, NULL);
}

/* An install interrupted after extraction, before the swap, leaves the
 * previous install working; so does a bundle missing a named file. */
static void
test_interrupted_update (Fixture      *f,
                         gconstpointer data)
{
  g_autofree char *sha1 = NULL, *sha2 = NULL;
  guint64          size1, size2;
  g_autofree char *bundle1 = make_bundle (f, "zip", "1.0", &sha1, &size1);
  g_autofree char *bundle2 = make_bundle (f, "tar.xz", "2.0", &sha2, &size2);
  g_autofree char *manifest1 = serve_bundle (f, bundle1, "/q1.zip", TEST_SERVE_NORMAL, "zip", "1.0", size1, sha1);
  g_autofree char *manifest2 = serve_bundle (f, bundle2, "/q2.tar.xz", TEST_SERVE_NORMAL, "tar.xz", "2.0", size2, sha2);
  g_autofree char *url2 = g_strdup_printf ("%s/q2.tar.xz", test_server_get_base_url (f->server));
  g_autofree char *manifest_missing = test_manifest_json (url2, "2.0", size2, sha2, "tar.xz", 1,
                                                          "bin/qemu-system-x86_64", "bin/qemu-nope", "share");
  InstallOptions   cancel_at_install = { .cancel_at_step = "Installing" };
  g_autoptr (GError) error = NULL;

  error = run_install (f, manifest1, NULL, NULL);
  g_assert_no_error (error);
  assert_installed (f, "1.0", sha1);

  error = run_install (f, manifest2, &cancel_at_install, NULL);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_installed (f, "1.0", sha1);

  g_clear_error (&error);
  error = run_install (f, manifest_missing, NULL, NULL);
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_MISSING_FILES);
  g_assert_nonnull (strstr (error->message, "bin/qemu-nope"));
  assert_installed (f, "1.0", sha1);

  /* And a real update replaces it, leaving no old copy behind. */
  g_clear_error (&error);
  error = run_install (f, manifest2, NULL, NULL);
  g_assert_no_error (error);
  assert_installed (f, "2.0", sha2);
}

/* A crash between the two renames left the old install aside: the next
 * install puts it back before it swaps. */
static void
test_recover_crash (Fixture      *f,
                    gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "zip", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.zip", TEST_SERVE_NORMAL, "zip", "1.0", size, sha);
  g_autofree char *aside = g_build_filename (f->parent, ".qemu.old-12345678", NULL);
  g_autofree char *marker = g_build_filename (aside, "marker", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (aside, 0755), ==, 0);
  g_assert_true (g_file_set_contents (marker, "old", -1, NULL));

  error = run_install (f, manifest, NULL, NULL);
  g_assert_no_error (error);
  assert_installed (f, "1.0", sha);
}

typedef struct
{
  const char *what;
  const char *format;
  TestEntry   entry;
  int         code;
  const char *message;
  const char *escape; /* a path outside that must not appear */
} BadArchive;

static void
test_unsafe_archive (Fixture      *f,
                     gconstpointer data)
{
  g_autofree char *escape_abs = g_build_filename (f->root, "escaped-abs", NULL);
  g_autofree char *escape_rel = g_build_filename (f->parent, "escaped", NULL);
  const BadArchive cases[] = {
    { "dotdot zip", "zip", { .name = "qemu/../../escaped", .type = TEST_ENTRY_FILE }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "“..”", escape_rel },
    { "absolute zip", "zip", { .name = escape_abs, .type = TEST_ENTRY_FILE }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "absolute path", escape_abs },
    { "absolute tar", "tar.gz", { .name = escape_abs, .type = TEST_ENTRY_FILE }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "absolute path", escape_abs },
    { "symlink zip", "zip", { .name = "qemu/bin/link", .type = TEST_ENTRY_SYMLINK, .link = "/etc" }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "symbolic link", NULL },
    { "symlink tar", "tar.zst", { .name = "qemu/share/link", .type = TEST_ENTRY_SYMLINK, .link = "../../.." }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "symbolic link", NULL },
    { "hardlink tar", "tar.zst", { .name = "qemu/bin/hard", .type = TEST_ENTRY_HARDLINK, .link = "qemu/bin/qemu-img" }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "hard link", NULL },
    { "fifo tar", "tar.xz", { .name = "qemu/fifo", .type = TEST_ENTRY_FIFO }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "special file", NULL },
    { "device tar", "tar.xz", { .name = "qemu/null", .type = TEST_ENTRY_CHARDEV }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "special file", NULL },
    /* libarchive turns a zip's backslashes into slashes: the ".." is seen. */
    { "backslash zip", "zip", { .name = "qemu\\..\\..\\evil.txt", .type = TEST_ENTRY_FILE }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "“..”", NULL },
    /* A tar keeps them, and Windows would read them as separators. */
    { "backslash tar", "tar.gz", { .name = "qemu\\evil.txt", .type = TEST_ENTRY_FILE }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "backslash", NULL },
    { "7z dotdot", "7z", { .name = "qemu/../escaped", .type = TEST_ENTRY_FILE }, CHRONOS_PROVISION_ERROR_UNSAFE_ARCHIVE, "“..”", escape_rel },
  };
  g_autoptr (GBytes) script = g_bytes_new_static ("#!/bin/sh\n", 10);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("bad%u.%s", i, cases[i].format);
      g_autofree char *path = g_build_filename (f->root, name, NULL);
      g_autofree char *url_path = g_strdup_printf ("/%s", name);
      g_autofree char *sha = NULL;
      g_autofree char *manifest = NULL;
      g_autoptr (GError) error = NULL;
      guint64 size;
      /* The bad entry comes after good ones, so the extraction has begun. */
      TestEntry entries[] = {
        { .name = "qemu/", .type = TEST_ENTRY_DIR },
        { .name = "qemu/bin/qemu-system-x86_64", .type = TEST_ENTRY_FILE, .data = script, .mode = 0755 },
        { .name = "qemu/bin/qemu-img", .type = TEST_ENTRY_FILE, .data = script, .mode = 0755 },
        cases[i].entry,
      };

      g_test_message ("case: %s", cases[i].what);
      g_assert_true (test_archive_write (path, cases[i].format, entries, G_N_ELEMENTS (entries), &error));
      sha = test_sha256_file (path, &size);
      manifest = serve_bundle (f, path, url_path, TEST_SERVE_NORMAL, cases[i].format, "1.0", size, sha);
      error = run_install (f, manifest, NULL, NULL);

      g_test_message ("error: %s", error ? error->message : "(none)");
      g_assert_error (error, CHRONOS_PROVISION_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_assert_nonnull (strstr (error->message, "unsafe"));
      assert_nothing_left (f, NULL);
      if (cases[i].escape != NULL)
        g_assert_false (g_file_test (cases[i].escape, G_FILE_TEST_EXISTS));
    }
}

static void
test_bomb (Fixture      *f,
           gconstpointer data)
{
  g_autoptr (GBytes) script = g_bytes_new_static ("#!/bin/sh\n", 10);
  TestEntry entries[] = {
    { .name = "qemu/bin/qemu-system-x86_64", .type = TEST_ENTRY_FILE, .data = script, .mode = 0755 },
    { .name = "qemu/bin/qemu-img", .type = TEST_ENTRY_FILE, .data = script, .mode = 0755 },
    { .name = "qemu/share/zeros", .type = TEST_ENTRY_FILE, .zero_size = 64 * 1024 * 1024 },
  };
  g_autofree char *path = g_build_filename (f->root, "bomb.tar.zst", NULL);
  g_autofree char *sha = NULL;
  guint64          size;
  g_autoptr (GError) error = NULL;
  g_autofree char *manifest = NULL;

  g_assert_true (test_archive_write (path, "tar.zst", entries, G_N_ELEMENTS (entries), &error));
  sha = test_sha256_file (path, &size);
  g_assert_cmpuint (size, <, 64 * 1024);
  manifest = serve_bundle (f, path, "/bomb.tar.zst", TEST_SERVE_NORMAL, "tar.zst", "1.0", size, sha);

  /* Past the size limit (declared size and streamed bytes). */
  {
    InstallOptions options = { .max_bytes = 32 * 1024 * 1024, .max_ratio = 1000000 };
    error = run_install (f, manifest, &options, NULL);
    g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_ARCHIVE_TOO_LARGE);
    assert_nothing_left (f, NULL);
    g_clear_error (&error);
  }

  /* Within the default size limit but past the default ratio. */
  error = run_install (f, manifest, NULL, NULL);
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_ARCHIVE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "times its own size"));
  assert_nothing_left (f, NULL);

  /* Entry count. */
  {
    g_autoptr (ChronosExtractor) extractor = NULL;
    g_autofree char *many = g_build_filename (f->root, "many.zip", NULL);
    g_autofree char *many_sha = NULL;
    g_autofree char *many_manifest = NULL;
    g_autoptr (GArray) list = g_array_new (FALSE, TRUE, sizeof (TestEntry));
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    InstallOptions options = { 0 };

    for (guint i = 0; i < 200; i++)
      {
        TestEntry e = { .type = TEST_ENTRY_FILE, .data = script };
        char     *n = g_strdup_printf ("qemu/f%u", i);

        g_ptr_array_add (names, n);
        e.name = n;
        g_array_append_val (list, e);
      }
    g_clear_error (&error);
    g_assert_true (test_archive_write (many, "zip", (TestEntry *)list->data, list->len, &error));
    many_sha = test_sha256_file (many, &size);
    many_manifest = serve_bundle (f, many, "/many.zip", TEST_SERVE_NORMAL, "zip", "1.0", size, many_sha);
    (void)options;
    {
      g_autoptr (ChronosManifest) m = chronos_manifest_new_from_data (many_manifest, -1, NULL);
      g_autoptr (ChronosProvisioner) p = chronos_provisioner_new (m);
      g_autoptr (ChronosProvisionPlan) plan = NULL;
      g_autoptr (ChronosJob) job = chronos_job_new ("t");
      Run run = { .loop = g_main_loop_new (NULL, FALSE) };

      chronos_provisioner_set_destination (p, f->dest);
      chronos_extractor_set_limits (chronos_provisioner_get_extractor (p), 0, 100, 0);
      plan = chronos_provisioner_plan (p, NULL, NULL);
      chronos_provisioner_install_async (p, plan, job, NULL, install_cb, &run);
      if (!run.done)
        g_main_loop_run (run.loop);
      g_main_loop_unref (run.loop);
      g_assert_error (run.error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_ARCHIVE_TOO_LARGE);
      g_assert_nonnull (strstr (run.error->message, "more than 100 files"));
      g_clear_error (&run.error);
      assert_nothing_left (f, NULL);
    }
  }
}

static void
test_no_component (Fixture      *f,
                   gconstpointer data)
{
  g_autoptr (ChronosManifest) manifest = chronos_manifest_new_default (NULL);
  g_autoptr (ChronosProvisioner) provisioner = chronos_provisioner_new (manifest);
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosProvisionPlan) plan = chronos_provisioner_plan (provisioner, NULL, &error);
  g_autofree char *hint = chronos_provisioner_no_bundle_hint ();

  g_assert_null (plan);
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NO_COMPONENT);
  g_assert_true (g_str_has_prefix (error->message, "No QEMU bundle is published for Linux x86_64. "));
  g_assert_true (g_str_has_suffix (error->message, hint));
}

/* A small tmpfs: the download does not fit (refused before downloading),
 * or the download fits but the extraction does not. */
static void
test_disk_full (Fixture      *f,
                gconstpointer data)
{
#ifdef __linux__
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/q.tar.zst", TEST_SERVE_NORMAL, "tar.zst", "1.0", size, sha);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (f->parent, 0755), ==, 0);
  if (mount ("chronos-test", f->parent, "tmpfs", 0, "size=2m") != 0)
    {
      g_autofree char *why = g_strdup_printf ("cannot mount a tmpfs here (%s): needs root", g_strerror (errno));
      g_test_skip (why);
      return;
    }

  error = run_install (f, manifest, NULL, NULL);
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, "not enough free space"));
  g_assert_cmpuint (test_server_bytes_sent (f->server, "/q.tar.zst"), ==, 0);
  assert_nothing_left (f, NULL);
  g_clear_error (&error);

  /* 1.5 MiB of zeros compress to almost nothing; with the download on the
   * 2 MiB tmpfs, extracting the second copy runs out of space. */
  {
    g_autoptr (GBytes) script = g_bytes_new_static ("#!/bin/sh\n", 10);
    TestEntry entries[] = {
      { .name = "qemu/bin/qemu-system-x86_64", .type = TEST_ENTRY_FILE, .data = script, .mode = 0755 },
      { .name = "qemu/bin/qemu-img", .type = TEST_ENTRY_FILE, .data = script, .mode = 0755 },
      { .name = "qemu/share/a", .type = TEST_ENTRY_FILE, .zero_size = 1536 * 1024 },
      { .name = "qemu/share/b", .type = TEST_ENTRY_FILE, .zero_size = 1536 * 1024 },
    };
    g_autofree char *path = g_build_filename (f->root, "zeros.tar.zst", NULL);
    g_autofree char *zsha = NULL;
    g_autofree char *zmanifest = NULL;

    g_assert_true (test_archive_write (path, "tar.zst", entries, G_N_ELEMENTS (entries), &error));
    zsha = test_sha256_file (path, &size);
    zmanifest = serve_bundle (f, path, "/zeros.tar.zst", TEST_SERVE_NORMAL, "tar.zst", "1.0", size, zsha);
    error = run_install (f, zmanifest, NULL, NULL);
    g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NO_SPACE);
    assert_nothing_left (f, NULL);
  }

  g_assert_cmpint (umount (f->parent), ==, 0);
#else
  g_test_skip ("tmpfs is Linux only");
#endif
}

/* The first address fails for good (404): the mirror is used. */
static void
test_mirror (Fixture      *f,
             gconstpointer data)
{
  g_autofree char *sha = NULL;
  guint64          size;
  g_autofree char *bundle = make_bundle (f, "tar.zst", "1.0", &sha, &size);
  g_autofree char *manifest = serve_bundle (f, bundle, "/mirror.tar.zst", TEST_SERVE_NORMAL, "tar.zst", "1.0", size, sha);
  g_autofree char *primary = g_strdup_printf ("%s/gone.tar.zst", test_server_get_base_url (f->server));
  g_autofree char *mirror = g_strdup_printf ("%s/mirror.tar.zst", test_server_get_base_url (f->server));
  g_autofree char *mirrors = g_strdup_printf ("\"mirrors\": [\"%s\"]", mirror);
  g_autoptr (GString) edited = g_string_new (manifest);
  g_autoptr (GError) error = NULL;

  /* The served bundle becomes the mirror; the primary answers 404. */
  g_string_replace (edited, mirror, primary, 1);
  g_string_replace (edited, "\"mirrors\": []", mirrors, 1);
  test_server_add (f->server, "/gone.tar.zst", NULL, TEST_SERVE_STATUS, 404, NULL);

  error = run_install (f, edited->str, NULL, NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (test_server_requests (f->server, "/gone.tar.zst"), ==, 1);
  g_assert_cmpuint (test_server_requests (f->server, "/mirror.tar.zst"), ==, 1);
  assert_installed (f, "1.0", sha);
}

/* A certificate the system does not trust is an error, never ignored. */
static void
test_tls_error (Fixture      *f,
                gconstpointer data)
{
  g_autofree char *key = g_build_filename (f->root, "key.pem", NULL);
  g_autofree char *cert = g_build_filename (f->root, "cert.pem", NULL);
  const char      *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                              "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert, NULL };
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *manifest = NULL;
  TestServer      *https;
  int              wait_status;
  g_autofree char *openssl = g_find_program_in_path ("openssl");

  if (openssl == NULL)
    {
      g_test_skip ("openssl is missing: cannot make a certificate");
      return;
    }
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &wait_status, &error));
  g_assert_true (g_spawn_check_wait_status (wait_status, &error));
  certificate = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);

  https = test_server_new_https (certificate);
  test_server_add (https, "/q.zip", f->blob, TEST_SERVE_NORMAL, 0, NULL);
  url = g_strdup_printf ("%s/q.zip", test_server_get_base_url (https));
  g_assert_true (g_str_has_prefix (url, "https://"));
  manifest = test_manifest_json (url, "1.0", BLOB_SIZE, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                 "zip", 0, "a", "b", NULL);

  error = run_install (f, manifest, NULL, NULL);
  g_assert_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_TLS);
  g_assert_nonnull (strstr (error->message, "secure connection"));
  g_assert_cmpuint (test_server_requests (https, "/q.zip"), ==, 0);
  assert_nothing_left (f, NULL);
  test_server_free (https);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  /* The isolated XDG dirs hide the GSettings schemas that GNOME's proxy
   * resolver reads; loopback needs no proxy anyway. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(name, func, data) \
  g_test_add ("/provision/" name, Fixture, data, fixture_setup, func, fixture_teardown)

  ADD ("good-download", test_good_download, NULL);
  ADD ("from-file/formats", test_from_file_formats, NULL);
  ADD ("from-file/wrong", test_from_file_wrong, NULL);
  ADD ("fault/wrong-sha256", test_wrong_sha256, NULL);
  ADD ("fault/wrong-size", test_wrong_size, NULL);
  ADD ("fault/truncated", test_truncated, NULL);
  ADD ("fault/404", test_http_status, GUINT_TO_POINTER (404));
  ADD ("fault/500", test_http_status, GUINT_TO_POINTER (500));
  ADD ("fault/connection-refused", test_connection_refused, NULL);
  ADD ("fault/stall", test_stall, NULL);
  ADD ("fault/redirect-loop", test_redirect_loop, NULL);
  ADD ("fault/redirect-insecure", test_redirect_insecure, NULL);
  ADD ("fault/insecure-url", test_insecure_url, NULL);
  ADD ("fault/unsafe-archive", test_unsafe_archive, NULL);
  ADD ("fault/bomb", test_bomb, NULL);
  ADD ("fault/no-component", test_no_component, NULL);
  ADD ("fault/disk-full", test_disk_full, NULL);
  ADD ("fault/tls", test_tls_error, NULL);
  ADD ("mirror", test_mirror, NULL);
  ADD ("manifest-fetch", test_manifest_fetch, NULL);
  ADD ("resume/next-run", test_resume, NULL);
  ADD ("resume/retry", test_resume_retry, NULL);
  ADD ("resume/ignored-range", test_ignore_range, NULL);
  ADD ("resume/bad-part", test_bad_part, NULL);
  ADD ("resume/tampered-part", test_tampered_part, NULL);
  ADD ("resume/part-grew", test_part_grew, NULL);
  ADD ("cancel/download", test_cancel_download, NULL);
  ADD ("cancel/extract", test_cancel_extract, NULL);
  ADD ("install/interrupted-update", test_interrupted_update, NULL);
  ADD ("install/recover-crash", test_recover_crash, NULL);

  status = g_test_run ();

  /* GLib's idle GTask workers that ran GnuTLS (the TLS test) hold dynamic
   * TLS of the dlopen()ed glib-networking module; LeakSanitizer (GCC 12's)
   * misreads that DTV at exit and its tracer crashes ("Tracer caught signal
   * 11", "DTLS 9 at 0x2f0000a5d3-..."). Let them go first: a worker of a
   * shared pool gives up waiting for tasks after half a second, then the
   * unused ones are stopped. */
  g_usleep (700 * G_TIME_SPAN_MILLISECOND);
  g_thread_pool_set_max_unused_threads (0);
  g_thread_pool_stop_unused_threads ();
  g_usleep (200 * G_TIME_SPAN_MILLISECOND);
  return status;
}
