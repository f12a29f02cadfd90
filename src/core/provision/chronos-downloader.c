/* chronos-downloader.c: resumable HTTPS download with a streaming SHA-256
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libsoup 3.2 has no "got-body-data" signal, so the body stream is read in
 * a loop on the main thread, into one of a few 256 KiB blocks. A writer
 * thread appends each block to NAME.part and then adds it to the SHA-256,
 * in order, while the next blocks come in (hashing is most of the CPU time
 * of a download); the job learns the byte count as blocks come back. The
 * hash covers exactly the bytes written, so it is the verification: the
 * file is not read again. Nothing blocks the main thread except opening
 * and closing local files.
 *
 * What happens to NAME.part:
 *  - a network failure (refused, reset, closed early, stalled, 5xx) keeps
 *    it, so the next attempt (a retry, a mirror, or the next run) resumes
 *    with a Range request. An existing part is hashed first, so the final
 *    SHA-256 always covers the whole file; a retry in the same run appends
 *    only while the part's size is still the count of bytes hashed;
 *  - a 200 answer to a Range request means the server ignored the range:
 *    the part is truncated and the download starts over;
 *  - cancellation, a local write error (disk full) or an answer that can
 *    never become the right file (404, wrong size) deletes it.
 *
 * Redirects are followed here rather than by libsoup so that each new
 * address is checked against the same rules as the first (HTTPS, or plain
 * HTTP only to this computer), and a loop becomes a clear error.
 *
 * libsoup keeps at most two connections per host: every body stream is
 * closed on every path, or the third request to a host would hang.
 */

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "chronos-context.h"
#include "chronos-downloader.h"
#include "chronos-manifest.h"
#include "chronos-sha256.h"

#define BLOCK_SIZE (256 * 1024)
/* Blocks between the socket and the disk: while the writer thread writes
 * and hashes some, the main thread receives into the others. */
#define N_BLOCKS 4
#define DEFAULT_STALL_TIMEOUT_MS (30 * 1000)
#define DEFAULT_RETRIES 3
#define DEFAULT_FIRST_DELAY_MS 1000
#define MAX_RETRY_DELAY_MS (30 * 1000)

struct _ChronosDownloader
{
  GObject parent_instance;

  SoupSession *session;
  guint        stall_timeout_ms;
  guint        retries;
  guint        first_delay_ms;
  guint64      bytes_received;
};

G_DEFINE_FINAL_TYPE (ChronosDownloader, chronos_downloader, G_TYPE_OBJECT)

static void
chronos_downloader_finalize (GObject *object)
{
  ChronosDownloader *self = (ChronosDownloader *)object;

  g_clear_object (&self->session);

  G_OBJECT_CLASS (chronos_downloader_parent_class)->finalize (object);
}

static void
chronos_downloader_class_init (ChronosDownloaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_downloader_finalize;
}

static void
update_session_timeout (ChronosDownloader *self)
{
  /* libsoup's own I/O timeout is a backstop behind our stall timer,
   * which also covers a server that accepts but never answers. */
  g_object_set (self->session, "timeout", self->stall_timeout_ms / 1000 * 2 + 5, NULL);
}

static void
chronos_downloader_init (ChronosDownloader *self)
{
  g_autofree char *user_agent = g_strdup_printf ("Chronos/%s ", PACKAGE_VERSION);

  self->stall_timeout_ms = DEFAULT_STALL_TIMEOUT_MS;
  self->retries = DEFAULT_RETRIES;
  self->first_delay_ms = DEFAULT_FIRST_DELAY_MS;
  self->session = soup_session_new_with_options ("idle-timeout", 60,
                                                 "user-agent", user_agent,
                                                 NULL);
  /* The checksum is over the bytes as published: no transparent gzip. */
  soup_session_remove_feature_by_type (self->session, SOUP_TYPE_CONTENT_DECODER);
  update_session_timeout (self);
}

ChronosDownloader *
chronos_downloader_new (void)
{
  return g_object_new (CHRONOS_TYPE_DOWNLOADER, NULL);
}

guint
chronos_downloader_get_stall_timeout_ms (ChronosDownloader *self)
{
  g_return_val_if_fail (CHRONOS_IS_DOWNLOADER (self), 0);
  return self->stall_timeout_ms;
}

/* An attempt that receives no byte for this long fails as stalled (and is
 * retried). Tests make it short. */
void
chronos_downloader_set_stall_timeout_ms (ChronosDownloader *self,
                                         guint              timeout_ms)
{
  g_return_if_fail (CHRONOS_IS_DOWNLOADER (self));
  g_return_if_fail (timeout_ms > 0);

  self->stall_timeout_ms = timeout_ms;
  update_session_timeout (self);
}

/* How often a failing address is retried before the next mirror, and the
 * first pause (doubled after each failure, at most 30 s). */
void
chronos_downloader_set_retries (ChronosDownloader *self,
                                guint              retries,
                                guint              first_delay_ms)
{
  g_return_if_fail (CHRONOS_IS_DOWNLOADER (self));

  self->retries = retries;
  self->first_delay_ms = first_delay_ms;
}

