/* provision-test-util.c: a loopback SoupServer with faults, and archive builders
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The server runs in its own thread with its own main context, so that
 * the code under test (in the main thread) and the server never wait on
 * each other, and so that fault modes can write raw HTTP on a stolen
 * connection with blocking calls.
 */

#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "provision-test-util.h"

typedef struct
{
  GBytes       *data;
  TestServeMode mode;
  guint         status;
  char         *location;
  guint64       bytes_sent;
  guint         requests;
  guint         range_requests;
} Route;

struct _TestServer
{
  GThread         *thread;
  GMainContext    *context;
  GMainLoop       *loop;
  SoupServer      *server;
  char            *base_url;
  GHashTable      *routes; /* path -> Route */
  GPtrArray       *held;   /* stolen connections kept open */
  GPtrArray       *slow;   /* GSources of slow writers (server thread only) */
  GMutex           lock;
  GCond            ready;
  gboolean         started;
  GTlsCertificate *certificate;
};

static void
route_free (Route *route)
{
  g_clear_pointer (&route->data, g_bytes_unref);
  g_free (route->location);
  g_free (route);
}

static void
count_sent (TestServer *server,
            Route      *route,
            gsize       n)
{
  g_mutex_lock (&server->lock);
  route->bytes_sent += n;
  g_mutex_unlock (&server->lock);
}

typedef struct
{
  TestServer *server;
  Route      *route;
  GIOStream  *stream;
  gsize       offset;
  GSource    *source;
} Slow;

/* Destroy notify of a slow writer's source: runs when the writer is done
 * and when the server stops in the middle of a slow response, so the
 * stolen connection is closed and released either way. */
static void
slow_free (gpointer user_data)
{
  Slow *slow = user_data;

  g_io_stream_close (slow->stream, NULL, NULL);
  g_object_unref (slow->stream);
  g_ptr_array_remove_fast (slow->server->slow, slow->source);
  g_free (slow);
}

static gboolean
slow_write_cb (gpointer user_data)
{
  Slow *slow = user_data;
  gsize len = g_bytes_get_size (slow->route->data);
  gsize n = MIN (64 * 1024, len - slow->offset);

  if (n == 0 || !g_output_stream_write_all (g_io_stream_get_output_stream (slow->stream),
                                            (const guint8 *)g_bytes_get_data (slow->route->data, NULL) + slow->offset,
                                            n, NULL, NULL, NULL))
    return G_SOURCE_REMOVE;
  slow->offset += n;
  count_sent (slow->server, slow->route, n);
  return G_SOURCE_CONTINUE;
}

/* Writes a response by hand on the stolen connection: the faults a real
 * server (or network) produces that SoupServer would never make. */
static void
raw_response (TestServer        *server,
              Route             *route,
              SoupServerMessage *msg)
{
  GIOStream       *stream = soup_server_message_steal_connection (msg);
  GOutputStream   *out = g_io_stream_get_output_stream (stream);
  gsize            len = g_bytes_get_size (route->data);
  const guint8    *data = g_bytes_get_data (route->data, NULL);
  g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                           "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n",
                                           len);
  gsize            part;

  g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);

  switch (route->mode)
    {
    case TEST_SERVE_SLOW:
      {
        Slow    *slow = g_new0 (Slow, 1);
        GSource *source = g_timeout_source_new (50);

        slow->server = server;
        slow->route = route;
        slow->stream = stream;
        slow->source = source;
        g_source_set_callback (source, slow_write_cb, slow, slow_free);
        g_ptr_array_add (server->slow, source);
        g_source_attach (source, server->context);
        g_source_unref (source);
        return;
      }
    case TEST_SERVE_STALL:
      part = MIN (len, 64 * 1024);
      g_output_stream_write_all (out, data, part, NULL, NULL, NULL);
      count_sent (server, route, part);
      g_mutex_lock (&server->lock);
      g_ptr_array_add (server->held, stream);
      g_mutex_unlock (&server->lock);
      return;
    case TEST_SERVE_TRUNCATE_ONCE:
    case TEST_SERVE_TRUNCATE_ALWAYS:
    case TEST_SERVE_NORMAL:
    case TEST_SERVE_IGNORE_RANGE:
    case TEST_SERVE_STATUS:
    case TEST_SERVE_REDIRECT:
    default:
      part = len / 2;
      g_output_stream_write_all (out, data, part, NULL, NULL, NULL);
      count_sent (server, route, part);
      g_io_stream_close (stream, NULL, NULL);
      g_object_unref (stream);
      return;
    }
}

