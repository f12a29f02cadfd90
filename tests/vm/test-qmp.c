/* test-qmp.c: the QMP client against a scripted peer and against real QEMU
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chronos-qemu-error.h"
#include "chronos-qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"test\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* The scripted peer: the test's end of a socket pair, non-blocking, driven
 * while the main context runs so the client under test keeps working. */
typedef struct
{
  int         fd;
  GString    *inbuf;
  ChronosQmp *qmp;
  GPtrArray  *events; /* "NAME" strings in arrival order */
  GPtrArray  *order;  /* "event:NAME" / "reply:CMD" in arrival order */
  guint       closed_count;
} Fixture;

static void
iterate (void)
{
  g_main_context_iteration (NULL, FALSE);
  g_usleep (1000);
}

static void
peer_write (Fixture    *fx,
            const char *data,
            gsize       length)
{
  gsize  done = 0;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (done < length)
    {
      ssize_t n = send (fx->fd, data + done, length - done, MSG_DONTWAIT | MSG_NOSIGNAL);

      if (n > 0)
        done += n;
      else if (n < 0 && errno == EAGAIN)
        iterate ();
      else if (n < 0 && errno == EPIPE)
        return; /* the client hung up, which some tests expect */
      else
        g_error ("send: %s", g_strerror (errno));
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
}

static void
peer_send (Fixture    *fx,
           const char *line)
{
  peer_write (fx, line, strlen (line));
}

/* Returns the next line the client sent, parsed. */
static JsonObject *
peer_receive (Fixture *fx)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  for (;;)
    {
      char   *newline = strchr (fx->inbuf->str, '\n');
      char    buffer[4096];
      ssize_t n;

      if (newline != NULL)
        {
          g_autoptr (JsonParser) parser = json_parser_new ();
          g_autofree char *line = g_strndup (fx->inbuf->str, newline - fx->inbuf->str);
          g_autoptr (GError) error = NULL;

          g_string_erase (fx->inbuf, 0, newline - fx->inbuf->str + 1);
          g_assert_true (g_str_has_suffix (line, "\r"));
          json_parser_load_from_data (parser, line, -1, &error);
          g_assert_no_error (error);
          return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
        }

      n = recv (fx->fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0)
        g_string_append_len (fx->inbuf, buffer, n);
      else if (n < 0 && errno == EAGAIN)
        iterate ();
      else
        g_error ("recv: %s", n == 0 ? "EOF" : g_strerror (errno));
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
}

static void
event_cb (ChronosQmp *qmp,
          const char *name,
          JsonObject *data,
          gpointer    user_data)
{
  Fixture *fx = user_data;

  g_assert_nonnull (data);
  g_ptr_array_add (fx->events, g_strdup (name));
  g_ptr_array_add (fx->order, g_strdup_printf ("event:%s", name));
}

static void
closed_cb (ChronosQmp *qmp,
           gpointer    user_data)
{
  Fixture *fx = user_data;

  fx->closed_count++;
}

static void
done_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (*slot == NULL)
    {
      g_main_context_iteration (NULL, FALSE);
      if (*slot == NULL)
        g_usleep (1000);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  return *slot;
}

static void
fixture_setup (Fixture      *fx,
               gconstpointer data)
{
  int fds[2];
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  fx->fd = fds[0];
  socket = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  fx->qmp = chronos_qmp_new (G_IO_STREAM (connection));
  fx->inbuf = g_string_new (NULL);
  fx->events = g_ptr_array_new_with_free_func (g_free);
  fx->order = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (fx->qmp, "event", G_CALLBACK (event_cb), fx);
  g_signal_connect (fx->qmp, "closed", G_CALLBACK (closed_cb), fx);
}

static void
fixture_teardown (Fixture      *fx,
                  gconstpointer data)
{
  g_assert_finalize_object (fx->qmp);
  close (fx->fd);
  g_string_free (fx->inbuf, TRUE);
  g_ptr_array_unref (fx->events);
  g_ptr_array_unref (fx->order);
  /* Let the stream's close finish. */
  for (int i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
}

/* Greeting, then qmp_capabilities with an id, as QEMU expects. */
static void
negotiate (Fixture *fx)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonObject) command = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *reply = NULL;

  chronos_qmp_negotiate_async (fx->qmp, NULL, done_cb, &result);
  peer_send (fx, GREETING);
  command = peer_receive (fx);
  g_assert_cmpstr (json_object_get_string_member (command, "execute"), ==, "qmp_capabilities");
  g_assert_true (json_object_has_member (command, "id"));
  g_assert_false (json_object_has_member (command, "arguments"));
  reply = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n",
                           json_object_get_int_member (command, "id"));
  peer_send (fx, reply);
  wait_result (&result);
  g_assert_true (chronos_qmp_negotiate_finish (fx->qmp, result, &error));
  g_assert_no_error (error);
}

