/* chronos-qmp.c: asynchronous client for QEMU's machine protocol (QMP)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QMP is one JSON object per line. QEMU greets first, then waits for
 * qmp_capabilities; after that every command gets a reply carrying the id we
 * sent, and events ({"event": ...}) may arrive at any moment, also between a
 * command and its reply. The peer is the QEMU we started, but its socket is a
 * file on disk, so lines are bounded and anything unreadable closes the
 * connection rather than being guessed at.
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "chronos-qemu-error.h"
#include "chronos-qmp.h"

struct _ChronosQmp
{
  GObject parent_instance;

  GIOStream    *stream;
  GCancellable *io_cancellable;

  GByteArray *inbuf;
  gboolean    reading;
  gboolean    closed;

  /* gint64 id -> Pending */
  GHashTable *pending;
  gint64      next_id;

  GQueue   write_queue; /* GBytes */
  gboolean writing;

  GTask      *negotiate_task;
  GSource    *negotiate_cancel_source;
  JsonObject *greeting;
};

G_DEFINE_FINAL_TYPE (ChronosQmp, chronos_qmp, G_TYPE_OBJECT)

enum
{
  SIGNAL_EVENT,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  ChronosQmp *self; /* not a reference: the entry lives in self->pending */
  gint64      id;
  GTask      *task;
  GSource    *cancel_source;
} Pending;

/* A read owns its buffer and only a weak reference to the client, so an
 * unreferenced client can be finalized while a read is outstanding. */
typedef struct
{
  GWeakRef self;
  guint8   buffer[16384];
} ReadOp;

static void start_read (ChronosQmp *self);

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  if (pending->cancel_source != NULL)
    {
      g_source_destroy (pending->cancel_source);
      g_source_unref (pending->cancel_source);
    }
  g_clear_object (&pending->task);
  g_free (pending);
}

static void
close_with_error (ChronosQmp   *self,
                  const GError *error)
{
  g_autoptr (GList) entries = NULL;
  g_autoptr (GTask) negotiate_task = NULL;

  if (self->closed)
    return;

  g_object_ref (self);
  self->closed = TRUE;
  g_cancellable_cancel (self->io_cancellable);

  /* Fail everything still waiting; the tasks' callbacks may run right away
   * and re-enter, so detach them from the table first. */
  entries = g_hash_table_get_values (self->pending);
  g_hash_table_steal_all (self->pending);
  for (GList *l = entries; l != NULL; l = l->next)
    {
      Pending *pending = l->data;
      GTask   *task = g_steal_pointer (&pending->task);

      pending_free (pending);
      g_task_return_error (task, g_error_copy (error));
      g_object_unref (task);
    }

  if (self->negotiate_cancel_source != NULL)
    {
      g_source_destroy (self->negotiate_cancel_source);
      g_clear_pointer (&self->negotiate_cancel_source, g_source_unref);
    }
  negotiate_task = g_steal_pointer (&self->negotiate_task);
  if (negotiate_task != NULL)
    g_task_return_error (negotiate_task, g_error_copy (error));

  g_queue_clear_full (&self->write_queue, (GDestroyNotify)g_bytes_unref);

  if (self->stream != NULL && !g_io_stream_is_closed (self->stream))
    g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);

  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
  g_object_unref (self);
}

static void
close_protocol_error (ChronosQmp *self,
                      const char *detail)
{
  g_autoptr (GError) error = NULL;

  error = g_error_new (CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_PROTOCOL,
                       _ ("QEMU sent a monitor message Chronos cannot read (%s)."),
                       detail);
  close_with_error (self, error);
}

static void write_next (ChronosQmp *self);

typedef struct
{
  GWeakRef self;
  GBytes  *bytes;
} WriteOp;

static void
write_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  WriteOp *op = user_data;
  g_autoptr (ChronosQmp) self = g_weak_ref_get (&op->self);
  g_autoptr (GError) error = NULL;
  gboolean ok;

  ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error);
  g_weak_ref_clear (&op->self);
  g_bytes_unref (op->bytes);
  g_free (op);

  if (self == NULL || self->closed)
    return;

  self->writing = FALSE;

  if (!ok)
    {
      g_autoptr (GError) closed = NULL;

      closed = g_error_new (G_IO_ERROR, G_IO_ERROR_CLOSED,
                            _ ("Could not send a command to QEMU: %s"),
                            error->message);
      close_with_error (self, closed);
      return;
    }

  write_next (self);
}

