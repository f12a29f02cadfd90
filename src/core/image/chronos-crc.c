/* chronos-crc.c: table-driven CRC-32C and CRC-32
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Both are reflected CRCs with an all-ones initial value and final XOR;
 * they differ only in the polynomial. The tables are built once, thread
 * safely, so readers on several threads can checksum at the same time.
 */

#include "config.h"

#include <string.h>

#include "chronos-crc.h"

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, reflected */
#define CRC32_POLY 0xEDB88320u  /* IEEE 802.3, reflected */

static guint32 crc32c_table[256];
static guint32 crc32_table[256];

static void
build_table (guint32 *table,
             guint32  poly)
{
  for (guint32 i = 0; i < 256; i++)
    {
      guint32 c = i;

      for (guint k = 0; k < 8; k++)
        c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
      table[i] = c;
    }
}

static void
ensure_tables (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      build_table (crc32c_table, CRC32C_POLY);
      build_table (crc32_table, CRC32_POLY);
      g_once_init_leave (&initialized, 1);
    }
}

static guint32
crc_update (const guint32 *table,
            guint32        crc,
            const void    *data,
            gsize          length)
{
  const guint8 *p = data;

  crc = ~crc;
  for (gsize i = 0; i < length; i++)
    crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_HW_CRC32C 1

/* a * b modulo the CRC-32C polynomial, in the reflected bit order. */
static guint32
crc32c_multiply (guint32 a,
                 guint32 b)
{
  guint32 product = 0;

  for (guint i = 0; i < 32; i++)
    {
      if (b & 0x80000000u)
        product ^= a;
      b <<= 1;
      a = (a & 1) ? (a >> 1) ^ CRC32C_POLY : a >> 1;
    }
  return product;
}

/* x^(8 * @bytes) modulo the polynomial: what appending @bytes zero bytes
 * multiplies a CRC register by. */
static guint32
crc32c_shift (gsize bytes)
{
  guint32 result = 0x80000000u; /* 1 */
  guint32 power = 0x00800000u;  /* x^8 */

  for (; bytes > 0; bytes >>= 1)
    {
      if (bytes & 1)
        result = crc32c_multiply (result, power);
      power = crc32c_multiply (power, power);
    }
  return result;
}
/* SSE4.2's crc32 instruction computes exactly CRC-32C, 8 bytes a cycle or
 * so: listing a folder of backups checksums 136 KiB of headers and region
 * tables per image, and the table loop made that most of the time. */
__attribute__ ((target ("sse4.2"))) static guint32
crc32c_hw (guint32     crc,
           const void *data,
           gsize       length)
{
  const guint8 *p = data;
  guint64       c = ~crc & 0xFFFFFFFFu;

  while (length > 0 && ((guintptr)p & 7) != 0)
    {
      c = __builtin_ia32_crc32qi ((guint32)c, *p++);
      length--;
    }
  /* Three independent streams hide the instruction's latency (three
   * cycles, one a cycle in flight); they are joined by shifting the first
   * two over the bytes that follow them (multiplication by x^(8n) mod P). */
  if (length >= 3 * 1024)
    {
      gsize   lane = length / 24 * 8;
      guint64 c1 = 0, c2 = 0;
      guint32 shift = crc32c_shift (lane);

      for (gsize i = 0; i < lane; i += 8)
        {
          guint64 w0, w1, w2;

          memcpy (&w0, p + i, 8);
          memcpy (&w1, p + lane + i, 8);
          memcpy (&w2, p + 2 * lane + i, 8);
          c = __builtin_ia32_crc32di (c, w0);
          c1 = __builtin_ia32_crc32di (c1, w1);
          c2 = __builtin_ia32_crc32di (c2, w2);
        }
      c = crc32c_multiply ((guint32)c, shift) ^ (guint32)c1;
      c = crc32c_multiply ((guint32)c, shift) ^ (guint32)c2;
      p += 3 * lane;
      length -= 3 * lane;
    }
  while (length >= 8)
    {
      guint64 word;

      memcpy (&word, p, 8);
      c = __builtin_ia32_crc32di (c, word);
      p += 8;
      length -= 8;
    }
  while (length > 0)
    {
      c = __builtin_ia32_crc32qi ((guint32)c, *p++);
      length--;
    }
  return ~(guint32)c;
}
#endif

guint32
chronos_crc32c (guint32     crc,
                const void *data,
                gsize       length)
{
#ifdef HAVE_HW_CRC32C
  static int have_hw = -1;

  if (G_UNLIKELY (have_hw < 0))
    {
      __builtin_cpu_init ();
      have_hw = __builtin_cpu_supports ("sse4.2") ? 1 : 0;
    }
  if (have_hw)
    return crc32c_hw (crc, data, length);
#endif
  ensure_tables ();
  return crc_update (crc32c_table, crc, data, length);
}

guint32
chronos_crc32 (guint32     crc,
               const void *data,
               gsize       length)
{
  ensure_tables ();
  return crc_update (crc32_table, crc, data, length);
}
