/* chronos-crc.h: the two CRC-32 variants disk images use
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* CRC-32C (Castagnoli), as VHDX headers, region tables and log entries use.
 * Pass 0 as @crc to start; feed the result back in to continue. */
guint32 chronos_crc32c (guint32     crc,
                        const void *data,
                        gsize       length);

/* CRC-32 (IEEE 802.3, the zlib one), as GPT headers and entry arrays use.
 * Pass 0 as @crc to start; feed the result back in to continue. */
guint32 chronos_crc32 (guint32     crc,
                       const void *data,
                       gsize       length);

G_END_DECLS