static void
handler_cb (SoupServer        *soup_server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  TestServer         *server = user_data;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  SoupRange          *ranges = NULL;
  int                 n_ranges = 0;
  gboolean            has_range;
  gboolean            truncate;
  Route              *route;
  gsize               len;

  g_mutex_lock (&server->lock);
  route = g_hash_table_lookup (server->routes, path);
  if (route != NULL)
    {
      route->requests++;
      if (soup_message_headers_get_one (request, "Range") != NULL)
        route->range_requests++;
    }
  g_mutex_unlock (&server->lock);

  if (route == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }

  switch (route->mode)
    {
    case TEST_SERVE_STATUS:
      soup_server_message_set_status (msg, route->status, NULL);
      return;
    case TEST_SERVE_REDIRECT:
      soup_server_message_set_redirect (msg, SOUP_STATUS_FOUND, route->location);
      return;
    case TEST_SERVE_STALL:
    case TEST_SERVE_SLOW:
    case TEST_SERVE_TRUNCATE_ALWAYS:
      raw_response (server, route, msg);
      return;
    case TEST_SERVE_TRUNCATE_ONCE:
      g_mutex_lock (&server->lock);
      truncate = route->requests == 1;
      g_mutex_unlock (&server->lock);
      if (truncate)
        {
          raw_response (server, route, msg);
          return;
        }
      break;
    case TEST_SERVE_NORMAL:
    case TEST_SERVE_IGNORE_RANGE:
    default:
      break;
    }

  len = g_bytes_get_size (route->data);
  has_range = soup_message_headers_get_ranges (request, len, &ranges, &n_ranges);
  /* Range is answered here (or ignored on purpose), never by SoupServer. */
  soup_message_headers_remove (request, "Range");

  if (has_range && n_ranges == 1 && route->mode != TEST_SERVE_IGNORE_RANGE)
    {
      goffset start = ranges[0].start;
      goffset end = ranges[0].end;

      soup_server_message_set_status (msg, SOUP_STATUS_PARTIAL_CONTENT, NULL);
      soup_message_headers_set_content_range (response, start, end, len);
      soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                        (const char *)g_bytes_get_data (route->data, NULL) + start,
                                        end - start + 1);
      count_sent (server, route, end - start + 1);
    }
  else
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (route->data, NULL), len);
      count_sent (server, route, len);
    }

  if (ranges != NULL)
    soup_message_headers_free_ranges (request, ranges);
}

static gpointer
server_thread (gpointer user_data)
{
  TestServer *server = user_data;
  g_autoptr (GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (server->context);

  server->server = soup_server_new ("server-header", "chronos-test ",
                                    "tls-certificate", server->certificate,
                                    NULL);
  soup_server_add_handler (server->server, NULL, handler_cb, server, NULL);
  if (!soup_server_listen_local (server->server, 0,
                                 SOUP_SERVER_LISTEN_IPV4_ONLY | (server->certificate ? SOUP_SERVER_LISTEN_HTTPS : 0),
                                 &error))
    g_error ("test server: %s", error->message);

  uris = soup_server_get_uris (server->server);
  server->base_url = g_strdup_printf ("%s://127.0.0.1:%d", server->certificate ? "https" : "http",
                                      g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);

  g_mutex_lock (&server->lock);
  server->started = TRUE;
  g_cond_signal (&server->ready);
  g_mutex_unlock (&server->lock);

  g_main_loop_run (server->loop);

  /* Slow writers still running: destroying a source frees its writer
   * (slow_free removes it from the array). */
  while (server->slow->len > 0)
    g_source_destroy (g_ptr_array_index (server->slow, server->slow->len - 1));
  g_ptr_array_set_size (server->held, 0);
  soup_server_disconnect (server->server);
  g_clear_object (&server->server);
  while (g_main_context_iteration (server->context, FALSE))
    ;
  g_main_context_pop_thread_default (server->context);
  return NULL;
}

static void
close_and_unref (gpointer data)
{
  g_io_stream_close (data, NULL, NULL);
  g_object_unref (data);
}

TestServer *
test_server_new (void)
{
  return test_server_new_https (NULL);
}

TestServer *
test_server_new_https (GTlsCertificate *certificate)
{
  TestServer *server = g_new0 (TestServer, 1);

  server->certificate = certificate ? g_object_ref (certificate) : NULL;

  g_mutex_init (&server->lock);
  g_cond_init (&server->ready);
  server->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)route_free);
  server->held = g_ptr_array_new_with_free_func (close_and_unref);
  server->slow = g_ptr_array_new ();
  server->context = g_main_context_new ();
  server->loop = g_main_loop_new (server->context, FALSE);
  server->thread = g_thread_new ("test-server", server_thread, server);

  g_mutex_lock (&server->lock);
  while (!server->started)
    g_cond_wait (&server->ready, &server->lock);
  g_mutex_unlock (&server->lock);

  return server;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