/* Bytes that came over the network in all downloads so far (not counting
 * a part that was already on disk): what a resume saves. */
guint64
chronos_downloader_get_bytes_received (ChronosDownloader *self)
{
  g_return_val_if_fail (CHRONOS_IS_DOWNLOADER (self), 0);
  return self->bytes_received;
}

/* ------------------------------------------------------------------------
 * Opening a URL: send, follow checked redirects, hand back the body stream
 * ------------------------------------------------------------------------ */

typedef struct
{
  SoupMessage *msg;
  char        *url;
  guint        redirects;
  guint64      range_start;
} OpenData;

static void
open_data_free (OpenData *data)
{
  g_clear_object (&data->msg);
  g_free (data->url);
  g_free (data);
}

static GError *
network_error (const char   *url,
               const GError *cause)
{
  if (cause->domain == G_TLS_ERROR)
    return g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_TLS,
                        _ ("The secure connection to %s failed: %s."), url, cause->message);
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_STALLED,
                        _ ("The server sent nothing for too long while downloading %s."), url);
  return g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK,
                      _ ("Could not download %s: %s."), url, cause->message);
}

static void open_send (GTask *task);

static void
open_send_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  OpenData *data = g_task_get_task_data (task);
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  guint status;

  stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  if (stream == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_error (task, network_error (data->url, error));
      return;
    }

  status = soup_message_get_status (data->msg);
  if (SOUP_STATUS_IS_REDIRECTION (status) && status != SOUP_STATUS_NOT_MODIFIED)
    {
      const char      *location = soup_message_headers_get_one (soup_message_get_response_headers (data->msg), "Location");
      g_autofree char *next = NULL;

      g_input_stream_close (stream, NULL, NULL);

      if (location == NULL)
        {
          g_task_return_new_error (task, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_HTTP,
                                   _ ("The server answered %u %s for %s without saying where to go."),
                                   status, soup_message_get_reason_phrase (data->msg), data->url);
          return;
        }
      if (++data->redirects > CHRONOS_DOWNLOADER_MAX_REDIRECTS)
        {
          g_task_return_new_error (task, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_TOO_MANY_REDIRECTS,
                                   _ ("The server redirected more than %d times (a redirect loop?) while downloading %s."),
                                   CHRONOS_DOWNLOADER_MAX_REDIRECTS, data->url);
          return;
        }
      next = g_uri_resolve_relative (data->url, location, G_URI_FLAGS_ENCODED, &error);
      if (next == NULL)
        {
          g_task_return_new_error (task, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_HTTP,
                                   _ ("The server at %s redirected to an invalid address."), data->url);
          return;
        }
      if (!chronos_manifest_check_url (next, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_free (data->url);
      data->url = g_steal_pointer (&next);
      open_send (g_steal_pointer (&task));
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&stream), g_object_unref);
}

