/* fuzz-qmp.c: libFuzzer target for the QMP client's message handling
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * ChronosQmp only has a stream client, so the input plays QEMU: it is the
 * whole byte stream the client reads (greeting, replies, events, garbage),
 * served from a GMemoryInputStream, while the client's own writes go to a
 * GMemoryOutputStream. The client negotiates, sends a few commands (ids 1
 * to 5 on the wire, one of them cancelled part way) and the main context
 * runs until the stream ends. Every callback must run exactly once, and the
 * client must end up closed; warnings and criticals abort.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chronos-qmp.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* More iterations than any input of -max_len bytes can need. */
#define MAX_ITERATIONS 200000

typedef struct
{
  GCancellable *cancellable;
  guint         outstanding;
  guint         events;
  guint         closed;
} State;

static void send_commands (ChronosQmp *qmp,
                           State      *state);

static void
fatal_log_cb (const char    *domain,
              GLogLevelFlags level,
              const char    *message,
              gpointer       user_data)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR))
    abort ();
}

static void
event_cb (ChronosQmp *qmp,
          const char *name,
          JsonObject *event_data,
          gpointer    user_data)
{
  State *state = user_data;
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  if (name == NULL || *name == '\0' || event_data == NULL)
    abort ();
  json_node_set_object (node, event_data);
  text = json_to_string (node, FALSE);
  state->events++;
}

static void
closed_cb (ChronosQmp *qmp,
           gpointer    user_data)
{
  State *state = user_data;

  state->closed++;
}

static void
negotiate_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  ChronosQmp *qmp = CHRONOS_QMP (object);
  State      *state = user_data;
  g_autoptr (GError) error = NULL;
  guint major, minor, micro;

  if (chronos_qmp_negotiate_finish (qmp, result, &error))
    {
      if (error != NULL || chronos_qmp_get_greeting (qmp) == NULL)
        abort ();
      chronos_qmp_get_version (qmp, &major, &minor, &micro);
      send_commands (qmp, state);
    }
  else if (error == NULL)
    abort ();
  state->outstanding--;
}

static void
execute_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  State *state = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ret = NULL;

  ret = chronos_qmp_execute_finish (CHRONOS_QMP (object), result, &error);
  if ((ret == NULL) == (error == NULL))
    abort ();
  if (ret != NULL)
    {
      g_autofree char *text = json_to_string (ret, FALSE);
    }
  state->outstanding--;
}

/* Commands only after negotiation, as the header asks. */
static void
send_commands (ChronosQmp *qmp,
               State      *state)
{
  static const char *const commands[] = { "query-status", "query-kvm", "screendump", "quit" };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr (JsonObject) arguments = NULL;

      if (i == 2)
        {
          arguments = json_object_new ();
          json_object_set_string_member (arguments, "filename", "/nonexistent/screen.png");
          json_object_set_string_member (arguments, "format", "png");
        }
      state->outstanding++;
      chronos_qmp_execute_async (qmp, commands[i], arguments,
                                 i == 1 ? state->cancellable : NULL, execute_cb, state);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static gboolean initialized;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  ChronosQmp *qmp;
  State       state = { 0 };
  guint       cancel_at = size > 0 ? data[0] % 16 : 0;
  guint       iterations = 0;

  if (!initialized)
    {
      g_log_set_default_handler (fatal_log_cb, NULL);
      initialized = TRUE;
    }

  bytes = g_bytes_new (data, size);
  in = g_memory_input_stream_new_from_bytes (bytes);
  out = g_memory_output_stream_new_resizable ();
  stream = g_simple_io_stream_new (in, out);

  qmp = chronos_qmp_new (stream);
  g_signal_connect (qmp, "event", G_CALLBACK (event_cb), &state);
  g_signal_connect (qmp, "closed", G_CALLBACK (closed_cb), &state);

  state.cancellable = cancellable;
  state.outstanding++;
  chronos_qmp_negotiate_async (qmp, NULL, negotiate_cb, &state);

  while (state.outstanding > 0 || !chronos_qmp_is_closed (qmp))
    {
      if (++iterations > MAX_ITERATIONS)
        abort ();
      if (iterations == cancel_at)
        g_cancellable_cancel (cancellable);
      g_main_context_iteration (NULL, TRUE);
    }
  if (state.closed != 1)
    abort ();

  g_object_unref (qmp);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  return 0;
}