/* Like reads, a write holds the client only weakly. */
static void
write_next (ChronosQmp *self)
{
  GOutputStream *out;
  WriteOp       *op;
  GBytes        *bytes;

  if (self->writing || self->closed)
    return;

  bytes = g_queue_pop_head (&self->write_queue);
  if (bytes == NULL)
    return;

  op = g_new0 (WriteOp, 1);
  g_weak_ref_init (&op->self, self);
  op->bytes = bytes;
  self->writing = TRUE;

  out = g_io_stream_get_output_stream (self->stream);
  g_output_stream_write_all_async (out,
                                   g_bytes_get_data (bytes, NULL),
                                   g_bytes_get_size (bytes),
                                   G_PRIORITY_DEFAULT,
                                   self->io_cancellable,
                                   write_cb,
                                   op);
}

static void
send_object (ChronosQmp *self,
             JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  GString         *line;
  gsize            length;
  g_autofree char *text = NULL;

  json_node_set_object (node, object);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, &length);

  line = g_string_new_len (text, length);
  g_string_append (line, "\r\n");
  g_queue_push_tail (&self->write_queue, g_string_free_to_bytes (line));
  write_next (self);
}

/* json-glib's *_member_with_default() helpers complain (a critical) when a
 * member exists with another type; QEMU's messages are untrusted input, so
 * read members only when they have the expected type. */
static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static guint
uint_member (JsonObject *object,
             const char *name)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64    value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return 0;
  value = json_node_get_int (node);
  return value < 0 || value > G_MAXUINT ? 0 : (guint)value;
}

static void
handle_reply (ChronosQmp *self,
              JsonObject *message)
{
  JsonNode *id_node = json_object_get_member (message, "id");
  Pending  *pending;
  GTask    *task;
  gint64    id;

  /* We only send integer ids; a reply without one answers a message QEMU
   * could not parse, which we never send. */
  if (id_node == NULL || !JSON_NODE_HOLDS_VALUE (id_node) ||
      json_node_get_value_type (id_node) != G_TYPE_INT64)
    {
      g_debug ("QMP: ignoring a reply without a usable id");
      return;
    }

  id = json_node_get_int (id_node);
  if (!g_hash_table_steal_extended (self->pending, &id, NULL, (gpointer *)&pending))
    {
      /* The command was cancelled; its reply has no one to go to. */
      return;
    }

  task = g_steal_pointer (&pending->task);
  pending_free (pending);

  if (json_object_has_member (message, "error"))
    {
      JsonNode   *error_node = json_object_get_member (message, "error");
      const char *desc = NULL;

      if (JSON_NODE_HOLDS_OBJECT (error_node))
        desc = string_member (json_node_get_object (error_node), "desc");
      g_task_return_new_error (task, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                               "%s", desc != NULL ? desc : _ ("QEMU refused the command."));
    }
  else
    {
      JsonNode *ret = json_object_dup_member (message, "return");

      g_task_return_pointer (task, ret, (GDestroyNotify)json_node_unref);
    }

  g_object_unref (task);
}

static void
handle_event (ChronosQmp *self,
              JsonObject *message)
{
  const char *name = string_member (message, "event");
  JsonNode   *data_node = json_object_get_member (message, "data");
  g_autoptr (JsonObject) data = NULL;

  if (name == NULL || *name == '\0')
    {
      close_protocol_error (self, "an event without a name");
      return;
    }

  if (data_node != NULL && JSON_NODE_HOLDS_OBJECT (data_node))
    data = json_object_ref (json_node_get_object (data_node));
  else
    data = json_object_new ();

  g_signal_emit (self, signals[SIGNAL_EVENT], g_quark_try_string (name), name, data);
}

static void send_capabilities (ChronosQmp *self);

static void
handle_line (ChronosQmp *self,
             const char *line,
             gsize       length)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  JsonNode   *root;
  JsonObject *message;

  if (!json_parser_load_from_data (parser, line, length, &error))
    {
      close_protocol_error (self, error->message);
      return;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      close_protocol_error (self, "a message that is not an object");
      return;
    }

  message = json_node_get_object (root);

  if (self->greeting == NULL)
    {
      JsonNode *qmp = json_object_get_member (message, "QMP");

      if (qmp == NULL || !JSON_NODE_HOLDS_OBJECT (qmp))
        {
          close_protocol_error (self, "no QMP greeting");
          return;
        }
      self->greeting = json_object_ref (json_node_get_object (qmp));
      send_capabilities (self);
      return;
    }

  if (json_object_has_member (message, "event"))
    handle_event (self, message);
  else if (json_object_has_member (message, "return") ||
           json_object_has_member (message, "error"))
    handle_reply (self, message);
  else
    g_debug ("QMP: ignoring a message that is neither an event nor a reply");
}

