/* chronos-qmp.h: asynchronous client for QEMU's machine protocol (QMP)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The longest line the client accepts from QEMU. The largest reply Chronos
 * asks for (qom-list of a CPU) is about 25 KiB; a line past this bound means
 * the peer is not the QEMU we started. */
#define CHRONOS_QMP_MAX_LINE (4 * 1024 * 1024)

#define CHRONOS_TYPE_QMP (chronos_qmp_get_type ())

G_DECLARE_FINAL_TYPE (ChronosQmp, chronos_qmp, CHRONOS, QMP, GObject)

/* Wraps an already connected stream; call chronos_qmp_negotiate_async()
 * before anything else. Replies and events are dispatched in the thread-default
 * main context current when this is called. */
ChronosQmp *chronos_qmp_new (GIOStream *stream);

/* Connects to the Unix socket at @socket_path, retrying while it does not
 * exist yet or refuses (QEMU creates it a moment after it starts) until
 * @timeout_ms has passed, then reads the greeting and sends
 * qmp_capabilities. */
void        chronos_qmp_connect_async (const char         *socket_path,
                                       guint               timeout_ms,
                                       GCancellable       *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
ChronosQmp *chronos_qmp_connect_finish (GAsyncResult *result,
                                        GError      **error);

/* Reads the greeting and leaves capabilities negotiation mode. */
void     chronos_qmp_negotiate_async (ChronosQmp         *self,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data);
gboolean chronos_qmp_negotiate_finish (ChronosQmp   *self,
                                       GAsyncResult *result,
                                       GError      **error);

/* Sends @command with @arguments (may be NULL). The result is the reply's
 * "return" member; a QMP error becomes a CHRONOS_QEMU_ERROR_FAILED GError
 * carrying QEMU's "desc". */
void      chronos_qmp_execute_async (ChronosQmp         *self,
                                     const char         *command,
                                     JsonObject         *arguments,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data);
JsonNode *chronos_qmp_execute_finish (ChronosQmp   *self,
                                      GAsyncResult *result,
                                      GError      **error);

/* The "QMP" object of the greeting, NULL before negotiation. */
JsonObject *chronos_qmp_get_greeting (ChronosQmp *self);
/* QEMU's version from the greeting, or FALSE before negotiation. */
gboolean chronos_qmp_get_version (ChronosQmp *self,
                                  guint      *major,
                                  guint      *minor,
                                  guint      *micro);
gboolean chronos_qmp_is_closed (ChronosQmp *self);
/* Closes the connection; pending commands fail with G_IO_ERROR_CLOSED and
 * "closed" is emitted (once). */
void chronos_qmp_close (ChronosQmp *self);

G_END_DECLS
