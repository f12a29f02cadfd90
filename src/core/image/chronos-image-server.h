/* chronos-image-server.h: a read-only NBD export of a backup image on a Unix socket
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-image-chain.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_IMAGE_SERVER (chronos_image_server_get_type ())

G_DECLARE_FINAL_TYPE (ChronosImageServer, chronos_image_server, CHRONOS, IMAGE_SERVER, GObject)

/* Opens @path and its parents (chronos_image_chain_open()) for serving.
 * Blocking (it validates every image): in code the app uses, call
 * chronos_image_server_new_async() instead. */
ChronosImageServer *chronos_image_server_new (const char *path,
                                              GError    **error);
void                chronos_image_server_new_async (const char         *path,
                                                    GCancellable       *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer            user_data);
ChronosImageServer *chronos_image_server_new_finish (GAsyncResult *result,
                                                     GError      **error);
ChronosImageServer *chronos_image_server_new_for_chain (ChronosImageChain *chain);

/* Listens on a new Unix socket at @socket_path (at most 107 bytes; an
 * existing socket nobody answers on is replaced, any other file is an
 * error) and serves the image read-only over NBD (fixed newstyle, simple
 * replies) from worker threads until chronos_image_server_stop(). Fast
 * and non-blocking enough for the main thread. Errors are G_IO_ERROR. */
gboolean chronos_image_server_start (ChronosImageServer *self,
                                     const char         *socket_path,
                                     GError            **error);
/* Closes every connection, waits for the worker threads and removes the
 * socket. Idempotent; also done on finalize. */
void chronos_image_server_stop (ChronosImageServer *self);

ChronosImageChain *chronos_image_server_get_chain (ChronosImageServer *self);
/* The socket path while started, or NULL. */
const char *chronos_image_server_get_socket_path (ChronosImageServer *self);
/* "nbd+unix:///?socket=PATH" (PATH percent-encoded) while started, or NULL:
 * what qemu-img, nbdinfo and `-blockdev driver=nbd` clients connect to. */
const char *chronos_image_server_get_nbd_uri (ChronosImageServer *self);
/* Clients connected now. */
guint chronos_image_server_get_n_clients (ChronosImageServer *self);

/* Signal "client-closed" (void (*) (ChronosImageServer *, gpointer)): a
 * client disconnected; emitted in the main context that was the thread
 * default when chronos_image_server_start() was called. */

G_END_DECLS