static void
test_negotiate (Fixture      *fx,
                gconstpointer data)
{
  guint major, minor, micro;

  g_assert_false (chronos_qmp_get_version (fx->qmp, &major, &minor, &micro));
  negotiate (fx);
  g_assert_true (chronos_qmp_get_version (fx->qmp, &major, &minor, &micro));
  g_assert_cmpuint (major, ==, 7);
  g_assert_cmpuint (minor, ==, 2);
  g_assert_cmpuint (micro, ==, 22);
  g_assert_nonnull (chronos_qmp_get_greeting (fx->qmp));
  g_assert_false (chronos_qmp_is_closed (fx->qmp));
}

typedef struct
{
  Fixture      *fx;
  GAsyncResult *result;
  const char   *name;
} Call;

static void
call_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Call *call = user_data;

  call->result = g_object_ref (result);
  g_ptr_array_add (call->fx->order, g_strdup_printf ("reply:%s", call->name));
}

/* Events interleave with replies and are delivered in order; replies are
 * matched by id, not by position. */
static void
test_events_and_ids (Fixture      *fx,
                     gconstpointer data)
{
  Call first = { fx, NULL, "query-status" };
  Call second = { fx, NULL, "query-kvm" };
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonObject) c1 = NULL;
  g_autoptr (JsonObject) c2 = NULL;
  g_autoptr (JsonNode) r1 = NULL;
  g_autoptr (JsonNode) r2 = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;

  negotiate (fx);

  json_object_set_string_member (args, "path", "/machine");
  chronos_qmp_execute_async (fx->qmp, "query-status", NULL, NULL, call_cb, &first);
  chronos_qmp_execute_async (fx->qmp, "query-kvm", args, NULL, call_cb, &second);
  c1 = peer_receive (fx);
  c2 = peer_receive (fx);
  g_assert_cmpstr (json_object_get_string_member (c1, "execute"), ==, "query-status");
  g_assert_cmpstr (json_object_get_string_member (c2, "execute"), ==, "query-kvm");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (c2, "arguments"), "path"),
                   ==, "/machine");
  g_assert_cmpint (json_object_get_int_member (c1, "id"), !=, json_object_get_int_member (c2, "id"));

  /* An event first, then the second reply, another event, the first reply. */
  peer_send (fx, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n");
  line = g_strdup_printf ("{\"return\": {\"enabled\": true, \"present\": true}, \"id\": %" G_GINT64_FORMAT "}\r\n",
                          json_object_get_int_member (c2, "id"));
  peer_send (fx, line);
  peer_send (fx, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\n");
  g_free (line);
  line = g_strdup_printf ("{\"return\": {\"status\": \"running\"}, \"id\": %" G_GINT64_FORMAT "}\r\n",
                          json_object_get_int_member (c1, "id"));
  peer_send (fx, line);

  wait_result (&first.result);
  wait_result (&second.result);
  g_assert_cmpuint (fx->order->len, ==, 4);
  g_assert_cmpstr (fx->order->pdata[0], ==, "event:STOP");
  g_assert_cmpstr (fx->order->pdata[1], ==, "reply:query-kvm");
  g_assert_cmpstr (fx->order->pdata[2], ==, "event:SHUTDOWN");
  g_assert_cmpstr (fx->order->pdata[3], ==, "reply:query-status");

  r1 = chronos_qmp_execute_finish (fx->qmp, first.result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (r1), "status"), ==, "running");
  r2 = chronos_qmp_execute_finish (fx->qmp, second.result, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (r2), "present"));
  g_object_unref (first.result);
  g_object_unref (second.result);
}

static void
detail_cb (ChronosQmp *qmp,
           const char *name,
           JsonObject *data,
           gpointer    user_data)
{
  gboolean *guest = user_data;

  *guest = json_object_get_boolean_member (data, "guest");
}