static void
open_send (GTask *task)
{
  ChronosDownloader  *self = g_task_get_source_object (task);
  OpenData           *data = g_task_get_task_data (task);
  SoupMessageHeaders *headers;

  g_clear_object (&data->msg);
  data->msg = soup_message_new (SOUP_METHOD_GET, data->url);
  if (data->msg == NULL)
    {
      g_task_return_new_error (task, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INSECURE_URL,
                               _ ("“%s” is not a web address (https://…)."), data->url);
      g_object_unref (task);
      return;
    }
  soup_message_add_flags (data->msg, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (data->msg);
  soup_message_headers_replace (headers, "Accept-Encoding", "identity");
  if (data->range_start > 0)
    soup_message_headers_set_range (headers, data->range_start, -1);

  soup_session_send_async (self->session, data->msg, G_PRIORITY_DEFAULT,
                           g_task_get_cancellable (task), open_send_cb, task);
}

static void
open_async (ChronosDownloader  *self,
            const char         *url,
            guint64             range_start,
            GCancellable       *cancellable,
            GAsyncReadyCallback callback,
            gpointer            user_data)
{
  GTask    *task = g_task_new (self, cancellable, callback, user_data);
  OpenData *data = g_new0 (OpenData, 1);
  g_autoptr (GError) error = NULL;

  data->url = g_strdup (url);
  data->range_start = range_start;
  g_task_set_task_data (task, data, (GDestroyNotify)open_data_free);

  if (!chronos_manifest_check_url (url, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  open_send (task);
}

/* Returns the body stream; @out_msg gets the final (non-redirect) message
 * and @out_url the address that answered. */
static GInputStream *
open_finish (GAsyncResult *result,
             SoupMessage **out_msg,
             char        **out_url,
             GError      **error)
{
  GTask        *task = G_TASK (result);
  OpenData     *data = g_task_get_task_data (task);
  GInputStream *stream = g_task_propagate_pointer (task, error);

  if (stream != NULL)
    {
      *out_msg = g_object_ref (data->msg);
      *out_url = g_strdup (data->url);
    }
  return stream;
}

static GError *
http_status_error (SoupMessage *msg,
                   const char  *url)
{
  guint       status = soup_message_get_status (msg);
  const char *reason = soup_message_get_reason_phrase (msg);

  if (reason == NULL || *reason == '\0')
    reason = soup_status_get_phrase (status);

  return g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_HTTP,
                      _ ("The server answered %u %s for %s."), status, reason ? reason : "", url);
}

/* ------------------------------------------------------------------------
 * Fetching a small document (the manifest) into memory
 * ------------------------------------------------------------------------ */

typedef struct
{
  GInputStream *stream;
  GByteArray   *buffer;
  gsize         max_size;
  char         *url;
} FetchData;

static void
fetch_data_free (FetchData *data)
{
  if (data->stream != NULL)
    g_input_stream_close (data->stream, NULL, NULL);
  g_clear_object (&data->stream);
  g_clear_pointer (&data->buffer, g_byte_array_unref);
  g_free (data->url);
  g_free (data);
}

static void
fetch_read_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (bytes == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_error (task, network_error (data->url, error));
      return;
    }

  if (g_bytes_get_size (bytes) == 0)
    {
      g_task_return_pointer (task, g_byte_array_free_to_bytes (g_steal_pointer (&data->buffer)),
                             (GDestroyNotify)g_bytes_unref);
      return;
    }

  if (data->buffer->len + g_bytes_get_size (bytes) > data->max_size)
    {
      g_autofree char *limit = g_format_size (data->max_size);

      g_task_return_new_error (task, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SIZE_MISMATCH,
                               _ ("%s is larger than the %s Chronos accepts."), data->url, limit);
      return;
    }

  g_byte_array_append (data->buffer, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  {
    /* The cancellable is fetched before the task is handed on. */
    GCancellable *cancellable = g_task_get_cancellable (task);

    g_input_stream_read_bytes_async (data->stream, 64 * 1024, G_PRIORITY_DEFAULT, cancellable,
                                     fetch_read_cb, g_steal_pointer (&task));
  }
}

static void
fetch_open_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;

  data->stream = open_finish (result, &msg, &url, &error);
  if (data->stream == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_task_return_error (task, http_status_error (msg, url));
      return;
    }

  {
    /* The cancellable is fetched before the task is handed on. */
    GCancellable *cancellable = g_task_get_cancellable (task);

    g_input_stream_read_bytes_async (data->stream, 64 * 1024, G_PRIORITY_DEFAULT, cancellable,
                                     fetch_read_cb, g_steal_pointer (&task));
  }
}

/* Reads a small document of at most @max_size bytes into memory. */
void
chronos_downloader_fetch_async (ChronosDownloader  *self,
                                const char         *url,
                                gsize               max_size,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  FetchData *data;

  g_return_if_fail (CHRONOS_IS_DOWNLOADER (self));
  g_return_if_fail (url != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_downloader_fetch_async);
  data = g_new0 (FetchData, 1);
  data->buffer = g_byte_array_new ();
  data->max_size = max_size;
  data->url = g_strdup (url);
  g_task_set_task_data (task, data, (GDestroyNotify)fetch_data_free);

  open_async (self, url, 0, cancellable, fetch_open_cb, g_steal_pointer (&task));
}

GBytes *
chronos_downloader_fetch_finish (ChronosDownloader *self,
                                 GAsyncResult      *result,
                                 GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------------
 * Downloading a bundle into NAME.part
 * ------------------------------------------------------------------------ */

typedef enum
{
  FAILURE_RETRY,    /* try the same address again after a pause */
  FAILURE_NEXT_URL, /* this address will not work: next mirror */
  FAILURE_FATAL,    /* stop now */
} FailureKind;

/* How the receiving of an attempt ended; acted on once the writer is idle. */
typedef enum
{
  ENDING_NONE,
  ENDING_FAILED,   /* end_error, end_kind */
  ENDING_COMPLETE, /* every byte received */
  ENDING_WRITE,    /* write_error */
} Ending;

typedef struct
{
  GStrv       urls;
  guint       url_index;
  guint       attempt;
  GFile      *part_file;
  guint64     expected_size;
  ChronosJob *job;

  ChronosSha256 *hash;
  guint64        offset;      /* bytes in the part file, all hashed */
  guint64        total;       /* the full size, when known */
  gboolean       range_reset; /* a 416 already made us start over */

  GCancellable *cancellable; /* the caller's, may be NULL */
  GCancellable *attempt_cancellable;
  gulong        cancel_id;
  GSource      *stall_source;
  gint64        last_progress;
  gboolean      stalled;
  GSource      *wait_source;
  gint64        retry_at;

  SoupMessage   *msg;
  char          *url;
  GInputStream  *body;
  GOutputStream *out;
  GError        *last_error;

  /* The writer thread owns out and hash while it runs; the main thread
   * receives, and learns what was written from write_done_cb. */
  GMainContext *context;
  guint8       *blocks[N_BLOCKS];
  guint8       *free_blocks[N_BLOCKS];
  guint         n_free;
  guint8       *reading;   /* the block a read is filling */
  guint         in_flight; /* blocks handed to the writer */
  guint64       queued;    /* their bytes */
  GThread      *writer;
  GAsyncQueue  *to_writer;
  Ending        ending;
  GError       *end_error;
  FailureKind   end_kind;
  GError       *write_error;
} DownloadData;

typedef struct
{
  GTask   *task;
  guint8  *block;
  gsize    length;
  gboolean written; /* and hashed */
  GError  *error;
} WriteRequest;

/* Pushed after the last request: the writer returns. */
static WriteRequest stop_writer_request;

static gboolean write_done_cb (gpointer user_data);

static gpointer
writer_thread (gpointer user_data)
{
  DownloadData *data = user_data;
  WriteRequest *request;
  gboolean      failed = FALSE;

  while ((request = g_async_queue_pop (data->to_writer)) != &stop_writer_request)
    {
      /* No cancellable: a block is written whole or not at all, so that
       * the part holds exactly the bytes that were hashed. After a
       * failure nothing more is written. */
      if (!failed)
        {
          request->written = g_output_stream_write_all (data->out, request->block, request->length,
                                                        NULL, NULL, &request->error);
          if (request->written)
            chronos_sha256_update (data->hash, request->block, request->length);
          else
            failed = TRUE;
        }

      chronos_context_invoke_later (data->context, write_done_cb, request,
                                    "[chronos] download block written");
    }

  return NULL;
}

static void
start_writer (DownloadData *data)
{
  g_assert (data->writer == NULL);

  data->to_writer = g_async_queue_new ();
  data->writer = g_thread_new ("chronos-download", writer_thread, data);
}

/* Only with no block in flight, so the join does not wait on the disk. */
static void
stop_writer (DownloadData *data)
{
  if (data->writer == NULL)
    return;

  g_assert (data->in_flight == 0);
  g_async_queue_push (data->to_writer, &stop_writer_request);
  g_thread_join (g_steal_pointer (&data->writer));
  g_clear_pointer (&data->to_writer, g_async_queue_unref);
}

static void
attempt_cleanup (DownloadData *data)
{
  stop_writer (data);
  if (data->stall_source != NULL)
    {
      g_source_destroy (data->stall_source);
      g_clear_pointer (&data->stall_source, g_source_unref);
    }
  if (data->body != NULL)
    g_input_stream_close (data->body, NULL, NULL);
  g_clear_object (&data->body);
  if (data->out != NULL)
    g_output_stream_close (data->out, NULL, NULL);
  g_clear_object (&data->out);
  g_clear_object (&data->msg);
  g_clear_pointer (&data->url, g_free);
  if (data->cancel_id != 0)
    {
      g_cancellable_disconnect (data->cancellable, data->cancel_id);
      data->cancel_id = 0;
    }
  if (data->attempt_cancellable != NULL)
    {
      g_cancellable_cancel (data->attempt_cancellable);
      g_clear_object (&data->attempt_cancellable);
    }
}

static void
download_data_free (DownloadData *data)
{
  attempt_cleanup (data);
  if (data->wait_source != NULL)
    {
      g_source_destroy (data->wait_source);
      g_clear_pointer (&data->wait_source, g_source_unref);
    }
  g_strfreev (data->urls);
  g_clear_object (&data->cancellable);
  g_clear_object (&data->part_file);
  g_clear_object (&data->job);
  g_clear_pointer (&data->hash, chronos_sha256_free);
  for (guint i = 0; i < N_BLOCKS; i++)
    g_free (data->blocks[i]);
  g_clear_pointer (&data->context, g_main_context_unref);
  g_clear_error (&data->last_error);
  g_clear_error (&data->end_error);
  g_clear_error (&data->write_error);
  g_free (data);
}

static void start_attempt (GTask *task);

static void
delete_part (DownloadData *data)
{
  g_file_delete (data->part_file, NULL, NULL);
  data->offset = 0;
  chronos_sha256_reset (data->hash);
}

static void
download_return_error (GTask   *task,
                       GError  *error,
                       gboolean keep_part)
{
  DownloadData *data = g_task_get_task_data (task);

  attempt_cleanup (data);
  if (!keep_part || data->offset == 0)
    delete_part (data);
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* The pause between attempts ends early when the caller cancels. */
static gboolean
retry_wait_cb (gpointer user_data)
{
  GTask        *task = user_data;
  DownloadData *data = g_task_get_task_data (task);

  if (g_get_monotonic_time () < data->retry_at && !g_cancellable_is_cancelled (data->cancellable))
    return G_SOURCE_CONTINUE;

  g_clear_pointer (&data->wait_source, g_source_unref);
  start_attempt (task);
  return G_SOURCE_REMOVE;
}

static void
attempt_failed (GTask      *task,
                GError     *error,
                FailureKind kind)
{
  ChronosDownloader *self = g_task_get_source_object (task);
  DownloadData      *data = g_task_get_task_data (task);
  GCancellable      *cancellable = g_task_get_cancellable (task);

  attempt_cleanup (data);

  if (g_cancellable_is_cancelled (cancellable))
    {
      g_clear_error (&error);
      download_return_error (task,
                             g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                  _ ("The download was cancelled.")),
                             FALSE);
      return;
    }

  if (kind == FAILURE_FATAL)
    {
      download_return_error (task, error, FALSE);
      return;
    }

  g_clear_error (&data->last_error);
  data->last_error = error;
  g_debug ("download attempt %u of %s failed: %s", data->attempt + 1,
           data->urls[data->url_index], error->message);

  if (kind == FAILURE_RETRY && data->attempt < self->retries)
    {
      guint64 delay = (guint64)self->first_delay_ms << MIN (data->attempt, 16);

      data->attempt++;
      data->retry_at = g_get_monotonic_time () + MIN (delay, MAX_RETRY_DELAY_MS) * 1000;
      data->wait_source = g_timeout_source_new (MIN (delay, 100));
      g_source_set_callback (data->wait_source, retry_wait_cb, task, NULL);
      g_source_attach (data->wait_source, g_main_context_get_thread_default ());
      return;
    }

  if (data->urls[data->url_index + 1] != NULL)
    {
      /* Bytes from an address that served the wrong size are no base to
       * resume from at the mirror. */
      if (g_error_matches (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SIZE_MISMATCH))
        delete_part (data);
      data->url_index++;
      data->attempt = 0;
      start_attempt (task);
      return;
    }

  /* Out of addresses. A part that a later run can resume is kept only
   * when the failure was the network's. */
  {
    gboolean resumable = g_error_matches (data->last_error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK) ||
                         g_error_matches (data->last_error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_STALLED) ||
                         kind == FAILURE_RETRY;

    download_return_error (task, g_steal_pointer (&data->last_error), resumable);
  }
}

static void
cancel_attempt_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  GCancellable *attempt = user_data;

  g_cancellable_cancel (attempt);
}

static gboolean
stall_check_cb (gpointer user_data)
{
  GTask             *task = user_data;
  ChronosDownloader *self = g_task_get_source_object (task);
  DownloadData      *data = g_task_get_task_data (task);

  if ((g_get_monotonic_time () - data->last_progress) / 1000 >= self->stall_timeout_ms)
    {
      data->stalled = TRUE;
      g_cancellable_cancel (data->attempt_cancellable);
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

static GError *
stall_error (DownloadData *data)
{
  g_autofree char *done = g_format_size (data->offset + data->queued);

  return g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_STALLED,
                      _ ("The server sent nothing for too long while downloading %s (after %s)."),
                      data->urls[data->url_index], done);
}

static void pump (GTask *task);
static void read_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data);

static void
finish_success (GTask *task)
{
  DownloadData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GOutputStream *out = g_steal_pointer (&data->out);

  /* Closing flushes: a full disk may only show up here. */
  if (!g_output_stream_close (out, NULL, &error))
    {
      g_object_unref (out);
      attempt_failed (task, g_error_new (CHRONOS_PROVISION_ERROR, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ? CHRONOS_PROVISION_ERROR_NO_SPACE : CHRONOS_PROVISION_ERROR_FAILED, _ ("Could not write the download: %s."), error->message),
                      FAILURE_FATAL);
      return;
    }
  g_object_unref (out);

  attempt_cleanup (data);
  g_task_return_pointer (task, chronos_sha256_get_string (data->hash), g_free);
  g_object_unref (task);
}

/* Receiving stops; what happens next waits until the writer is idle. The
 * first reason wins, except that a failed write beats them all. */
static void
end_attempt (GTask      *task,
             GError     *error,
             FailureKind kind)
{
  DownloadData *data = g_task_get_task_data (task);

  if (data->ending == ENDING_NONE)
    {
      data->ending = ENDING_FAILED;
      data->end_error = error;
      data->end_kind = kind;
    }
  else
    g_clear_error (&error);

  pump (task);
}

/* In the main thread: a block is back from the writer. */
static gboolean
write_done_cb (gpointer user_data)
{
  WriteRequest *request = user_data;
  GTask        *task = request->task;
  DownloadData *data = g_task_get_task_data (task);

  data->in_flight--;
  data->queued -= request->length;
  data->free_blocks[data->n_free++] = request->block;

  if (request->written)
    {
      data->offset += request->length;
      data->last_progress = g_get_monotonic_time ();
      if (data->job != NULL)
        chronos_job_update_bytes (data->job, data->offset, data->total ? data->total : data->expected_size);
    }
  else if (request->error != NULL && data->write_error == NULL)
    data->write_error = g_steal_pointer (&request->error);

  g_clear_error (&request->error);
  g_free (request);

  pump (task);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

/* Moves the attempt on: the next read into a free block, or, once the
 * receiving has ended and the writer is idle, the end of the attempt. */
static void
pump (GTask *task)
{
  DownloadData *data = g_task_get_task_data (task);

  if (data->reading != NULL)
    return; /* read_cb calls again */

  if (data->write_error != NULL)
    data->ending = ENDING_WRITE;

  if (data->ending != ENDING_NONE)
    {
      g_autoptr (GError) error = NULL;

      if (data->in_flight > 0)
        return; /* write_done_cb calls again */

      stop_writer (data);
      error = g_steal_pointer (&data->end_error);
      switch (data->ending)
        {
        case ENDING_WRITE:
          {
            g_autoptr (GError) write_error = g_steal_pointer (&data->write_error);

            attempt_failed (task,
                            g_error_new (CHRONOS_PROVISION_ERROR,
                                         g_error_matches (write_error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)
                                             ? CHRONOS_PROVISION_ERROR_NO_SPACE
                                             : CHRONOS_PROVISION_ERROR_FAILED,
                                         _ ("Could not write the download to %s: %s."),
                                         g_file_peek_path (data->part_file), write_error->message),
                            FAILURE_FATAL);
          }
          break;
        case ENDING_FAILED:
          attempt_failed (task, g_steal_pointer (&error), data->end_kind);
          break;
        case ENDING_COMPLETE:
          finish_success (task);
          break;
        case ENDING_NONE:
        default:
          g_assert_not_reached ();
        }
      return;
    }

  if (data->n_free == 0)
    return; /* write_done_cb calls again */

  data->reading = data->free_blocks[--data->n_free];
  g_input_stream_read_async (data->body, data->reading, BLOCK_SIZE, G_PRIORITY_DEFAULT,
                             data->attempt_cancellable, read_cb, task);
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask             *task = user_data;
  ChronosDownloader *self = g_task_get_source_object (task);
  DownloadData      *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  guint8       *block = g_steal_pointer (&data->reading);
  guint64       received = data->offset + data->queued;
  WriteRequest *request;
  gssize        n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);
  if (n <= 0)
    data->free_blocks[data->n_free++] = block;

  if (n < 0)
    {
      if (data->stalled)
        end_attempt (task, stall_error (data), FAILURE_RETRY);
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        end_attempt (task, g_steal_pointer (&error), FAILURE_FATAL);
      else if (error->domain != G_TLS_ERROR && data->total > 0)
        {
          /* libsoup says "Connection terminated unexpectedly": say how far it got. */
          g_autofree char *got = g_format_size (received);
          g_autofree char *want = g_format_size (data->total);

          end_attempt (task,
                       g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK,
                                    _ ("The connection to the server closed after %s of %s while downloading %s (%s)."),
                                    got, want, data->url, error->message),
                       FAILURE_RETRY);
        }
      else
        {
          GError *e = network_error (data->url, error);
          end_attempt (task, e, e->code == CHRONOS_PROVISION_ERROR_TLS ? FAILURE_NEXT_URL : FAILURE_RETRY);
        }
      return;
    }

  if (n == 0)
    {
      if (data->total > 0 && received < data->total)
        {
          g_autofree char *got = g_format_size (received);
          g_autofree char *want = g_format_size (data->total);

          end_attempt (task,
                       g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK,
                                    _ ("The connection to the server closed after %s of %s while downloading %s."),
                                    got, want, data->url),
                       FAILURE_RETRY);
          return;
        }
      if (data->expected_size > 0 && received != data->expected_size)
        {
          end_attempt (task,
                       g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SIZE_MISMATCH,
                                    _ ("%s has %llu bytes, but the manifest says %llu."),
                                    data->url, (unsigned long long)received,
                                    (unsigned long long)data->expected_size),
                       FAILURE_NEXT_URL);
          return;
        }
      data->ending = ENDING_COMPLETE;
      pump (task);
      return;
    }

  if (data->write_error != NULL)
    {
      /* The writer failed while this block came in: pump ends the attempt. */
      data->free_blocks[data->n_free++] = block;
      pump (task);
      return;
    }

  if ((data->total > 0 && received + n > data->total) ||
      (data->expected_size > 0 && received + n > data->expected_size))
    {
      data->free_blocks[data->n_free++] = block;
      end_attempt (task,
                   g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SIZE_MISMATCH,
                                _ ("%s is larger than the %llu bytes the manifest says."),
                                data->url,
                                (unsigned long long)(data->expected_size ? data->expected_size : data->total)),
                   FAILURE_NEXT_URL);
      return;
    }

  self->bytes_received += n;
  data->last_progress = g_get_monotonic_time ();

  request = g_new0 (WriteRequest, 1);
  request->task = g_object_ref (task);
  request->block = block;
  request->length = n;
  data->in_flight++;
  data->queued += n;
  g_async_queue_push (data->to_writer, request);

  pump (task);
}