static void
process_input (ChronosQmp *self)
{
  while (!self->closed)
    {
      guint8          *newline = memchr (self->inbuf->data, '\n', self->inbuf->len);
      gsize            length;
      g_autofree char *line = NULL;

      if (newline == NULL)
        break;

      length = newline - self->inbuf->data;
      line = g_strndup ((const char *)self->inbuf->data, length);
      g_byte_array_remove_range (self->inbuf, 0, length + 1);

      if (length > 0 && line[length - 1] == '\r')
        line[--length] = '\0';
      if (length == 0)
        continue;
      /* JSON text cannot contain a NUL byte. */
      if (strlen (line) != length)
        {
          close_protocol_error (self, "a NUL byte");
          return;
        }

      handle_line (self, line, length);
    }

  if (!self->closed && self->inbuf->len > CHRONOS_QMP_MAX_LINE)
    close_protocol_error (self, "a line longer than the limit");
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  ReadOp *op = user_data;
  g_autoptr (ChronosQmp) self = g_weak_ref_get (&op->self);
  g_autoptr (GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);

  if (self == NULL || self->closed)
    goto out;

  self->reading = FALSE;

  if (n < 0)
    {
      g_autoptr (GError) closed = NULL;

      closed = g_error_new (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                            _ ("Lost the monitor connection to QEMU: %s"),
                            error->message);
      close_with_error (self, closed);
      goto out;
    }

  if (n == 0)
    {
      g_autoptr (GError) closed = NULL;

      closed = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                    _ ("QEMU closed its monitor connection."));
      close_with_error (self, closed);
      goto out;
    }

  g_byte_array_append (self->inbuf, op->buffer, n);
  process_input (self);

  if (!self->closed)
    start_read (self);

out:
  g_weak_ref_clear (&op->self);
  g_free (op);
}

static void
start_read (ChronosQmp *self)
{
  ReadOp *op;

  if (self->reading || self->closed)
    return;

  op = g_new0 (ReadOp, 1);
  g_weak_ref_init (&op->self, self);
  self->reading = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream),
                             op->buffer, sizeof op->buffer,
                             G_PRIORITY_DEFAULT,
                             self->io_cancellable,
                             read_cb, op);
}

static void
capabilities_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ChronosQmp *self = CHRONOS_QMP (object);
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;

  ret = chronos_qmp_execute_finish (self, result, &error);

  if (self->negotiate_cancel_source != NULL)
    {
      g_source_destroy (self->negotiate_cancel_source);
      g_clear_pointer (&self->negotiate_cancel_source, g_source_unref);
    }
  task = g_steal_pointer (&self->negotiate_task);
  if (task == NULL)
    return;

  if (ret == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
send_capabilities (ChronosQmp *self)
{
  chronos_qmp_execute_async (self, "qmp_capabilities", NULL, NULL,
                             capabilities_cb, NULL);
}

static void
chronos_qmp_dispose (GObject *object)
{
  ChronosQmp *self = CHRONOS_QMP (object);

  if (!self->closed)
    {
      g_autoptr (GError) error = NULL;

      error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                                   _ ("The monitor connection was closed."));
      close_with_error (self, error);
    }

  G_OBJECT_CLASS (chronos_qmp_parent_class)->dispose (object);
}

static void
chronos_qmp_finalize (GObject *object)
{
  ChronosQmp *self = CHRONOS_QMP (object);

  g_clear_object (&self->stream);
  g_clear_object (&self->io_cancellable);
  g_clear_pointer (&self->inbuf, g_byte_array_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->greeting, json_object_unref);
  g_queue_clear_full (&self->write_queue, (GDestroyNotify)g_bytes_unref);

  G_OBJECT_CLASS (chronos_qmp_parent_class)->finalize (object);
}

static void
chronos_qmp_class_init (ChronosQmpClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = chronos_qmp_dispose;
  object_class->finalize = chronos_qmp_finalize;

  /**
   * ChronosQmp::event:
   * @name: the event's name, such as "SHUTDOWN"; also the signal detail
   * @data: the event's "data" member, an empty object when it had none
   */
  signals[SIGNAL_EVENT] =
      g_signal_new ("event",
                    G_TYPE_FROM_CLASS (klass),
                    G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                    0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2,
                    G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                    JSON_TYPE_OBJECT);

  /**
   * ChronosQmp::closed:
   *
   * Emitted once when the connection ends, by EOF, an error or
   * chronos_qmp_close().
   */
  signals[SIGNAL_CLOSED] =
      g_signal_new ("closed",
                    G_TYPE_FROM_CLASS (klass),
                    G_SIGNAL_RUN_LAST,
                    0, NULL, NULL, NULL,
                    G_TYPE_NONE, 0);
}

