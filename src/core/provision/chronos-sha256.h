/* chronos-sha256.h: SHA-256 of a download, with the CPU's SHA instructions where there are some
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _ChronosSha256 ChronosSha256;

ChronosSha256 *chronos_sha256_new (void);
void           chronos_sha256_free (ChronosSha256 *self);
void           chronos_sha256_reset (ChronosSha256 *self);
void           chronos_sha256_update (ChronosSha256 *self,
                                      const void    *data,
                                      gsize          length);
char          *chronos_sha256_get_string (ChronosSha256 *self);
gboolean       chronos_sha256_update_from_stream (ChronosSha256 *self,
                                                  GInputStream  *stream,
                                                  guint8        *buffer,
                                                  gsize          buffer_size,
                                                  guint64       *out_length,
                                                  GCancellable  *cancellable,
                                                  GError       **error);
const char    *chronos_sha256_get_backend (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosSha256, chronos_sha256_free)

G_END_DECLS