static void
part_opened_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask        *task = user_data;
  DownloadData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GFileOutputStream *out;

  if (data->offset > 0)
    out = g_file_append_to_finish (G_FILE (object), result, &error);
  else
    out = g_file_replace_finish (G_FILE (object), result, &error);

  if (out == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        attempt_failed (task, g_steal_pointer (&error), FAILURE_FATAL);
      else
        attempt_failed (task,
                        g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_FAILED,
                                     _ ("Could not write the download to %s: %s."),
                                     g_file_peek_path (data->part_file), error->message),
                        FAILURE_FATAL);
      return;
    }

  if (data->offset > 0)
    {
      /* Appending is right only while the part holds exactly the bytes
       * that were hashed; a part that changed size since starts over. */
      g_autoptr (GFileInfo) info = g_file_output_stream_query_info (out, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);

      if (info == NULL || (guint64)g_file_info_get_size (info) != data->offset)
        {
          g_debug ("%s changed since it was hashed: starting over", g_file_peek_path (data->part_file));
          g_output_stream_close (G_OUTPUT_STREAM (out), NULL, NULL);
          g_object_unref (out);
          attempt_cleanup (data);
          delete_part (data);
          start_attempt (task);
          return;
        }
    }

  data->out = G_OUTPUT_STREAM (out);
  data->ending = ENDING_NONE;
  start_writer (data);
  pump (task);
}