static void
chronos_qmp_init (ChronosQmp *self)
{
  self->io_cancellable = g_cancellable_new ();
  self->inbuf = g_byte_array_new ();
  self->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, pending_free);
  self->next_id = 1;
  g_queue_init (&self->write_queue);
}

ChronosQmp *
chronos_qmp_new (GIOStream *stream)
{
  ChronosQmp *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);

  self = g_object_new (CHRONOS_TYPE_QMP, NULL);
  self->stream = g_object_ref (stream);
  return self;
}

static gboolean
negotiate_cancelled_cb (GCancellable *cancellable,
                        gpointer      user_data)
{
  ChronosQmp *self = user_data;
  g_autoptr (GError) error = NULL;

  /* A half-negotiated connection is of no use: drop it. */
  g_clear_pointer (&self->negotiate_cancel_source, g_source_unref);
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               _ ("Operation was cancelled"));
  close_with_error (self, error);
  return G_SOURCE_REMOVE;
}

void
chronos_qmp_negotiate_async (ChronosQmp         *self,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (CHRONOS_IS_QMP (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_qmp_negotiate_async);

  if (self->closed)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               _ ("The monitor connection was closed."));
      return;
    }
  if (self->negotiate_task != NULL || self->greeting != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "QMP negotiation was already started");
      return;
    }

  self->negotiate_task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      self->negotiate_cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (self->negotiate_cancel_source,
                             G_SOURCE_FUNC (negotiate_cancelled_cb), self, NULL);
      g_source_attach (self->negotiate_cancel_source, g_main_context_get_thread_default ());
    }
  start_read (self);
}