test_server_free (TestServer *server)
{
  g_main_context_invoke (server->context, quit_cb, server->loop);
  g_thread_join (server->thread);
  g_main_loop_unref (server->loop);
  g_main_context_unref (server->context);
  g_hash_table_unref (server->routes);
  g_ptr_array_unref (server->held);
  g_ptr_array_unref (server->slow);
  g_clear_object (&server->certificate);
  g_free (server->base_url);
  g_mutex_clear (&server->lock);
  g_cond_clear (&server->ready);
  g_free (server);
}

const char *
test_server_get_base_url (TestServer *server)
{
  return server->base_url;
}

void
test_server_add (TestServer   *server,
                 const char   *path,
                 GBytes       *data,
                 TestServeMode mode,
                 guint         status,
                 const char   *location)
{
  Route *route = g_new0 (Route, 1);

  route->data = data ? g_bytes_ref (data) : g_bytes_new_static ("", 0);
  route->mode = mode;
  route->status = status;
  route->location = g_strdup (location);

  g_mutex_lock (&server->lock);
  g_hash_table_replace (server->routes, g_strdup (path), route);
  g_mutex_unlock (&server->lock);
}

guint64
test_server_bytes_sent (TestServer *server,
                        const char *path)
{
  Route  *route;
  guint64 n = 0;

  g_mutex_lock (&server->lock);
  route = g_hash_table_lookup (server->routes, path);
  if (route != NULL)
    n = route->bytes_sent;
  g_mutex_unlock (&server->lock);
  return n;
}

guint
test_server_requests (TestServer *server,
                      const char *path)
{
  Route *route;
  guint  n = 0;

  g_mutex_lock (&server->lock);
  route = g_hash_table_lookup (server->routes, path);
  if (route != NULL)
    n = route->requests;
  g_mutex_unlock (&server->lock);
  return n;
}

guint
test_server_range_requests (TestServer *server,
                            const char *path)
{
  Route *route;
  guint  n = 0;

  g_mutex_lock (&server->lock);
  route = g_hash_table_lookup (server->routes, path);
  if (route != NULL)
    n = route->range_requests;
  g_mutex_unlock (&server->lock);
  return n;
}

guint
test_free_port (void)
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  guint port;

  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  /* Closed without listening: connecting there is refused. */
  g_socket_close (socket, NULL);
  return port;
}

static gboolean
write_data (struct archive  *a,
            const TestEntry *e,
            GError         **error)
{
  if (e->zero_size > 0)
    {
      g_autofree guint8 *zeros = g_malloc0 (1024 * 1024);
      guint64            left = e->zero_size;

      while (left > 0)
        {
          gsize n = MIN (left, 1024 * 1024);
          if (archive_write_data (a, zeros, n) < 0)
            goto fail;
          left -= n;
        }
    }
  else if (e->source != NULL)
    {
      g_autofree char *contents = NULL;
      gsize            len;

      if (!g_file_get_contents (e->source, &contents, &len, error))
        return FALSE;
      if (archive_write_data (a, contents, len) < 0)
        goto fail;
    }
  else if (e->data != NULL && g_bytes_get_size (e->data) > 0)
    {
      if (archive_write_data (a, g_bytes_get_data (e->data, NULL), g_bytes_get_size (e->data)) < 0)
        goto fail;
    }
  return TRUE;

fail:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "archive: %s", archive_error_string (a));
  return FALSE;
}

