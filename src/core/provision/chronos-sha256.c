/* chronos-sha256.c: SHA-256 of a download, with the CPU's SHA instructions where there are some
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Hashing is most of the CPU time of an install: GChecksum's portable
 * SHA-256 runs at about 500 MB/s here, as fast as sha256sum, while
 * Nettle (already in every process that speaks TLS, through GnuTLS)
 * picks the x86 SHA extensions or ARMv8 crypto instructions at run time
 * and is three to four times faster. Builds without Nettle use GChecksum;
 * the digests are the same (tests/provision/test-sha256.c compares them).
 *
 * Unlike GChecksum, reading the digest does not end the computation: the
 * state is copied first, so a caller may read it and go on.
 */

#include "config.h"

#ifdef CHRONOS_HAVE_NETTLE
#include <nettle/sha2.h>
#endif

#include "chronos-sha256.h"

struct _ChronosSha256
{
#ifdef CHRONOS_HAVE_NETTLE
  struct sha256_ctx ctx;
#else
  GChecksum *checksum;
#endif
};

ChronosSha256 *
chronos_sha256_new (void)
{
  ChronosSha256 *self = g_new0 (ChronosSha256, 1);

#ifdef CHRONOS_HAVE_NETTLE
  sha256_init (&self->ctx);
#else
  self->checksum = g_checksum_new (G_CHECKSUM_SHA256);
#endif
  return self;
}

void
chronos_sha256_free (ChronosSha256 *self)
{
  if (self == NULL)
    return;

#ifndef CHRONOS_HAVE_NETTLE
  g_checksum_free (self->checksum);
#endif
  g_free (self);
}

void
chronos_sha256_reset (ChronosSha256 *self)
{
  g_return_if_fail (self != NULL);

#ifdef CHRONOS_HAVE_NETTLE
  sha256_init (&self->ctx);
#else
  g_checksum_reset (self->checksum);
#endif
}

void
chronos_sha256_update (ChronosSha256 *self,
                       const void    *data,
                       gsize          length)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (data != NULL || length == 0);

#ifdef CHRONOS_HAVE_NETTLE
  sha256_update (&self->ctx, length, data);
#else
  /* GChecksum takes a gssize. */
  while (length > 0)
    {
      gsize chunk = MIN (length, (gsize)G_MAXSSIZE);

      g_checksum_update (self->checksum, data, chunk);
      data = (const guint8 *)data + chunk;
      length -= chunk;
    }
#endif
}

/* Returns the digest so far as 64 lower-case hex digits; @self can go on. */
char *
chronos_sha256_get_string (ChronosSha256 *self)
{
  g_return_val_if_fail (self != NULL, NULL);

#ifdef CHRONOS_HAVE_NETTLE
  {
    struct sha256_ctx copy = self->ctx;
    guint8            digest[SHA256_DIGEST_SIZE];
    char             *hex = g_malloc (2 * SHA256_DIGEST_SIZE + 1);

    sha256_digest (&copy, sizeof digest, digest);
    for (guint i = 0; i < SHA256_DIGEST_SIZE; i++)
      {
        hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 0xf];
      }
    hex[2 * SHA256_DIGEST_SIZE] = '\0';
    return hex;
  }
#else
  {
    g_autoptr (GChecksum) copy = g_checksum_copy (self->checksum);

    return g_strdup (g_checksum_get_string (copy));
  }
#endif
}

/**
 * chronos_sha256_update_from_stream:
 * @buffer: scratch space of @buffer_size bytes
 * @out_length: (out): how many bytes were read and hashed, also on error
 *
 * Hashes @stream to its end.
 */
gboolean
chronos_sha256_update_from_stream (ChronosSha256 *self,
                                   GInputStream  *stream,
                                   guint8        *buffer,
                                   gsize          buffer_size,
                                   guint64       *out_length,
                                   GCancellable  *cancellable,
                                   GError       **error)
{
  gssize n;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), FALSE);
  g_return_val_if_fail (buffer != NULL && buffer_size > 0, FALSE);
  g_return_val_if_fail (out_length != NULL, FALSE);

  *out_length = 0;
  while ((n = g_input_stream_read (stream, buffer, buffer_size, cancellable, error)) > 0)
    {
      chronos_sha256_update (self, buffer, n);
      *out_length += n;
    }
  return n == 0;
}

/* "nettle" or "glib", for benchmarks and bug reports. */
const char *
chronos_sha256_get_backend (void)
{
#ifdef CHRONOS_HAVE_NETTLE
  return "nettle";
#else
  return "glib";
#endif
}