gboolean
chronos_qmp_negotiate_finish (ChronosQmp   *self,
                              GAsyncResult *result,
                              GError      **error)
{
  g_return_val_if_fail (CHRONOS_IS_QMP (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
execute_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  Pending    *pending = user_data;
  ChronosQmp *self = pending->self;
  GTask      *task;

  /* QEMU still answers; handle_reply() drops the answer as it no longer
   * finds the id. */
  g_hash_table_steal (self->pending, &pending->id);
  task = g_steal_pointer (&pending->task);
  g_clear_pointer (&pending->cancel_source, g_source_unref);
  pending_free (pending);
  g_task_return_error_if_cancelled (task);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

void
chronos_qmp_execute_async (ChronosQmp         *self,
                           const char         *command,
                           JsonObject         *arguments,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (JsonObject) message = NULL;
  Pending *pending;

  g_return_if_fail (CHRONOS_IS_QMP (self));
  g_return_if_fail (command != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_qmp_execute_async);
  g_task_set_task_data (task, g_strdup (command), g_free);

  if (self->closed)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               _ ("The monitor connection to QEMU is closed."));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  pending = g_new0 (Pending, 1);
  pending->self = self;
  pending->id = self->next_id++;
  pending->task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      pending->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (pending->cancel_source,
                             G_SOURCE_FUNC (execute_cancelled_cb), pending, NULL);
      g_source_attach (pending->cancel_source, g_main_context_get_thread_default ());
    }
  g_hash_table_insert (self->pending, &pending->id, pending);

  message = json_object_new ();
  json_object_set_string_member (message, "execute", command);
  if (arguments != NULL)
    json_object_set_object_member (message, "arguments", json_object_ref (arguments));
  json_object_set_int_member (message, "id", pending->id);
  send_object (self, message);

  start_read (self);
}

JsonNode *
chronos_qmp_execute_finish (ChronosQmp   *self,
                            GAsyncResult *result,
                            GError      **error)
{
  g_return_val_if_fail (CHRONOS_IS_QMP (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

JsonObject *
chronos_qmp_get_greeting (ChronosQmp *self)
{
  g_return_val_if_fail (CHRONOS_IS_QMP (self), NULL);

  return self->greeting;
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

gboolean
chronos_qmp_get_version (ChronosQmp *self,
                         guint      *major,
                         guint      *minor,
                         guint      *micro)
{
  JsonObject *version;
  JsonObject *qemu;

  g_return_val_if_fail (CHRONOS_IS_QMP (self), FALSE);

  if (self->greeting == NULL)
    return FALSE;

  version = object_member (self->greeting, "version");
  qemu = version ? object_member (version, "qemu") : NULL;
  if (qemu == NULL)
    return FALSE;

  if (major != NULL)
    *major = uint_member (qemu, "major");
  if (minor != NULL)
    *minor = uint_member (qemu, "minor");
  if (micro != NULL)
    *micro = uint_member (qemu, "micro");
  return TRUE;
}

gboolean
chronos_qmp_is_closed (ChronosQmp *self)
{
  g_return_val_if_fail (CHRONOS_IS_QMP (self), TRUE);

  return self->closed;
}

void
chronos_qmp_close (ChronosQmp *self)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (CHRONOS_IS_QMP (self));

  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                               _ ("The monitor connection was closed."));
  close_with_error (self, error);
}

/* Connecting: QEMU creates its socket a moment after it starts, so a
 * missing or refusing socket is retried until the deadline. */

typedef struct
{
  char          *socket_path;
  gint64         deadline;
  GSocketClient *client;
  ChronosQmp    *qmp;
  guint          retry_id;
  guint          timeout_id;
} ConnectData;

static void
connect_data_free (gpointer data)
{
  ConnectData *cd = data;

  g_clear_handle_id (&cd->retry_id, g_source_remove);
  g_clear_handle_id (&cd->timeout_id, g_source_remove);
  g_free (cd->socket_path);
  g_clear_object (&cd->client);
  g_clear_object (&cd->qmp);
  g_free (cd);
}

static void try_connect (GTask *task);

static gboolean
retry_cb (gpointer user_data)
{
  GTask       *task = user_data;
  ConnectData *cd = g_task_get_task_data (task);

  cd->retry_id = 0;
  if (!g_task_return_error_if_cancelled (task))
    try_connect (task);
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static gboolean
negotiate_timeout_cb (gpointer user_data)
{
  ConnectData *cd = user_data;
  g_autoptr (GError) error = NULL;

  cd->timeout_id = 0;
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               _ ("QEMU did not answer on its monitor connection in time."));
  close_with_error (cd->qmp, error);
  return G_SOURCE_REMOVE;
}

static void
negotiate_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  ConnectData *cd = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&cd->timeout_id, g_source_remove);

  if (!chronos_qmp_negotiate_finish (CHRONOS_QMP (object), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_steal_pointer (&cd->qmp), g_object_unref);
}

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  ConnectData *cd = g_task_get_task_data (task);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;
  GCancellable *cancellable;
  gint64        remaining_ms;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  remaining_ms = (cd->deadline - g_get_monotonic_time ()) / 1000;

  if (connection == NULL)
    {
      if ((g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)) &&
          remaining_ms > 0)
        {
          cd->retry_id = g_timeout_add (MIN (20, remaining_ms), retry_cb, g_steal_pointer (&task));
          return;
        }

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                 _ ("Could not connect to QEMU’s monitor socket %s: %s"),
                                 cd->socket_path, error->message);
      return;
    }

  cd->qmp = chronos_qmp_new (G_IO_STREAM (connection));
  /* QEMU answers at once once it accepted us; give a slow, busy host a
   * few seconds past the connect deadline. */
  cd->timeout_id = g_timeout_add (MAX (remaining_ms, 0) + 10000, negotiate_timeout_cb, cd);
  cancellable = g_task_get_cancellable (task);
  chronos_qmp_negotiate_async (cd->qmp, cancellable, negotiate_cb, g_steal_pointer (&task));
}

static void
try_connect (GTask *task)
{
  ConnectData *cd = g_task_get_task_data (task);
  g_autoptr (GSocketAddress) address = NULL;

  address = g_unix_socket_address_new (cd->socket_path);
  g_socket_client_connect_async (cd->client, G_SOCKET_CONNECTABLE (address),
                                 g_task_get_cancellable (task),
                                 connect_cb, g_object_ref (task));
}

void
chronos_qmp_connect_async (const char         *socket_path,
                           guint               timeout_ms,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  ConnectData *cd;

  g_return_if_fail (socket_path != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_qmp_connect_async);

  cd = g_new0 (ConnectData, 1);
  cd->socket_path = g_strdup (socket_path);
  cd->deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  cd->client = g_socket_client_new ();
  g_socket_client_set_family (cd->client, G_SOCKET_FAMILY_UNIX);
  g_task_set_task_data (task, cd, connect_data_free);

  try_connect (task);
}

ChronosQmp *
chronos_qmp_connect_finish (GAsyncResult *result,
                            GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