static void
attempt_open_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask              *task = user_data;
  DownloadData       *data = g_task_get_task_data (task);
  SoupMessageHeaders *headers;
  g_autoptr (GError) error = NULL;
  guint   status;
  goffset length;

  data->body = open_finish (result, &data->msg, &data->url, &error);
  if (data->body == NULL)
    {
      if (data->stalled)
        attempt_failed (task, stall_error (data), FAILURE_RETRY);
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        attempt_failed (task, g_steal_pointer (&error), FAILURE_FATAL);
      else if (g_error_matches (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK) ||
               g_error_matches (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_STALLED))
        attempt_failed (task, g_steal_pointer (&error), FAILURE_RETRY);
      else
        attempt_failed (task, g_steal_pointer (&error), FAILURE_NEXT_URL);
      return;
    }

  status = soup_message_get_status (data->msg);
  headers = soup_message_get_response_headers (data->msg);
  length = soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
               ? soup_message_headers_get_content_length (headers)
               : -1;

  if (status == SOUP_STATUS_PARTIAL_CONTENT && data->offset > 0)
    {
      goffset start = 0, end = 0, total = 0;

      if (!soup_message_headers_get_content_range (headers, &start, &end, &total) ||
          (guint64)start != data->offset)
        {
          attempt_failed (task,
                          g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NETWORK,
                                       _ ("The server at %s answered the resume request with the wrong range."),
                                       data->url),
                          FAILURE_NEXT_URL);
          return;
        }
      data->total = total > 0 ? (guint64)total : (length >= 0 ? data->offset + length : 0);
    }
  else if (status == SOUP_STATUS_OK)
    {
      /* A 200 to a Range request: the server sends the whole file. */
      if (data->offset > 0)
        {
          g_debug ("%s ignored the Range request: starting over", data->url);
          data->offset = 0;
          chronos_sha256_reset (data->hash);
        }
      data->total = length >= 0 ? (guint64)length : 0;
    }
  else if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE && data->offset > 0 && !data->range_reset)
    {
      /* The part is longer than the file: it is not this file. */
      attempt_cleanup (data);
      data->range_reset = TRUE;
      delete_part (data);
      start_attempt (task);
      return;
    }
  else
    {
      FailureKind kind = (status >= 500 || status == SOUP_STATUS_REQUEST_TIMEOUT || status == 429)
                             ? FAILURE_RETRY
                             : FAILURE_NEXT_URL;
      attempt_failed (task, http_status_error (data->msg, data->url), kind);
      return;
    }

  if (data->expected_size > 0 && data->total > 0 && data->total != data->expected_size)
    {
      attempt_failed (task,
                      g_error_new (CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_SIZE_MISMATCH,
                                   _ ("%s has %llu bytes, but the manifest says %llu."),
                                   data->url, (unsigned long long)data->total, (unsigned long long)data->expected_size),
                      FAILURE_NEXT_URL);
      return;
    }

  if (data->job != NULL)
    chronos_job_update_bytes (data->job, data->offset, data->total ? data->total : data->expected_size);

  if (data->offset > 0)
    g_file_append_to_async (data->part_file, G_FILE_CREATE_PRIVATE, G_PRIORITY_DEFAULT,
                            data->attempt_cancellable, part_opened_cb, task);
  else
    g_file_replace_async (data->part_file, NULL, FALSE, G_FILE_CREATE_PRIVATE, G_PRIORITY_DEFAULT,
                          data->attempt_cancellable, part_opened_cb, task);
}