gboolean
test_archive_write (const char      *path,
                    const char      *format,
                    const TestEntry *entries,
                    guint            n_entries,
                    GError         **error)
{
  struct archive *a = archive_write_new ();
  gboolean        ok = FALSE;

  if (strcmp (format, "zip") == 0)
    archive_write_set_format_zip (a);
  else if (strcmp (format, "7z") == 0)
    archive_write_set_format_7zip (a);
  else
    {
      archive_write_set_format_pax_restricted (a);
      if (strcmp (format, "tar.zst") == 0)
        archive_write_add_filter_zstd (a);
      else if (strcmp (format, "tar.xz") == 0)
        archive_write_add_filter_xz (a);
      else if (strcmp (format, "tar.gz") == 0)
        archive_write_add_filter_gzip (a);
      else
        g_assert_not_reached ();
    }

  if (archive_write_open_filename (a, path) != ARCHIVE_OK)
    goto fail;

  for (guint i = 0; i < n_entries; i++)
    {
      const TestEntry      *e = &entries[i];
      struct archive_entry *entry = archive_entry_new ();
      guint64               size = 0;

      archive_entry_set_pathname (entry, e->name);
      archive_entry_set_mtime (entry, 1700000000, 0);
      switch (e->type)
        {
        case TEST_ENTRY_FILE:
          if (e->zero_size > 0)
            size = e->zero_size;
          else if (e->source != NULL)
            {
              GStatBuf st;
              g_assert_cmpint (g_stat (e->source, &st), ==, 0);
              size = st.st_size;
            }
          else if (e->data != NULL)
            size = g_bytes_get_size (e->data);
          archive_entry_set_filetype (entry, AE_IFREG);
          archive_entry_set_perm (entry, e->mode ? e->mode : 0644);
          archive_entry_set_size (entry, size);
          break;
        case TEST_ENTRY_DIR:
          archive_entry_set_filetype (entry, AE_IFDIR);
          archive_entry_set_perm (entry, 0755);
          break;
        case TEST_ENTRY_SYMLINK:
          archive_entry_set_filetype (entry, AE_IFLNK);
          archive_entry_set_perm (entry, 0777);
          archive_entry_set_symlink (entry, e->link);
          break;
        case TEST_ENTRY_HARDLINK:
          archive_entry_set_filetype (entry, AE_IFREG);
          archive_entry_set_perm (entry, 0644);
          archive_entry_set_hardlink (entry, e->link);
          archive_entry_set_size (entry, 0);
          break;
        case TEST_ENTRY_FIFO:
          archive_entry_set_filetype (entry, AE_IFIFO);
          archive_entry_set_perm (entry, 0644);
          break;
        case TEST_ENTRY_CHARDEV:
          archive_entry_set_filetype (entry, AE_IFCHR);
          archive_entry_set_perm (entry, 0644);
          archive_entry_set_rdevmajor (entry, 1);
          archive_entry_set_rdevminor (entry, 3);
          break;
        default:
          g_assert_not_reached ();
        }

      if (archive_write_header (a, entry) != ARCHIVE_OK)
        {
          archive_entry_free (entry);
          goto fail;
        }
      archive_entry_free (entry);

      if (e->type == TEST_ENTRY_FILE && !write_data (a, e, error))
        {
          archive_write_free (a);
          return FALSE;
        }
    }

  if (archive_write_close (a) != ARCHIVE_OK)
    goto fail;
  ok = TRUE;

fail:
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "archive %s: %s", path, archive_error_string (a));
  archive_write_free (a);
  return ok;
}

char *
test_sha256_file (const char *path,
                  guint64    *size)
{
  g_autofree char *contents = NULL;
  gsize            len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  if (size != NULL)
    *size = len;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)contents, len);
}

GBytes *
test_random_bytes (gsize size)
{
  guint32 *data = g_malloc (size + 4);

  for (gsize i = 0; i < size / 4 + 1; i++)
    data[i] = g_random_int ();
  return g_bytes_new_take (data, size);
}

char *
test_manifest_json (const char *url,
                    const char *version,
                    guint64     size,
                    const char *sha256,
                    const char *format,
                    guint       strip,
                    const char *system,
                    const char *img,
                    const char *firmware_dir)
{
  g_autofree char *fw = firmware_dir ? g_strdup_printf (", \"firmware_dir\": \"%s\"", firmware_dir) : g_strdup ("");

  return g_strdup_printf ("{ \"schema\": 1, \"components\": [ {\n"
                          "  \"id\": \"qemu\", \"version\": \"%s\", \"os\": \"linux\", \"arch\": \"x86_64\",\n"
                          "  \"url\": \"%s\", \"mirrors\": [],\n"
                          "  \"size\": %" G_GUINT64_FORMAT ", \"sha256\": \"%s\", \"format\": \"%s\",\n"
                          "  \"strip_components\": %u,\n"
                          "  \"files\": { \"system\": \"%s\", \"img\": \"%s\"%s } } ] }\n",
                          version, url, size, sha256, format, strip, system, img, fw);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char **)a, *(char **)b);
}

char *
test_list_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return g_strdup ("");
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **)names->pdata);
}

void
test_remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_remove (path);
}