static void
test_event_detail (Fixture      *fx,
                   gconstpointer data)
{
  gboolean guest = FALSE;
  gint64   deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_signal_connect (fx->qmp, "event::SHUTDOWN", G_CALLBACK (detail_cb), &guest);
  negotiate (fx);
  peer_send (fx, "{\"event\": \"POWERDOWN\"}\r\n");
  peer_send (fx, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}\r\n");
  while (fx->events->len < 2)
    {
      iterate ();
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_true (guest);
  g_assert_cmpstr (fx->events->pdata[0], ==, "POWERDOWN");
}

static void
test_error_reply (Fixture      *fx,
                  gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonObject) command = NULL;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;

  negotiate (fx);
  chronos_qmp_execute_async (fx->qmp, "human-monitor-command", NULL, NULL, done_cb, &result);
  command = peer_receive (fx);
  line = g_strdup_printf ("{\"id\": %" G_GINT64_FORMAT ", \"error\": {\"class\": \"GenericError\", "
                          "\"desc\": \"Block node is read-only\"}}\r\n",
                          json_object_get_int_member (command, "id"));
  peer_send (fx, line);
  wait_result (&result);
  ret = chronos_qmp_execute_finish (fx->qmp, result, &error);
  g_assert_null (ret);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "Block node is read-only");
  g_assert_false (chronos_qmp_is_closed (fx->qmp));
}

/* A cancelled command returns at once; its late reply is dropped and the
 * connection stays usable. */
static void
test_cancel (Fixture      *fx,
             gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GAsyncResult) r1 = NULL;
  g_autoptr (GAsyncResult) r2 = NULL;
  g_autoptr (JsonObject) c1 = NULL;
  g_autoptr (JsonObject) c2 = NULL;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;

  negotiate (fx);
  chronos_qmp_execute_async (fx->qmp, "query-status", NULL, cancellable, done_cb, &r1);
  c1 = peer_receive (fx);
  g_cancellable_cancel (cancellable);
  wait_result (&r1);
  ret = chronos_qmp_execute_finish (fx->qmp, r1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  line = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n",
                          json_object_get_int_member (c1, "id"));
  peer_send (fx, line);
  chronos_qmp_execute_async (fx->qmp, "query-kvm", NULL, NULL, done_cb, &r2);
  c2 = peer_receive (fx);
  g_free (line);
  line = g_strdup_printf ("{\"return\": 42, \"id\": %" G_GINT64_FORMAT "}\r\n",
                          json_object_get_int_member (c2, "id"));
  peer_send (fx, line);
  wait_result (&r2);
  ret = chronos_qmp_execute_finish (fx->qmp, r2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (ret), ==, 42);
}

/* EOF fails what is pending, emits "closed" once, and later commands fail
 * at once. */
static void
test_eof (Fixture      *fx,
          gconstpointer data)
{
  g_autoptr (GAsyncResult) r1 = NULL;
  g_autoptr (GAsyncResult) r2 = NULL;
  g_autoptr (JsonObject) c1 = NULL;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;

  negotiate (fx);
  chronos_qmp_execute_async (fx->qmp, "quit", NULL, NULL, done_cb, &r1);
  c1 = peer_receive (fx);
  peer_send (fx, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n");
  shutdown (fx->fd, SHUT_RDWR);
  wait_result (&r1);
  ret = chronos_qmp_execute_finish (fx->qmp, r1, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (fx->events->len, ==, 1);
  g_assert_cmpuint (fx->closed_count, ==, 1);
  g_assert_true (chronos_qmp_is_closed (fx->qmp));

  chronos_qmp_execute_async (fx->qmp, "query-status", NULL, NULL, done_cb, &r2);
  wait_result (&r2);
  ret = chronos_qmp_execute_finish (fx->qmp, r2, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  chronos_qmp_close (fx->qmp);
  g_assert_cmpuint (fx->closed_count, ==, 1);
}

/* A peer that never ends its line must not make the client buffer without
 * bound. */
static void
test_line_too_long (Fixture      *fx,
                    gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *junk = NULL;
  gsize            size = CHRONOS_QMP_MAX_LINE + 65536;

  negotiate (fx);
  chronos_qmp_execute_async (fx->qmp, "query-status", NULL, NULL, done_cb, &result);
  junk = g_malloc (size);
  memset (junk, ' ', size);
  junk[0] = '"';
  peer_write (fx, junk, size);
  wait_result (&result);
  ret = chronos_qmp_execute_finish (fx->qmp, result, &error);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_PROTOCOL);
  g_assert_true (chronos_qmp_is_closed (fx->qmp));
  g_assert_cmpuint (fx->closed_count, ==, 1);
}

static void
test_garbage (Fixture      *fx,
              gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  chronos_qmp_negotiate_async (fx->qmp, NULL, done_cb, &result);
  peer_send (fx, "{\"not-qmp\": 1}\r\n");
  wait_result (&result);
  g_assert_false (chronos_qmp_negotiate_finish (fx->qmp, result, &error));
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_PROTOCOL);
  g_assert_true (chronos_qmp_is_closed (fx->qmp));
}

static void
test_invalid_json (Fixture      *fx,
                   gconstpointer data)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;

  negotiate (fx);
  chronos_qmp_execute_async (fx->qmp, "query-status", NULL, NULL, done_cb, &result);
  peer_send (fx, "{\"return\": \r\n");
  wait_result (&result);
  ret = chronos_qmp_execute_finish (fx->qmp, result, &error);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_PROTOCOL);
}