static void
start_attempt (GTask *task)
{
  ChronosDownloader *self = g_task_get_source_object (task);
  DownloadData      *data = g_task_get_task_data (task);

  data->attempt_cancellable = g_cancellable_new ();
  data->stalled = FALSE;
  data->last_progress = g_get_monotonic_time ();

  if (data->cancellable != NULL)
    {
      /* Connected per attempt: a cancel before this point is caught by
       * g_cancellable_connect calling us at once. */
      data->cancel_id = g_cancellable_connect (data->cancellable,
                                               G_CALLBACK (cancel_attempt_cb),
                                               g_object_ref (data->attempt_cancellable),
                                               g_object_unref);
    }

  data->stall_source = g_timeout_source_new (MAX (10, MIN (250, self->stall_timeout_ms / 4)));
  g_source_set_callback (data->stall_source, stall_check_cb, task, NULL);
  g_source_attach (data->stall_source, g_main_context_get_thread_default ());

  open_async (self, data->urls[data->url_index], data->offset, data->attempt_cancellable,
              attempt_open_cb, task);
}

/* Hashes an existing part in a thread, so that a resumed download still
 * yields the SHA-256 of the whole file; also checks free disk space. */
static void
prepare_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  DownloadData *data = task_data;
  g_autoptr (GFileInputStream) in = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) parent = g_file_get_parent (data->part_file);
  g_autoptr (GFileInfo) fs_info = NULL;

  in = g_file_read (data->part_file, cancellable, &error);
  if (in != NULL)
    {
      if (!chronos_sha256_update_from_stream (data->hash, G_INPUT_STREAM (in), data->blocks[0], BLOCK_SIZE,
                                              &data->offset, cancellable, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (data->expected_size > 0 && data->offset > data->expected_size)
        {
          g_debug ("%s is larger than the file: starting over", g_file_peek_path (data->part_file));
          data->offset = 0;
          chronos_sha256_reset (data->hash);
        }
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_task_return_new_error (task, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_FAILED,
                               _ ("Could not read %s: %s."), g_file_peek_path (data->part_file), error->message);
      return;
    }

  fs_info = g_file_query_filesystem_info (parent, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, cancellable, NULL);
  if (fs_info != NULL && data->expected_size > data->offset &&
      g_file_info_has_attribute (fs_info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE))
    {
      guint64 free_bytes = g_file_info_get_attribute_uint64 (fs_info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);
      guint64 needed = data->expected_size - data->offset;

      if (free_bytes < needed)
        {
          g_autofree char *need_text = g_format_size (needed);
          g_autofree char *free_text = g_format_size (free_bytes);

          g_task_return_new_error (task, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NO_SPACE,
                                   _ ("There is not enough free space in %s: the download needs %s, but only %s is free."),
                                   g_file_peek_path (parent), need_text, free_text);
          return;
        }
    }

  g_task_return_boolean (task, TRUE);
}

static void
prepare_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask        *task = user_data;
  DownloadData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* No space: a part that was there stays for later; cancelled:
       * nothing is left behind, as for a cancel while downloading. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        delete_part (data);
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  if (data->job != NULL)
    chronos_job_update_bytes (data->job, data->offset, data->expected_size);

  if (data->expected_size > 0 && data->offset == data->expected_size)
    {
      /* Complete already (an earlier run stopped after the last byte). */
      g_task_return_pointer (task, chronos_sha256_get_string (data->hash), g_free);
      g_object_unref (task);
      return;
    }

  start_attempt (task);
}

/**
 * chronos_downloader_download_async:
 * @urls: the address, then its mirrors, tried in order
 * @part_path: where the download goes (NAME.part); resumed when it exists
 * @expected_size: the size the manifest gives, or 0 when unknown
 * @job: (nullable): receives byte progress
 *
 * Downloads into @part_path. Each address is retried with exponential
 * backoff on network failures before the next mirror is tried. The result
 * is the SHA-256 of the whole file; the caller compares it with the
 * manifest (and deletes the part when it does not match).
 */
void
chronos_downloader_download_async (ChronosDownloader  *self,
                                   const char *const  *urls,
                                   const char         *part_path,
                                   guint64             expected_size,
                                   ChronosJob         *job,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data)
{
  GTask *task;
  g_autoptr (GTask) prepare = NULL;
  DownloadData *data;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (CHRONOS_IS_DOWNLOADER (self));
  g_return_if_fail (urls != NULL && urls[0] != NULL);
  g_return_if_fail (part_path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_downloader_download_async);

  data = g_new0 (DownloadData, 1);
  data->urls = g_strdupv ((char **)urls);
  data->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  data->part_file = g_file_new_for_path (part_path);
  data->expected_size = expected_size;
  data->job = job ? g_object_ref (job) : NULL;
  data->hash = chronos_sha256_new ();
  data->context = g_main_context_ref_thread_default ();
  for (guint i = 0; i < N_BLOCKS; i++)
    {
      data->blocks[i] = g_malloc (BLOCK_SIZE);
      data->free_blocks[i] = data->blocks[i];
    }
  data->n_free = N_BLOCKS;
  g_task_set_task_data (task, data, (GDestroyNotify)download_data_free);

  /* Every address is checked before any connection is made. */
  for (guint i = 0; urls[i] != NULL; i++)
    {
      if (!chronos_manifest_check_url (urls[i], &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          g_object_unref (task);
          return;
        }
    }

  prepare = g_task_new (self, cancellable, prepare_cb, task);
  g_task_set_task_data (prepare, data, NULL);
  g_task_run_in_thread (prepare, prepare_thread);
}

/**
 * chronos_downloader_download_finish:
 * @out_size: (out) (optional): the size of the downloaded file
 *
 * Returns: the SHA-256 of the file as 64 lower-case hex digits
 */
char *
chronos_downloader_download_finish (ChronosDownloader *self,
                                    GAsyncResult      *result,
                                    guint64           *out_size,
                                    GError           **error)
{
  DownloadData *data;
  char         *sha256;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  sha256 = g_task_propagate_pointer (G_TASK (result), error);
  if (sha256 != NULL && out_size != NULL)
    *out_size = data->offset;
  return sha256;
}