static void
test_connect_timeout (void)
{
  g_autofree char *path = g_build_filename (g_get_user_runtime_dir (), "no-such.sock", NULL);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (ChronosQmp) qmp = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  chronos_qmp_connect_async (path, 300, NULL, done_cb, &result);
  wait_result (&result);
  qmp = chronos_qmp_connect_finish (result, &error);
  g_assert_null (qmp);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 250 * 1000);
}

/* Real QEMU: connect before the socket exists, query, watch the events of
 * "cont" and "quit", and see the connection close. */
static void
test_real_qemu (void)
{
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");
  g_autofree char *dir = NULL;
  g_autofree char *sock = NULL;
  g_autofree char *qmp_arg = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (ChronosQmp) qmp = NULL;
  g_autoptr (JsonNode) ret = NULL;
  g_autoptr (GError) error = NULL;
  Fixture fx = { 0 };
  gint64  deadline;

  if (qemu == NULL)
    {
      g_test_skip ("qemu-system-x86_64 is not installed");
      return;
    }

  dir = g_build_filename (g_get_user_runtime_dir (), "qmp-test", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  sock = g_build_filename (dir, "qmp.sock", NULL);

  /* Ask for the connection first: it must wait for the socket. */
  chronos_qmp_connect_async (sock, 60000, NULL, done_cb, &result);
  qmp_arg = g_strdup_printf ("unix:%s,server=on,wait=off", sock);
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, qemu, "-machine", "q35", "-accel", "tcg",
                              "-display", "none", "-nodefaults", "-S", "-m", "32",
                              "-qmp", qmp_arg, NULL);
  g_assert_no_error (error);

  wait_result (&result);
  qmp = chronos_qmp_connect_finish (result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  fx.events = g_ptr_array_new_with_free_func (g_free);
  fx.order = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (qmp, "event", G_CALLBACK (event_cb), &fx);
  g_signal_connect (qmp, "closed", G_CALLBACK (closed_cb), &fx);

  chronos_qmp_execute_async (qmp, "query-status", NULL, NULL, done_cb, &result);
  wait_result (&result);
  ret = chronos_qmp_execute_finish (qmp, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (ret), "status"), ==, "prelaunch");
  g_clear_object (&result);
  g_clear_pointer (&ret, json_node_unref);

  chronos_qmp_execute_async (qmp, "no-such-command", NULL, NULL, done_cb, &result);
  wait_result (&result);
  ret = chronos_qmp_execute_finish (qmp, result, &error);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "no-such-command"));
  g_clear_error (&error);
  g_clear_object (&result);

  chronos_qmp_execute_async (qmp, "cont", NULL, NULL, done_cb, &result);
  wait_result (&result);
  ret = chronos_qmp_execute_finish (qmp, result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_clear_pointer (&ret, json_node_unref);

  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (fx.events->len < 1)
    {
      iterate ();
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_cmpstr (fx.events->pdata[0], ==, "RESUME");

  chronos_qmp_execute_async (qmp, "quit", NULL, NULL, done_cb, &result);
  wait_result (&result);
  ret = chronos_qmp_execute_finish (qmp, result, &error);
  /* QEMU answers quit and then closes; either order is fine. */
  if (error != NULL)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);

  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (fx.closed_count == 0)
    {
      iterate ();
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_true (g_ptr_array_find_with_equal_func (fx.events, "SHUTDOWN", g_str_equal, NULL));

  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));

  g_signal_handlers_disconnect_by_data (qmp, &fx);
  g_ptr_array_unref (fx.events);
  g_ptr_array_unref (fx.order);
}

int
main (int   argc,
      char *argv[])
{
  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/qmp/negotiate", test_negotiate);
  ADD ("/qmp/events-and-ids", test_events_and_ids);
  ADD ("/qmp/event-detail", test_event_detail);
  ADD ("/qmp/error-reply", test_error_reply);
  ADD ("/qmp/cancel", test_cancel);
  ADD ("/qmp/eof", test_eof);
  ADD ("/qmp/line-too-long", test_line_too_long);
  ADD ("/qmp/not-a-greeting", test_garbage);
  ADD ("/qmp/invalid-json", test_invalid_json);
#undef ADD
  g_test_add_func ("/qmp/connect-timeout", test_connect_timeout);
  g_test_add_func ("/qmp/real-qemu", test_real_qemu);

  return g_test_run ();
}
