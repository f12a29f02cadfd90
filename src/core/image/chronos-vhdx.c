/* chronos-vhdx.c: a read-only, validating reader of VHDX disk images
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The layout follows Microsoft's MS-VHDX specification. Every number read
 * from the file is untrusted: offsets and lengths are checked against the
 * file size before use, counts are capped before anything is allocated,
 * and nothing is ever written. A pending log is replayed into an in-memory
 * overlay of 4 KiB file sectors, so that the BAT, the metadata and the data
 * read back are what Windows would see after replaying it, while the file
 * stays untouched.
 *
 * After chronos_vhdx_open() returns, the object is immutable and reads use
 * pread() only, so several threads (an NBD server) can read at once.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef G_OS_WIN32
#include <io.h>
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "chronos-crc.h"
#include "chronos-image-error.h"
#include "chronos-vhdx.h"

#ifndef O_BINARY
#define O_BINARY 0
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define KiB ((guint64)1024)
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define TiB (1024 * GiB)

#define HEADER_1_OFFSET (64 * KiB)
#define HEADER_2_OFFSET (128 * KiB)
#define HEADER_SIZE (4 * KiB)
#define REGION_1_OFFSET (192 * KiB)
#define REGION_2_OFFSET (256 * KiB)
#define REGION_TABLE_SIZE (64 * KiB)
#define REGION_MAX_ENTRIES 2047
#define METADATA_TABLE_SIZE (64 * KiB)
#define METADATA_TABLE_FIRST_READ (4 * KiB)
#define METADATA_MAX_ENTRIES 2047
#define METADATA_ITEM_MAX (1 * MiB)
#define HEADER_SECTION_SIZE (1 * MiB)
#define LOG_SECTOR 4096
#define LOG_MAX_LENGTH (64 * MiB)
#define MAX_VIRTUAL_SIZE (64 * TiB)
#define MAX_EFFECTIVE_SIZE (((guint64)1) << 50)
#define BAT_CHUNK_ENTRIES 8192
/* A BAT up to this size stays in memory after the open, so that a read
 * costs one pread, not two (a 2 TiB disk in 1 MiB blocks: 16 MiB). */
#define BAT_CACHE_MAX (64 * MiB)

#define GUID_BAT "2DC27766-F623-4200-9D64-115E9BFD4A08"
#define GUID_METADATA "8B7CA206-4790-4B9A-B8FE-575F050F886E"
#define GUID_FILE_PARAMETERS "CAA16737-FA36-4D43-B3B6-33F0AA44E76B"
#define GUID_VIRTUAL_SIZE "2FA54224-CD1B-4876-B211-5DBED83BF4B8"
#define GUID_PAGE83 "BECA12AB-B2E6-4523-93EF-C309E000C746"
#define GUID_LOGICAL_SECTOR "8141BF1D-A96F-4709-BA47-F233A8FAAB5F"
#define GUID_PHYSICAL_SECTOR "CDA348C7-445D-4471-9CC9-E9885251C556"
#define GUID_PARENT_LOCATOR "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"
#define GUID_VHDX_LOCATOR "B04AEFB7-D19E-4A81-B789-25B8E9445913"

enum
{
  PAYLOAD_NOT_PRESENT = 0,
  PAYLOAD_UNDEFINED = 1,
  PAYLOAD_ZERO = 2,
  PAYLOAD_UNMAPPED = 3,
  PAYLOAD_FULLY_PRESENT = 6,
  PAYLOAD_PARTIALLY_PRESENT = 7,
};

enum
{
  SB_NOT_PRESENT = 0,
  SB_PRESENT = 6,
};

/* One 4 KiB file sector as the replayed log leaves it. */
typedef struct
{
  gint64 sector_offset; /* the hash key: byte offset in the file */
  guint8 data[LOG_SECTOR];
} OverlaySector;

typedef struct
{
  guint64 start;
  guint64 end;
} ZeroRange;

struct _ChronosVhdx
{
  GObject parent_instance;

  char   *path;
  int     fd;
  guint64 file_size;      /* as the file system reports it */
  guint64 effective_size; /* after log replay, which may extend the file */

  guint64 virtual_size;
  guint32 block_size;
  guint32 logical_sector_size;
  guint32 physical_sector_size;
  char   *creator;
  char   *page83;
  char   *data_write_guid;

  gboolean has_parent;
  char    *parent_linkage;
  char    *parent_linkage2;
  char    *parent_relative_path;
  char    *parent_volume_path;
  char    *parent_absolute_win32_path;
  char    *parent_resolved_path;

  gboolean log_pending;
  guint    log_entries;

  guint64 bat_offset;
  guint64 bat_entries;
  guint8 *bat; /* the whole BAT as validated (after the log), or NULL if huge */
  guint64 chunk_ratio;
  guint64 data_blocks;

  /* The replayed log: zero ranges first, then sectors (always newer than
   * any zero range that covers them, see apply_zero_range()). */
  GHashTable *overlay_sectors;
  GArray     *overlay_zeros;

  GPtrArray *warnings; /* NULL-terminated */
};

G_DEFINE_FINAL_TYPE (ChronosVhdx, chronos_vhdx, G_TYPE_OBJECT)

/* Little-endian field access; the file's alignment is not trusted, and
 * memcpy compiles to one load (this runs for every BAT entry). */
static inline guint16
le16 (const guint8 *p)
{
  guint16 v;

  memcpy (&v, p, sizeof v);
  return GUINT16_FROM_LE (v);
}

static inline guint32
le32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static inline guint64
le64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

/* "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X" of the fields (the
 * first three little-endian), without printf: an open names a dozen
 * GUIDs, and listing a folder opens every image. */
static void
guid_to_string (const guint8 *g,
                char          out[37])
{
  /* The byte of @g behind each pair of hex digits, in print order. */
  static const guint8 order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
  static const char   hex[] = "0123456789ABCDEF";
  char               *p = out;

  for (guint i = 0; i < 16; i++)
    {
      if (i == 4 || i == 6 || i == 8 || i == 10)
        *p++ = '-';
      *p++ = hex[g[order[i]] >> 4];
      *p++ = hex[g[order[i]] & 15];
    }
  *p = '\0';
}

static gboolean
guid_is_zero (const guint8 *g)
{
  for (guint i = 0; i < 16; i++)
    if (g[i] != 0)
      return FALSE;
  return TRUE;
}

/* "64 KiB", "3 MiB" or "byte 12345": how a person finds a place in a file. */
static char *
format_offset (guint64 value)
{
  if (value >= GiB && value % GiB == 0)
    return g_strdup_printf (_ ("%llu GiB"), (unsigned long long)(value / GiB));
  if (value >= MiB && value % MiB == 0)
    return g_strdup_printf (_ ("%llu MiB"), (unsigned long long)(value / MiB));
  if (value >= KiB && value % KiB == 0)
    return g_strdup_printf (_ ("%llu KiB"), (unsigned long long)(value / KiB));
  return g_strdup_printf (_ ("byte %llu"), (unsigned long long)value);
}

static void
add_warning (ChronosVhdx *self,
             char        *sentence)
{
  /* Keep the array NULL-terminated for get_warnings(). */
  g_ptr_array_remove_index (self->warnings, self->warnings->len - 1);
  g_ptr_array_add (self->warnings, sentence);
  g_ptr_array_add (self->warnings, NULL);
}

static void
chronos_vhdx_finalize (GObject *object)
{
  ChronosVhdx *self = CHRONOS_VHDX (object);

  if (self->fd >= 0)
    close (self->fd);
  g_free (self->path);
  g_free (self->creator);
  g_free (self->page83);
  g_free (self->data_write_guid);
  g_free (self->parent_linkage);
  g_free (self->parent_linkage2);
  g_free (self->parent_relative_path);
  g_free (self->parent_volume_path);
  g_free (self->parent_absolute_win32_path);
  g_free (self->parent_resolved_path);
  g_free (self->bat);
  g_clear_pointer (&self->overlay_sectors, g_hash_table_unref);
  g_clear_pointer (&self->overlay_zeros, g_array_unref);
  g_clear_pointer (&self->warnings, g_ptr_array_unref);

  G_OBJECT_CLASS (chronos_vhdx_parent_class)->finalize (object);
}

static void
chronos_vhdx_class_init (ChronosVhdxClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_vhdx_finalize;
}

static void
chronos_vhdx_init (ChronosVhdx *self)
{
  self->fd = -1;
  self->creator = g_strdup ("");
  self->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->warnings, NULL);
  self->overlay_sectors = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  self->overlay_zeros = g_array_new (FALSE, FALSE, sizeof (ZeroRange));
}

/* Positional read from the file itself, without a shared cursor. Returns
 * the number of bytes read (short only at the end of the file) or -1. */
static gssize
read_at (int     fd,
         void   *buffer,
         gsize   length,
         guint64 offset)
{
  gsize done = 0;

  while (done < length)
    {
#ifdef G_OS_WIN32
      HANDLE     handle = (HANDLE)_get_osfhandle (fd);
      OVERLAPPED ov = { 0 };
      DWORD      got = 0;
      DWORD      want = (DWORD)MIN (length - done, (gsize)1 << 30);

      ov.Offset = (DWORD)((offset + done) & 0xFFFFFFFFu);
      ov.OffsetHigh = (DWORD)((offset + done) >> 32);
      if (!ReadFile (handle, (guint8 *)buffer + done, want, &got, &ov))
        {
          if (GetLastError () == ERROR_HANDLE_EOF)
            break;
          errno = EIO;
          return -1;
        }
#else
      ssize_t got = pread (fd, (guint8 *)buffer + done, length - done, (off_t)(offset + done));

      if (got < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
#endif
      if (got == 0)
        break;
      done += (gsize)got;
    }

  return (gssize)done;
}

/* Reads file bytes as the replayed log leaves them. The caller has checked
 * that the range lies inside the effective file size. */
static gboolean
file_read (ChronosVhdx *self,
           void        *buffer,
           guint64      offset,
           gsize        length,
           GError     **error)
{
  guint8 *out = buffer;
  gsize   from_file = 0;

  if (offset < self->file_size)
    from_file = (gsize)MIN ((guint64)length, self->file_size - offset);

  if (from_file > 0)
    {
      gssize got = read_at (self->fd, out, from_file, offset);

      if (got < 0)
        {
          int saved_errno = errno;

          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_IO,
                       _ ("Could not read the image: %s."), g_strerror (saved_errno));
          return FALSE;
        }
      if ((gsize)got < from_file)
        {
          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_TRUNCATED,
                       _ ("The image became shorter while it was being read."));
          return FALSE;
        }
    }
  /* Only a replayed log can extend the file past its size on disk. */
  if (from_file < length)
    memset (out + from_file, 0, length - from_file);

  if (self->overlay_zeros->len == 0 && g_hash_table_size (self->overlay_sectors) == 0)
    return TRUE;

  for (guint i = 0; i < self->overlay_zeros->len; i++)
    {
      const ZeroRange *z = &g_array_index (self->overlay_zeros, ZeroRange, i);
      guint64          start = MAX (z->start, offset);
      guint64          end = MIN (z->end, offset + length);

      if (start < end)
        memset (out + (start - offset), 0, end - start);
    }

  for (guint64 sector = offset - offset % LOG_SECTOR; sector < offset + length; sector += LOG_SECTOR)
    {
      gint64               key = (gint64)sector;
      const OverlaySector *s = g_hash_table_lookup (self->overlay_sectors, &key);
      guint64              start, end;

      if (s == NULL)
        continue;
      start = MAX (sector, offset);
      end = MIN (sector + LOG_SECTOR, offset + length);
      memcpy (out + (start - offset), s->data + (start - sector), end - start);
    }

  return TRUE;
}

/* Checks that [offset, offset + length) lies in the file before reading it,
 * naming @what in the error. */
static gboolean
read_structure (ChronosVhdx *self,
                const char  *what,
                void        *buffer,
                guint64      offset,
                gsize        length,
                GError     **error)
{
  if (offset > self->effective_size || length > self->effective_size - offset)
    {
      g_autofree char *at = format_offset (offset);
      g_autofree char *size = format_offset (self->effective_size);

      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_TRUNCATED,
                   _ ("The image is truncated: the %s at %s lies past the end of the file (%s)."),
                   what, at, size);
      return FALSE;
    }
  return file_read (self, buffer, offset, length, error);
}

/* --- Headers ---------------------------------------------------------- */

typedef struct
{
  gboolean valid;
  char    *problem; /* why it is not valid */
  guint64  sequence;
  guint8   data_write_guid[16];
  guint8   log_guid[16];
  guint32  log_length;
  guint64  log_offset;
  guint8   raw[HEADER_SIZE];
} Header;

static void
header_check (ChronosVhdx *self,
              Header      *h,
              guint64      offset)
{
  guint32 stored, computed;
  guint16 version, log_version;

  if (offset + HEADER_SIZE > self->file_size)
    {
      h->problem = g_strdup (_ ("it lies past the end of the file"));
      return;
    }
  if (!file_read (self, h->raw, offset, HEADER_SIZE, NULL))
    {
      h->problem = g_strdup (_ ("it could not be read"));
      return;
    }
  if (memcmp (h->raw, "head", 4) != 0)
    {
      h->problem = g_strdup (_ ("it does not start with “head”"));
      return;
    }

  stored = le32 (h->raw + 4);
  {
    guint8 copy[HEADER_SIZE];

    memcpy (copy, h->raw, HEADER_SIZE);
    memset (copy + 4, 0, 4);
    computed = chronos_crc32c (0, copy, HEADER_SIZE);
  }
  if (stored != computed)
    {
      h->problem = g_strdup (_ ("its checksum does not match"));
      return;
    }

  log_version = le16 (h->raw + 64);
  version = le16 (h->raw + 66);
  if (version != 1)
    {
      h->problem = g_strdup_printf (_ ("it has version %u, and only version 1 exists"), version);
      return;
    }

  h->sequence = le64 (h->raw + 8);
  memcpy (h->data_write_guid, h->raw + 32, 16);
  memcpy (h->log_guid, h->raw + 48, 16);
  h->log_length = le32 (h->raw + 68);
  h->log_offset = le64 (h->raw + 72);

  if (!guid_is_zero (h->log_guid))
    {
      if (log_version != 0)
        {
          h->problem = g_strdup_printf (_ ("its log has version %u, and only version 0 exists"), log_version);
          return;
        }
      if (h->log_length == 0 || h->log_length % MiB != 0 || h->log_offset % MiB != 0 ||
          h->log_offset < HEADER_SECTION_SIZE)
        {
          h->problem = g_strdup (_ ("its log location is invalid"));
          return;
        }
    }

  h->valid = TRUE;
}

static gboolean
choose_header (ChronosVhdx *self,
               Header      *active,
               GError     **error)
{
  Header  h1 = { 0 }, h2 = { 0 };
  Header *chosen = NULL;

  header_check (self, &h1, HEADER_1_OFFSET);
  header_check (self, &h2, HEADER_2_OFFSET);

  if (!h1.valid && !h2.valid)
    {
      if (self->file_size < HEADER_2_OFFSET + HEADER_SIZE)
        {
          g_autofree char *size = format_offset (self->file_size);

          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_TRUNCATED,
                       _ ("The image is truncated: it ends at %s, before its VHDX headers at 64 KiB and 128 KiB."),
                       size);
        }
      else
        g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                     _ ("The VHDX header at 64 KiB and its copy at 128 KiB are both damaged (the first: %s; the second: %s)."),
                     h1.problem, h2.problem);
      g_free (h1.problem);
      g_free (h2.problem);
      return FALSE;
    }

  if (h1.valid && !h2.valid)
    {
      chosen = &h1;
      add_warning (self, g_strdup_printf (_ ("The VHDX header copy at 128 KiB is damaged (%s); the one at 64 KiB was used."),
                                          h2.problem));
    }
  else if (!h1.valid && h2.valid)
    {
      chosen = &h2;
      add_warning (self, g_strdup_printf (_ ("The VHDX header at 64 KiB is damaged (%s); its copy at 128 KiB was used."),
                                          h1.problem));
    }
  else if (h1.sequence > h2.sequence)
    chosen = &h1;
  else if (h2.sequence > h1.sequence)
    chosen = &h2;
  else if (memcmp (h1.raw, h2.raw, HEADER_SIZE) == 0)
    /* Disk2VHD writes two identical headers; that is fine. */
    chosen = &h1;
  else
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The two VHDX headers differ but have the same sequence number, so neither can be trusted."));
      g_free (h1.problem);
      g_free (h2.problem);
      return FALSE;
    }

  *active = *chosen;
  active->problem = NULL;
  g_free (h1.problem);
  g_free (h2.problem);
  return TRUE;
}

/* --- Log replay -------------------------------------------------------- */

typedef enum
{
  ENTRY_UNKNOWN = 0,
  ENTRY_INVALID,
  ENTRY_VALID,
} EntryState;

typedef struct
{
  EntryState state;
  guint32    sectors; /* entry length in 4 KiB sectors */
  guint32    tail;    /* sector index of the sequence's tail */
  guint64    sequence;
  guint64    flushed_file_offset;
  guint64    last_file_offset;
} LogEntry;

typedef struct
{
  const guint8 *log;
  guint32       n_sectors;
  const guint8 *log_guid;
  LogEntry     *entries;
  guint64       crc_budget; /* bytes we are still willing to checksum */
} LogScan;

static const guint8 *
log_sector (const LogScan *scan,
            guint64        index)
{
  return scan->log + (index % scan->n_sectors) * LOG_SECTOR;
}

/* Validates the entry starting at sector @start, once; the result is cached
 * so that finding the active sequence costs at most one pass of checksums. */
static const LogEntry *
log_entry_at (LogScan *scan,
              guint32  start)
{
  LogEntry     *e = &scan->entries[start];
  const guint8 *hdr = log_sector (scan, start);
  guint32       entry_length, descriptor_count, desc_sectors, data_sectors, n_data_desc = 0;
  guint32       crc;

  if (e->state != ENTRY_UNKNOWN)
    return e;
  e->state = ENTRY_INVALID;

  if (memcmp (hdr, "loge", 4) != 0)
    return e;
  entry_length = le32 (hdr + 8);
  descriptor_count = le32 (hdr + 24);
  if (entry_length == 0 || entry_length % LOG_SECTOR != 0 ||
      entry_length / LOG_SECTOR > scan->n_sectors)
    return e;
  if (memcmp (hdr + 32, scan->log_guid, 16) != 0)
    return e;
  if (le32 (hdr + 12) % LOG_SECTOR != 0 || le32 (hdr + 12) / LOG_SECTOR >= scan->n_sectors)
    return e;
  desc_sectors = (guint32)((64 + (guint64)descriptor_count * 32 + LOG_SECTOR - 1) / LOG_SECTOR);
  if (desc_sectors > entry_length / LOG_SECTOR)
    return e;
  data_sectors = entry_length / LOG_SECTOR - desc_sectors;

  if (scan->crc_budget < entry_length)
    return e;
  scan->crc_budget -= entry_length;
  {
    guint8 first[LOG_SECTOR];

    memcpy (first, hdr, LOG_SECTOR);
    memset (first + 4, 0, 4);
    crc = chronos_crc32c (0, first, LOG_SECTOR);
    for (guint32 i = 1; i < entry_length / LOG_SECTOR; i++)
      crc = chronos_crc32c (crc, log_sector (scan, (guint64)start + i), LOG_SECTOR);
  }
  if (crc != le32 (hdr + 4))
    return e;

  e->sequence = le64 (hdr + 16);
  for (guint32 d = 0; d < descriptor_count; d++)
    {
      guint64       pos = 64 + (guint64)d * 32;
      const guint8 *desc = log_sector (scan, (guint64)start + pos / LOG_SECTOR) + pos % LOG_SECTOR;

      if (le64 (desc + 24) != e->sequence)
        return e;
      if (memcmp (desc, "desc", 4) == 0)
        {
          const guint8 *data;

          if (n_data_desc >= data_sectors)
            return e;
          data = log_sector (scan, (guint64)start + desc_sectors + n_data_desc);
          if (memcmp (data, "data", 4) != 0 ||
              le32 (data + 4) != (guint32)(e->sequence >> 32) ||
              le32 (data + 4092) != (guint32)(e->sequence & 0xFFFFFFFFu))
            return e;
          if (le64 (desc + 16) % LOG_SECTOR != 0)
            return e;
          n_data_desc++;
        }
      else if (memcmp (desc, "zero", 4) == 0)
        {
          if (le64 (desc + 8) % LOG_SECTOR != 0 || le64 (desc + 16) % LOG_SECTOR != 0)
            return e;
        }
      else
        return e;
    }
  if (n_data_desc != data_sectors)
    return e;

  e->sectors = entry_length / LOG_SECTOR;
  e->tail = le32 (hdr + 12) / LOG_SECTOR;
  e->flushed_file_offset = le64 (hdr + 48);
  e->last_file_offset = le64 (hdr + 56);
  e->state = ENTRY_VALID;
  return e;
}

static void
apply_zero_range (ChronosVhdx *self,
                  guint64      start,
                  guint64      end)
{
  GHashTableIter iter;
  gpointer       value;
  ZeroRange      z = { start, end };

  /* Drop replayed sectors the zero range overwrites, so every sector left
   * in the table is newer than every zero range that covers it. */
  g_hash_table_iter_init (&iter, self->overlay_sectors);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const OverlaySector *s = value;

      if ((guint64)s->sector_offset >= start && (guint64)s->sector_offset < end)
        g_hash_table_iter_remove (&iter);
    }
  g_array_append_val (self->overlay_zeros, z);
}

static void
replay_entry (ChronosVhdx *self,
              LogScan     *scan,
              guint32      start)
{
  const guint8 *hdr = log_sector (scan, start);
  guint32       descriptor_count = le32 (hdr + 24);
  guint32       desc_sectors = (guint32)((64 + (guint64)descriptor_count * 32 + LOG_SECTOR - 1) / LOG_SECTOR);
  guint32       n_data = 0;

  for (guint32 d = 0; d < descriptor_count; d++)
    {
      guint64       pos = 64 + (guint64)d * 32;
      const guint8 *desc = log_sector (scan, (guint64)start + pos / LOG_SECTOR) + pos % LOG_SECTOR;
      guint64       file_offset = le64 (desc + 16);

      if (memcmp (desc, "desc", 4) == 0)
        {
          const guint8  *data = log_sector (scan, (guint64)start + desc_sectors + n_data++);
          OverlaySector *s = g_new (OverlaySector, 1);

          /* The first 8 and last 4 bytes of the sector were displaced by the
           * data sector's own signature and sequence number. */
          s->sector_offset = (gint64)file_offset;
          memcpy (s->data, desc + 8, 8);
          memcpy (s->data + 8, data + 8, LOG_SECTOR - 12);
          memcpy (s->data + LOG_SECTOR - 4, desc + 4, 4);
          g_hash_table_replace (self->overlay_sectors, &s->sector_offset, s);
          self->effective_size = MAX (self->effective_size, file_offset + LOG_SECTOR);
        }
      else
        {
          guint64 zero_length = le64 (desc + 8);

          if (zero_length > 0)
            apply_zero_range (self, file_offset, file_offset + zero_length);
          self->effective_size = MAX (self->effective_size, file_offset + zero_length);
        }
    }
}

static gboolean
replay_log (ChronosVhdx  *self,
            const Header *header,
            GError      **error)
{
  g_autofree guint8   *log = NULL;
  g_autofree LogEntry *entries = NULL;
  g_autofree char     *where = NULL;
  LogScan              scan = { 0 };
  guint32              n_sectors;
  gint64               head = -1;

  if (header->log_length > LOG_MAX_LENGTH)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_UNSUPPORTED,
                   _ ("The image has a pending log of %u MiB; Chronos replays logs of up to 64 MiB."),
                   (guint)(header->log_length / MiB));
      return FALSE;
    }

  log = g_malloc (header->log_length);
  if (!read_structure (self, _ ("log"), log, header->log_offset, header->log_length, error))
    return FALSE;

  n_sectors = header->log_length / LOG_SECTOR;
  entries = g_new0 (LogEntry, n_sectors);
  scan.log = log;
  scan.n_sectors = n_sectors;
  scan.log_guid = header->log_guid;
  scan.entries = entries;
  scan.crc_budget = 4 * (guint64)header->log_length + 16 * MiB;

  /* The head of the active sequence is the valid entry with the highest
   * sequence number whose tail leads to it through valid entries with
   * consecutive sequence numbers. Try candidates from the highest down. */
  for (guint attempts = 0; attempts < 64; attempts++)
    {
      gint64  best = -1;
      guint64 best_seq = 0;

      for (guint32 i = 0; i < n_sectors; i++)
        {
          const LogEntry *e = log_entry_at (&scan, i);

          if (e->state == ENTRY_VALID && (best < 0 || e->sequence > best_seq))
            {
              best = i;
              best_seq = e->sequence;
            }
        }
      if (best < 0)
        break;

      {
        guint32         pos = entries[best].tail;
        guint64         walked = 0;
        const LogEntry *first = log_entry_at (&scan, pos);
        guint64         expected;
        gboolean        ok = first->state == ENTRY_VALID && first->sequence <= best_seq;

        expected = first->sequence;
        while (ok)
          {
            const LogEntry *e = log_entry_at (&scan, pos);

            if (e->state != ENTRY_VALID || e->sequence != expected)
              {
                ok = FALSE;
                break;
              }
            walked += e->sectors;
            if (walked > n_sectors)
              {
                ok = FALSE;
                break;
              }
            if ((gint64)pos == best)
              break;
            pos = (pos + e->sectors) % n_sectors;
            expected++;
          }

        if (ok)
          {
            head = best;
            break;
          }
        /* Not a complete sequence: never consider this entry again. */
        entries[best].state = ENTRY_INVALID;
      }
    }

  if (head < 0)
    {
      /* QEMU and Windows treat a log without a valid sequence as empty. */
      add_warning (self, g_strdup (_ ("The header names a log, but the log holds no valid entries; the image was read as it is.")));
      return TRUE;
    }

  if (entries[head].flushed_file_offset > self->file_size)
    {
      g_autofree char *flushed = format_offset (entries[head].flushed_file_offset);
      g_autofree char *size = format_offset (self->file_size);

      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_TRUNCATED,
                   _ ("The image is truncated: its log says the file was at least %s long, but it is %s."),
                   flushed, size);
      return FALSE;
    }
  if (entries[head].last_file_offset > MAX_EFFECTIVE_SIZE)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The image’s log is damaged: it names an impossible file size."));
      return FALSE;
    }

  {
    guint32 pos = entries[head].tail;

    for (;;)
      {
        const LogEntry *e = &entries[pos];

        for (guint d = 0; d < le32 (log_sector (&scan, pos) + 24); d++)
          {
            guint64       p = 64 + (guint64)d * 32;
            const guint8 *desc = log_sector (&scan, (guint64)pos + p / LOG_SECTOR) + p % LOG_SECTOR;
            guint64       off = le64 (desc + 16);
            guint64       len = memcmp (desc, "zero", 4) == 0 ? le64 (desc + 8) : LOG_SECTOR;

            if (off > MAX_EFFECTIVE_SIZE || len > MAX_EFFECTIVE_SIZE - off || off < HEADER_2_OFFSET + HEADER_SIZE)
              {
                g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                             _ ("The image’s log is damaged: an entry writes outside the file."));
                return FALSE;
              }
          }
        replay_entry (self, &scan, pos);
        self->log_entries++;
        if ((gint64)pos == head)
          break;
        pos = (pos + e->sectors) % n_sectors;
      }
  }

  self->effective_size = MAX (self->effective_size, entries[head].last_file_offset);
  self->log_pending = TRUE;
  return TRUE;
}

/* --- Region table -------------------------------------------------------- */

typedef struct
{
  gboolean valid;
  char    *problem;
  guint32  stored; /* the checksum field (zeroed in raw) */
  guint8   raw[REGION_TABLE_SIZE];
} RegionTable;

/* Checks the table at @offset. When @other is a valid table with the same
 * bytes, so is this one: comparing costs a third of a checksum (the two
 * copies are normally identical, and listing a folder checks both of
 * every image). */
static void
region_table_check (ChronosVhdx       *self,
                    RegionTable       *t,
                    guint64            offset,
                    const RegionTable *other)
{
  guint32 computed;

  if (offset + REGION_TABLE_SIZE > self->effective_size)
    {
      t->problem = g_strdup (_ ("it lies past the end of the file"));
      return;
    }
  if (!file_read (self, t->raw, offset, REGION_TABLE_SIZE, NULL))
    {
      t->problem = g_strdup (_ ("it could not be read"));
      return;
    }
  if (memcmp (t->raw, "regi", 4) != 0)
    {
      t->problem = g_strdup (_ ("it does not start with “regi”"));
      return;
    }
  t->stored = le32 (t->raw + 4);
  memset (t->raw + 4, 0, 4);
  if (other != NULL && other->valid && other->stored == t->stored &&
      memcmp (other->raw, t->raw, REGION_TABLE_SIZE) == 0)
    {
      t->valid = TRUE;
      return;
    }
  computed = chronos_crc32c (0, t->raw, REGION_TABLE_SIZE);
  if (t->stored != computed)
    {
      t->problem = g_strdup (_ ("its checksum does not match"));
      return;
    }
  if (le32 (t->raw + 8) > REGION_MAX_ENTRIES)
    {
      t->problem = g_strdup_printf (_ ("it claims %u entries, more than the 2047 allowed"), le32 (t->raw + 8));
      return;
    }
  t->valid = TRUE;
}

static gboolean
parse_regions (ChronosVhdx *self,
               guint64     *bat_offset,
               guint64     *bat_length,
               guint64     *metadata_offset,
               guint64     *metadata_length,
               GError     **error)
{
  /* Not zeroed: region_table_check() fills what it reads. */
  g_autofree RegionTable *t1 = g_new (RegionTable, 1);
  g_autofree RegionTable *t2 = g_new (RegionTable, 1);
  g_autofree char        *p1 = NULL;
  g_autofree char        *p2 = NULL;
  RegionTable            *t;
  guint32                 count;
  gboolean                have_bat = FALSE, have_metadata = FALSE;

  t1->valid = t2->valid = FALSE;
  t1->problem = t2->problem = NULL;
  region_table_check (self, t1, REGION_1_OFFSET, NULL);
  region_table_check (self, t2, REGION_2_OFFSET, t1);
  p1 = t1->problem;
  p2 = t2->problem;

  if (!t1->valid && !t2->valid)
    {
      if (self->effective_size < REGION_2_OFFSET + REGION_TABLE_SIZE)
        {
          g_autofree char *size = format_offset (self->file_size);

          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_TRUNCATED,
                       _ ("The image is truncated: it ends at %s, before its region tables at 192 KiB and 256 KiB end."),
                       size);
        }
      else
        g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                     _ ("The VHDX region table at 192 KiB and its copy at 256 KiB are both damaged (the first: %s; the second: %s)."),
                     p1, p2);
      return FALSE;
    }
  if (!t1->valid)
    add_warning (self, g_strdup_printf (_ ("The VHDX region table at 192 KiB is damaged (%s); its copy at 256 KiB was used."), p1));
  else if (!t2->valid)
    add_warning (self, g_strdup_printf (_ ("The VHDX region table copy at 256 KiB is damaged (%s); the one at 192 KiB was used."), p2));

  t = t1->valid ? t1 : t2;
  count = le32 (t->raw + 8);

  for (guint32 i = 0; i < count; i++)
    {
      const guint8 *e = t->raw + 16 + (gsize)i * 32;
      char          guid[37];
      guint64       offset = le64 (e + 16);
      guint64       length = le32 (e + 24);
      gboolean      required = (le32 (e + 28) & 1) != 0;

      guid_to_string (e, guid);

      for (guint32 j = 0; j < i; j++)
        if (memcmp (e, t->raw + 16 + (gsize)j * 32, 16) == 0)
          {
            g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                         _ ("The VHDX region table lists the region %s twice."), guid);
            return FALSE;
          }

      if (strcmp (guid, GUID_BAT) == 0 || strcmp (guid, GUID_METADATA) == 0)
        {
          gboolean    is_bat = strcmp (guid, GUID_BAT) == 0;
          const char *what = is_bat ? _ ("block allocation table (BAT)") : _ ("metadata region");

          if (offset < HEADER_SECTION_SIZE || offset % MiB != 0 || length == 0 || length % MiB != 0)
            {
              g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                           _ ("The VHDX region table places the %s at an invalid offset or length."), what);
              return FALSE;
            }
          if (offset > self->effective_size || length > self->effective_size - offset)
            {
              g_autofree char *at = format_offset (offset);
              g_autofree char *size = format_offset (self->effective_size);

              g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_TRUNCATED,
                           _ ("The image is truncated: the %s at %s lies past the end of the file (%s)."),
                           what, at, size);
              return FALSE;
            }
          if (is_bat)
            {
              *bat_offset = offset;
              *bat_length = length;
              have_bat = TRUE;
            }
          else
            {
              *metadata_offset = offset;
              *metadata_length = length;
              have_metadata = TRUE;
            }
        }
      else if (required)
        {
          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_UNSUPPORTED,
                       _ ("The image has a required region %s that Chronos does not know, so it cannot be read safely."),
                       guid);
          return FALSE;
        }
    }

  if (!have_bat || !have_metadata)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   have_bat ? _ ("The VHDX region table has no metadata region.")
                            : _ ("The VHDX region table has no block allocation table (BAT)."));
      return FALSE;
    }
  if (*bat_offset < *metadata_offset + *metadata_length && *metadata_offset < *bat_offset + *bat_length)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX block allocation table and metadata region overlap."));
      return FALSE;
    }

  return TRUE;
}

/* --- Metadata ------------------------------------------------------------ */

typedef struct
{
  guint32  offset;
  guint32  length;
  gboolean present;
} MetadataItem;

enum
{
  ITEM_FILE_PARAMETERS,
  ITEM_VIRTUAL_SIZE,
  ITEM_PAGE83,
  ITEM_LOGICAL_SECTOR,
  ITEM_PHYSICAL_SECTOR,
  ITEM_PARENT_LOCATOR,
  N_ITEMS,
};

static const char *const item_guids[N_ITEMS] = {
  GUID_FILE_PARAMETERS,
  GUID_VIRTUAL_SIZE,
  GUID_PAGE83,
  GUID_LOGICAL_SECTOR,
  GUID_PHYSICAL_SECTOR,
  GUID_PARENT_LOCATOR,
};

static const char *
item_name (guint item)
{
  switch (item)
    {
    case ITEM_FILE_PARAMETERS:
      return _ ("file parameters");
    case ITEM_VIRTUAL_SIZE:
      return _ ("virtual disk size");
    case ITEM_PAGE83:
      return _ ("page 83 data");
    case ITEM_LOGICAL_SECTOR:
      return _ ("logical sector size");
    case ITEM_PHYSICAL_SECTOR:
      return _ ("physical sector size");
    case ITEM_PARENT_LOCATOR:
      return _ ("parent locator");
    default:
      g_assert_not_reached ();
    }
}

static gboolean
read_item (ChronosVhdx        *self,
           guint64             metadata_offset,
           const MetadataItem *items,
           guint               item,
           guint8             *buffer,
           gsize               want,
           GError            **error)
{
  const MetadataItem *it = &items[item];

  if (!it->present)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX metadata has no %s."), item_name (item));
      return FALSE;
    }
  if (it->length < want)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX metadata item “%s” is too short."), item_name (item));
      return FALSE;
    }
  return read_structure (self, item_name (item), buffer, metadata_offset + it->offset, want, error);
}

static char *
utf16_to_utf8 (const guint8 *p,
               gsize         length)
{
  g_autofree gunichar2 *units = g_new (gunichar2, length / 2 + 1);
  gsize                 n = length / 2;

  for (gsize i = 0; i < n; i++)
    units[i] = le16 (p + 2 * i);
  return g_utf16_to_utf8 (units, (glong)n, NULL, NULL, NULL);
}

static gboolean
parse_parent_locator (ChronosVhdx  *self,
                      const guint8 *data,
                      gsize         length,
                      GError      **error)
{
  char    guid[37];
  guint16 count;

  if (length < 20)
    goto damaged;
  guid_to_string (data, guid);
  if (strcmp (guid, GUID_VHDX_LOCATOR) != 0)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_UNSUPPORTED,
                   _ ("The parent locator has type %s, which Chronos does not know."), guid);
      return FALSE;
    }
  count = le16 (data + 18);
  if (20 + (gsize)count * 12 > length)
    goto damaged;

  for (guint i = 0; i < count; i++)
    {
      const guint8    *e = data + 20 + (gsize)i * 12;
      guint32          key_offset = le32 (e), value_offset = le32 (e + 4);
      guint16          key_length = le16 (e + 8), value_length = le16 (e + 10);
      g_autofree char *key = NULL;
      g_autofree char *value = NULL;
      char           **slot = NULL;

      if (key_length == 0 || value_length == 0 || key_length % 2 != 0 || value_length % 2 != 0 ||
          key_offset > length || key_length > length - key_offset ||
          value_offset > length || value_length > length - value_offset)
        goto damaged;
      key = utf16_to_utf8 (data + key_offset, key_length);
      value = utf16_to_utf8 (data + value_offset, value_length);
      if (key == NULL || value == NULL)
        goto damaged;

      if (strcmp (key, "parent_linkage") == 0)
        slot = &self->parent_linkage;
      else if (strcmp (key, "parent_linkage2") == 0)
        slot = &self->parent_linkage2;
      else if (strcmp (key, "relative_path") == 0)
        slot = &self->parent_relative_path;
      else if (strcmp (key, "volume_path") == 0)
        slot = &self->parent_volume_path;
      else if (strcmp (key, "absolute_win32_path") == 0)
        slot = &self->parent_absolute_win32_path;

      if (slot != NULL && *slot == NULL)
        *slot = g_steal_pointer (&value);
    }

  if (self->parent_linkage == NULL)
    add_warning (self, g_strdup (_ ("The parent locator does not say which version of the parent this image belongs to (no parent_linkage).")));
  if (self->parent_relative_path == NULL && self->parent_absolute_win32_path == NULL &&
      self->parent_volume_path == NULL)
    add_warning (self, g_strdup (_ ("The parent locator names no path to the parent image.")));
  return TRUE;

damaged:
  g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
               _ ("The VHDX parent locator is damaged."));
  return FALSE;
}

/* The longest locator path worth looking for. Windows paths are at most
 * 32767 UTF-16 units, but a real backup's parent is named in far less; a
 * longer one is a damaged or hostile file and is not looked up at all. */
#define LOCATOR_PATH_MAX 4096
/* How many folders above the child a drive letter may stand for. */
#define LOCATOR_MAX_ANCESTORS 64

/* NULL when @path is no path anyone could mean: too long, empty, or with
 * control characters (a NUL, a newline) that no Windows path may hold. */
static gboolean
locator_path_is_plausible (const char *path)
{
  gsize length = strlen (path);

  if (length == 0 || length > LOCATOR_PATH_MAX)
    return FALSE;
  for (const char *p = path; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7F)
      return FALSE;
  return TRUE;
}

/* "a\b/c" -> "a/b/c" on this host (Windows keeps its own separators). */
static char *
windows_path_to_local (const char *path)
{
  char *local = g_strdup (path);

#ifndef G_OS_WIN32
  g_strdelimit (local, "\\", '/');
#endif
  return local;
}

/* The part of a Windows absolute path below its volume: "D:\Backups\p.vhdx",
 * "\\?\D:\Backups\p.vhdx", "\\server\share\Backups\p.vhdx",
 * "\\?\UNC\server\share\Backups\p.vhdx" and
 * "\\?\Volume{GUID}\Backups\p.vhdx" all give "Backups\p.vhdx". NULL when
 * @path is not absolute in any of these ways. */
static const char *
windows_path_below_volume (const char *path)
{
  const char *p = path;
  int         skip = 0;

  if (g_str_has_prefix (p, "\\\\?\\") || g_str_has_prefix (p, "\\\\.\\"))
    {
      p += 4;
      if (g_ascii_strncasecmp (p, "UNC\\", 4) == 0)
        {
          p += 4;
          skip = 2; /* server, share */
        }
      else if (g_ascii_strncasecmp (p, "Volume{", 7) == 0)
        skip = 1;
    }
  else if (g_str_has_prefix (p, "\\\\"))
    {
      p += 2;
      skip = 2;
    }

  if (skip == 0)
    {
      if (!g_ascii_isalpha (p[0]) || p[1] != ':' || (p[2] != '\\' && p[2] != '/'))
        return NULL;
      return p + 3;
    }
  for (int i = 0; i < skip; i++)
    {
      const char *sep = strchr (p, '\\');

      if (sep == NULL || sep == p)
        return NULL;
      p = sep + 1;
    }
  return p;
}

/* The last component of a Windows or local path, or NULL. */
static const char *
windows_path_basename (const char *path)
{
  const char *name = path;
  const char *sep = strrchr (name, '\\');
  const char *slash = strrchr (name, '/');

  if (slash != NULL && (sep == NULL || slash > sep))
    sep = slash;
  if (sep != NULL)
    name = sep + 1;
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return NULL;
  return name;
}

static void
add_candidate (GPtrArray *candidates,
               char      *path)
{
  for (guint i = 0; i < candidates->len; i++)
    if (strcmp (g_ptr_array_index (candidates, i), path) == 0)
      {
        g_free (path);
        return;
      }
  g_ptr_array_add (candidates, path);
}

/* A volume-relative path tried under the child's folder and each folder
 * above it: a backup drive that was "D:" on Windows is mounted somewhere on
 * this host, and the child lives on it, so one of the child's ancestors is
 * the mount point (D:\Backups\p.vhdx -> /media/usb/Backups/p.vhdx for a
 * child in /media/usb/Backups/2024). */
static void
add_below_ancestors (GPtrArray  *candidates,
                     const char *dir,
                     const char *below_volume)
{
  g_autofree char *rest = windows_path_to_local (below_volume);
  g_autofree char *ancestor = g_strdup (dir);

  if (*rest == '\0')
    return;
  for (guint depth = 0; depth < LOCATOR_MAX_ANCESTORS; depth++)
    {
      g_autofree char *up = NULL;

      add_candidate (candidates, g_canonicalize_filename (rest, ancestor));
      up = g_path_get_dirname (ancestor);
      if (strcmp (up, ancestor) == 0)
        break;
      g_free (ancestor);
      ancestor = g_steal_pointer (&up);
    }
}

GPtrArray *
chronos_vhdx_list_parent_candidates (ChronosVhdx *self,
                                     GError     **error)
{
  g_autofree char *child_dir = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GPtrArray) candidates = NULL;
  const char *paths[] = { self->parent_relative_path, self->parent_absolute_win32_path,
                          self->parent_volume_path };

  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    if (paths[i] != NULL && !locator_path_is_plausible (paths[i]))
      {
        g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                     _ ("The parent locator of this differencing image names an implausible path (%llu bytes long, or with control characters), so its parent cannot be looked for."),
                     (unsigned long long)strlen (paths[i]));
        return NULL;
      }

  child_dir = g_path_get_dirname (self->path);
  /* Relative to the current folder when the child's path is relative. */
  dir = g_canonicalize_filename (child_dir, NULL);
  candidates = g_ptr_array_new_with_free_func (g_free);

  /* 1. The relative path, against the child's folder. */
  if (self->parent_relative_path != NULL &&
      windows_path_below_volume (self->parent_relative_path) == NULL)
    {
      g_autofree char *rel = windows_path_to_local (self->parent_relative_path);

      if (!g_path_is_absolute (rel))
        add_candidate (candidates, g_canonicalize_filename (rel, dir));
    }

  /* 2. The absolute path: as it is on Windows; elsewhere with its drive
   * letter (or share, or volume) standing for one of the child's folders. */
  for (guint i = 1; i < G_N_ELEMENTS (paths); i++)
    {
      const char *below;

      if (paths[i] == NULL)
        continue;
#ifdef G_OS_WIN32
      if (windows_path_below_volume (paths[i]) != NULL)
        add_candidate (candidates, g_strdup (paths[i]));
#endif
      below = windows_path_below_volume (paths[i]);
      if (below != NULL)
        add_below_ancestors (candidates, dir, below);
    }

  /* 3. Any of the names, next to the child. */
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      const char *name = paths[i] != NULL ? windows_path_basename (paths[i]) : NULL;

      if (name != NULL)
        add_candidate (candidates, g_build_filename (dir, name, NULL));
    }

  return g_steal_pointer (&candidates);
}

/* The first candidate that exists; the chain checks its identity. */
static void
resolve_parent (ChronosVhdx *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) candidates = chronos_vhdx_list_parent_candidates (self, &error);

  if (candidates == NULL)
    {
      add_warning (self, g_strdup (error->message));
      return;
    }
  for (guint i = 0; i < candidates->len; i++)
    {
      const char *candidate = g_ptr_array_index (candidates, i);

      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
        {
          self->parent_resolved_path = g_strdup (candidate);
          return;
        }
    }
}

static gboolean
parse_metadata (ChronosVhdx *self,
                guint64      metadata_offset,
                guint64      metadata_length,
                GError     **error)
{
  g_autofree guint8 *table = g_malloc (METADATA_TABLE_SIZE);
  MetadataItem       items[N_ITEMS] = { { 0 } };
  guint8             buf[16];
  guint16            count;
  gsize              used;

  if (metadata_length < METADATA_TABLE_SIZE)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX metadata region is too small to hold its table."));
      return FALSE;
    }
  /* The table has no checksum and the space after its entries is
   * reserved: only the header and the entries it counts are read (a
   * handful, in the first sector), not all 64 KiB. */
  if (!read_structure (self, _ ("metadata table"), table, metadata_offset, METADATA_TABLE_FIRST_READ, error))
    return FALSE;
  if (memcmp (table, "metadata", 8) != 0)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX metadata table is damaged: it does not start with “metadata”."));
      return FALSE;
    }
  count = le16 (table + 10);
  if (count > METADATA_MAX_ENTRIES)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX metadata table claims %u entries, more than the 2047 allowed."), count);
      return FALSE;
    }
  used = 32 + (gsize)count * 32;
  if (used > METADATA_TABLE_FIRST_READ &&
      !read_structure (self, _ ("metadata table"), table + METADATA_TABLE_FIRST_READ,
                       metadata_offset + METADATA_TABLE_FIRST_READ, used - METADATA_TABLE_FIRST_READ, error))
    return FALSE;

  for (guint i = 0; i < count; i++)
    {
      const guint8 *e = table + 32 + (gsize)i * 32;
      char          guid[37];
      guint32       offset = le32 (e + 16), length = le32 (e + 20), flags = le32 (e + 24);
      gboolean      required = (flags & 4) != 0;
      gboolean      is_user = (flags & 1) != 0;
      gboolean      known = FALSE;

      guid_to_string (e, guid);

      for (guint j = 0; j < i; j++)
        {
          const guint8 *other = table + 32 + (gsize)j * 32;

          if (memcmp (e, other, 16) == 0 && ((le32 (other + 24) & 1) != 0) == is_user)
            {
              g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                           _ ("The VHDX metadata table lists the item %s twice."), guid);
              return FALSE;
            }
        }

      if (length > METADATA_ITEM_MAX ||
          (length > 0 && (offset < METADATA_TABLE_SIZE || (guint64)offset + length > metadata_length)))
        {
          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                       _ ("The VHDX metadata item %s lies outside the metadata region."), guid);
          return FALSE;
        }

      if (!is_user)
        for (guint k = 0; k < N_ITEMS; k++)
          if (strcmp (guid, item_guids[k]) == 0)
            {
              items[k].offset = offset;
              items[k].length = length;
              items[k].present = TRUE;
              known = TRUE;
            }

      if (!known && required)
        {
          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_UNSUPPORTED,
                       _ ("The image has a required metadata item %s that Chronos does not know, so it cannot be read safely."),
                       guid);
          return FALSE;
        }
    }

  if (!read_item (self, metadata_offset, items, ITEM_FILE_PARAMETERS, buf, 8, error))
    return FALSE;
  self->block_size = le32 (buf);
  self->has_parent = (le32 (buf + 4) & 2) != 0;
  if (self->block_size < MiB || self->block_size > 256 * MiB ||
      (self->block_size & (self->block_size - 1)) != 0)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX block size of %u bytes is invalid: it must be a power of two from 1 MiB to 256 MiB."),
                   self->block_size);
      return FALSE;
    }

  if (!read_item (self, metadata_offset, items, ITEM_LOGICAL_SECTOR, buf, 4, error))
    return FALSE;
  self->logical_sector_size = le32 (buf);
  if (self->logical_sector_size != 512 && self->logical_sector_size != 4096)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX logical sector size of %u bytes is invalid: it must be 512 or 4096."),
                   self->logical_sector_size);
      return FALSE;
    }

  if (!read_item (self, metadata_offset, items, ITEM_PHYSICAL_SECTOR, buf, 4, error))
    return FALSE;
  self->physical_sector_size = le32 (buf);
  if (self->physical_sector_size != 512 && self->physical_sector_size != 4096)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX physical sector size of %u bytes is invalid: it must be 512 or 4096."),
                   self->physical_sector_size);
      return FALSE;
    }

  if (!read_item (self, metadata_offset, items, ITEM_VIRTUAL_SIZE, buf, 8, error))
    return FALSE;
  self->virtual_size = le64 (buf);
  if (self->virtual_size > MAX_VIRTUAL_SIZE || self->virtual_size % self->logical_sector_size != 0)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX virtual disk size of %llu bytes is invalid: it must be a multiple of the sector size and at most 64 TiB."),
                   (unsigned long long)self->virtual_size);
      return FALSE;
    }

  if (!read_item (self, metadata_offset, items, ITEM_PAGE83, buf, 16, error))
    return FALSE;
  {
    char guid[37];

    guid_to_string (buf, guid);
    self->page83 = g_strdup (guid);
  }

  if (self->has_parent)
    {
      g_autofree guint8 *locator = NULL;

      if (!items[ITEM_PARENT_LOCATOR].present)
        {
          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                       _ ("The image is a differencing image but has no parent locator."));
          return FALSE;
        }
      locator = g_malloc (MAX (items[ITEM_PARENT_LOCATOR].length, 1));
      if (!read_item (self, metadata_offset, items, ITEM_PARENT_LOCATOR, locator,
                      items[ITEM_PARENT_LOCATOR].length, error))
        return FALSE;
      if (!parse_parent_locator (self, locator, items[ITEM_PARENT_LOCATOR].length, error))
        return FALSE;
      resolve_parent (self);
    }

  return TRUE;
}

/* --- BAT ----------------------------------------------------------------- */

/* How many of the @count payload entries at @p, from the first on, store
 * nothing: states 0 to 3 (not present, undefined, zero, unmapped), the
 * ones with bit 2 clear. Eight at a time, which the compiler vectorizes. */
static guint64
empty_payload_prefix (const guint8 *p,
                      guint64       count)
{
  guint64 done = 0;

  while (count - done >= 8)
    {
      guint64 bits = 0;

      for (guint k = 0; k < 8; k++)
        bits |= le64 (p + (done + k) * 8);
      if ((bits & 4) != 0)
        break;
      done += 8;
    }
  while (done < count && (le64 (p + done * 8) & 4) == 0)
    done++;
  return done;
}

static gboolean
check_bat (ChronosVhdx  *self,
           guint64       bat_length,
           GCancellable *cancellable,
           GError      **error)
{
  g_autofree guint8 *chunk = NULL;
  g_autofree guint8 *bat = NULL;
  guint64            bitmap_blocks;
  guint64            position = 0; /* entries since the last sector bitmap */

  self->chunk_ratio = ((guint64)1 << 23) * self->logical_sector_size / self->block_size;
  self->data_blocks = (self->virtual_size + self->block_size - 1) / self->block_size;
  bitmap_blocks = (self->data_blocks + self->chunk_ratio - 1) / self->chunk_ratio;
  if (self->has_parent)
    self->bat_entries = bitmap_blocks * (self->chunk_ratio + 1);
  else if (self->data_blocks > 0)
    self->bat_entries = self->data_blocks + (self->data_blocks - 1) / self->chunk_ratio;
  else
    self->bat_entries = 0;

  if (self->bat_entries > bat_length / 8)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("The VHDX block allocation table holds %llu entries, but a disk of this size needs %llu."),
                   (unsigned long long)(bat_length / 8), (unsigned long long)self->bat_entries);
      return FALSE;
    }

  if (self->bat_entries * 8 <= BAT_CACHE_MAX)
    bat = g_try_malloc (MAX (self->bat_entries * 8, 8));
  if (bat == NULL)
    chunk = g_malloc (BAT_CHUNK_ENTRIES * 8);
  for (guint64 first = 0; first < self->bat_entries; first += BAT_CHUNK_ENTRIES)
    {
      guint64 n = MIN ((guint64)BAT_CHUNK_ENTRIES, self->bat_entries - first);
      /* Straight into the cached BAT when there is one. */
      guint8 *entries = bat != NULL ? bat + first * 8 : chunk;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!read_structure (self, _ ("block allocation table (BAT)"), entries,
                           self->bat_offset + first * 8, n * 8, error))
        return FALSE;

      for (guint64 i = 0; i < n; i++)
        {
          guint64  index = first + i;
          guint64  entry = le64 (entries + i * 8);
          guint    state = entry & 7;
          guint64  offset = entry & ~(guint64)0xFFFFF;
          gboolean is_bitmap;
          guint64  block;
          guint64  need;

          /* Most entries of a dynamic disk: payload that stores nothing,
           * up to the next sector bitmap entry, skipped a run at a time. */
          if (position < self->chunk_ratio && (state & 4) == 0)
            {
              guint64 run = empty_payload_prefix (entries + i * 8, MIN (n - i, self->chunk_ratio - position));

              position += run;
              i += run - 1;
              continue;
            }
          /* A counter instead of a division per entry: the BAT of a
           * 2 TiB disk has hundreds of thousands of entries. */
          is_bitmap = ++position == self->chunk_ratio + 1;
          if (is_bitmap)
            position = 0;
          /* Most entries of a dynamic disk (QEMU marks them ZERO): nothing
           * stored, nothing to check. */
          if (state <= PAYLOAD_UNMAPPED && (!is_bitmap || state == SB_NOT_PRESENT))
            continue;
          block = index - index / (self->chunk_ratio + 1);

          if (is_bitmap)
            {
              if (state != SB_NOT_PRESENT && state != SB_PRESENT)
                {
                  g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                               _ ("The VHDX block allocation table is damaged: sector bitmap entry %llu has the invalid state %u."),
                               (unsigned long long)index, state);
                  return FALSE;
                }
              if (state != SB_PRESENT)
                continue;
              need = MiB;
            }
          else
            {
              switch (state)
                {
                case PAYLOAD_NOT_PRESENT:
                case PAYLOAD_UNDEFINED:
                case PAYLOAD_ZERO:
                case PAYLOAD_UNMAPPED:
                  continue;
                case PAYLOAD_PARTIALLY_PRESENT:
                  if (!self->has_parent)
                    {
                      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                                   _ ("The VHDX block allocation table is damaged: block %llu is “partially present”, which only a differencing image may use."),
                                   (unsigned long long)block);
                      return FALSE;
                    }
                  break;
                case PAYLOAD_FULLY_PRESENT:
                  break;
                default:
                  g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                               _ ("The VHDX block allocation table is damaged: block %llu has the invalid state %u."),
                               (unsigned long long)block, state);
                  return FALSE;
                }
              /* The last block may be cut short by the virtual size. */
              need = MIN ((guint64)self->block_size, self->virtual_size - block * self->block_size);
            }

          if (offset < HEADER_SECTION_SIZE || offset > self->effective_size ||
              need > self->effective_size - offset)
            {
              g_autofree char *at = format_offset (offset);
              g_autofree char *size = format_offset (self->effective_size);

              if (is_bitmap)
                g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                             _ ("The VHDX block allocation table is damaged: sector bitmap entry %llu points to %s, outside the file (%s)."),
                             (unsigned long long)index, at, size);
              else
                g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                             _ ("The VHDX block allocation table is damaged: block %llu points to %s, outside the file (%s)."),
                             (unsigned long long)block, at, size);
              return FALSE;
            }
        }
    }

  self->bat = g_steal_pointer (&bat);
  return TRUE;
}

/* --- Opening ----------------------------------------------------------- */

static gboolean
check_identifier (ChronosVhdx *self,
                  GError     **error)
{
  guint8 ident[520];
  gsize  n = (gsize)MIN ((guint64)sizeof ident, self->file_size);

  if (self->file_size == 0)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NOT_VHDX,
                   _ ("The file is empty: it is not a VHDX image."));
      return FALSE;
    }
  if (!file_read (self, ident, 0, n, error))
    return FALSE;
  if (n < 8 || memcmp (ident, "vhdxfile", 8) != 0)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NOT_VHDX,
                   _ ("This is not a VHDX image: it does not start with “vhdxfile”."));
      return FALSE;
    }
  if (n == sizeof ident)
    {
      gsize len = 0;
      char *creator;

      while (len + 1 < 512 && (ident[8 + len] != 0 || ident[9 + len] != 0))
        len += 2;
      creator = utf16_to_utf8 (ident + 8, len);
      if (creator != NULL)
        {
          g_free (self->creator);
          self->creator = creator;
        }
    }
  return TRUE;
}

ChronosVhdx *
chronos_vhdx_open (const char   *path,
                   GCancellable *cancellable,
                   GError      **error)
{
  g_autoptr (ChronosVhdx) self = NULL;
  Header   header = { 0 };
  GStatBuf st;
  guint64  bat_length = 0, metadata_offset = 0, metadata_length = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (CHRONOS_TYPE_VHDX, NULL);
  self->path = g_strdup (path);

  self->fd = g_open (path, O_RDONLY | O_BINARY | O_CLOEXEC, 0);
  if (self->fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_IO,
                   _ ("Could not open the image: %s."), g_strerror (saved_errno));
      return NULL;
    }
  if (fstat (self->fd, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_IO,
                   _ ("Could not read the image: %s."), g_strerror (saved_errno));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_IO,
                   S_ISDIR (st.st_mode) ? _ ("This is a folder, not an image file.")
                                        : _ ("This is not a regular file."));
      return NULL;
    }
  self->file_size = (guint64)st.st_size;
  self->effective_size = self->file_size;

  if (!check_identifier (self, error))
    return NULL;
  if (!choose_header (self, &header, error))
    return NULL;
  {
    char guid[37];

    guid_to_string (header.data_write_guid, guid);
    self->data_write_guid = g_strdup (guid);
  }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (!guid_is_zero (header.log_guid) && !replay_log (self, &header, error))
    return NULL;

  if (!parse_regions (self, &self->bat_offset, &bat_length, &metadata_offset, &metadata_length, error))
    return NULL;
  if (!parse_metadata (self, metadata_offset, metadata_length, error))
    return NULL;
  if (!check_bat (self, bat_length, cancellable, error))
    return NULL;

  return g_steal_pointer (&self);
}

/* --- Reading ----------------------------------------------------------- */

static gboolean
bat_entry (ChronosVhdx *self,
           guint64      index,
           guint64     *entry,
           GError     **error)
{
  guint8 raw[8];

  if (self->bat != NULL)
    {
      *entry = le64 (self->bat + index * 8);
      return TRUE;
    }
  if (!file_read (self, raw, self->bat_offset + index * 8, 8, error))
    return FALSE;
  *entry = le64 (raw);
  return TRUE;
}

/* How many of the @length bytes at virtual @offset, which lie in a fully
 * present block stored at @file_offset, are stored back to back in the
 * file, the following blocks included (images are mostly written in
 * order): one pread or sendfile instead of one a block. Only with the BAT
 * in memory; check_bat() made sure each block lies inside the file. */
static guint64
contiguous_length (ChronosVhdx *self,
                   guint64      offset,
                   guint64      length,
                   guint64      file_offset)
{
  guint64 block = offset / self->block_size;
  guint64 run = MIN (length, self->block_size - offset % self->block_size);
  guint64 next_file = file_offset + self->block_size;

  while (run < length && self->bat != NULL)
    {
      guint64 entry;

      block++;
      entry = le64 (self->bat + (block + block / self->chunk_ratio) * 8);
      if ((entry & 7) != PAYLOAD_FULLY_PRESENT || (entry & ~(guint64)0xFFFFF) != next_file)
        break;
      run = MIN (length, run + self->block_size);
      next_file += self->block_size;
    }
  return run;
}

/* Reads [offset, offset + length) of a partially present block: the sector
 * bitmap of the block's chunk says, one bit per logical sector (bit set =
 * the sector is in this file), which runs come from @file_offset in this
 * file and which from the parent. */
static gboolean
read_partial_block (ChronosVhdx        *self,
                    guint8             *out,
                    guint64             offset,
                    gsize               length,
                    guint64             block,
                    guint64             file_offset,
                    ChronosVhdxReadFunc parent_read,
                    gpointer            parent_data,
                    GError            **error)
{
  guint64            chunk = block / self->chunk_ratio;
  guint64            chunk_start = chunk * self->chunk_ratio * self->block_size;
  guint64            bitmap_index = chunk * (self->chunk_ratio + 1) + self->chunk_ratio;
  guint32            sector_size = self->logical_sector_size;
  guint64            first_sector = (offset - chunk_start) / sector_size;
  guint64            last_sector = (offset + length - 1 - chunk_start) / sector_size;
  guint64            block_start = block * self->block_size;
  g_autofree guint8 *bits = NULL;
  guint64            bits_start = first_sector / 8;
  gsize              bits_length = (gsize)(last_sector / 8 - bits_start + 1);
  guint64            entry, bitmap_offset;
  guint64            position = offset;

  if (parent_read == NULL)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NEEDS_PARENT,
                   _ ("Block %llu of this differencing image is only partly stored in it: the rest is in its parent."),
                   (unsigned long long)block);
      return FALSE;
    }

  if (!bat_entry (self, bitmap_index, &entry, error))
    return FALSE;
  bitmap_offset = entry & ~(guint64)0xFFFFF;
  /* check_bat() made sure a present bitmap lies inside the file. */
  if ((entry & 7) != SB_PRESENT)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                   _ ("Block %llu of the image is partly present, but its sector bitmap is missing."),
                   (unsigned long long)block);
      return FALSE;
    }

  bits = g_malloc (bits_length);
  if (!file_read (self, bits, bitmap_offset + bits_start, bits_length, error))
    return FALSE;

  while (position < offset + length)
    {
      guint64  sector = (position - chunk_start) / sector_size;
      gboolean present = (bits[sector / 8 - bits_start] >> (sector % 8)) & 1;
      guint64  run_end = chunk_start + (sector + 1) * sector_size;
      gsize    n;

      /* Extend the run over the following sectors with the same bit. */
      while (run_end < offset + length)
        {
          guint64 next = (run_end - chunk_start) / sector_size;

          if ((gboolean)((bits[next / 8 - bits_start] >> (next % 8)) & 1) != present)
            break;
          run_end += sector_size;
        }
      run_end = MIN (run_end, offset + length);
      n = (gsize)(run_end - position);

      if (present)
        {
          if (!file_read (self, out + (position - offset), file_offset + (position - block_start), n, error))
            return FALSE;
        }
      else if (!parent_read (parent_data, out + (position - offset), position, n, error))
        return FALSE;
      position = run_end;
    }

  return TRUE;
}

gboolean
chronos_vhdx_read_through (ChronosVhdx        *self,
                           void               *buffer,
                           guint64             offset,
                           gsize               length,
                           ChronosVhdxReadFunc parent_read,
                           gpointer            parent_data,
                           GError            **error)
{
  guint8 *out = buffer;

  g_return_val_if_fail (CHRONOS_IS_VHDX (self), FALSE);
  g_return_val_if_fail (buffer != NULL || length == 0, FALSE);

  if (offset > self->virtual_size || length > self->virtual_size - offset)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_IO,
                   _ ("Cannot read %llu bytes at byte %llu: the virtual disk is only %llu bytes."),
                   (unsigned long long)length, (unsigned long long)offset,
                   (unsigned long long)self->virtual_size);
      return FALSE;
    }

  while (length > 0)
    {
      guint64 block = offset / self->block_size;
      guint64 in_block = offset % self->block_size;
      gsize   n = (gsize)MIN ((guint64)length, self->block_size - in_block);
      guint64 index = block + block / self->chunk_ratio;
      guint64 entry, file_offset;

      if (!bat_entry (self, index, &entry, error))
        return FALSE;
      file_offset = entry & ~(guint64)0xFFFFF;

      switch (entry & 7)
        {
        case PAYLOAD_FULLY_PRESENT:
          n = (gsize)contiguous_length (self, offset, length, file_offset);
          if (file_offset + in_block + n > self->effective_size)
            {
              g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                           _ ("Block %llu of the image points past the end of the file."), (unsigned long long)block);
              return FALSE;
            }
          if (!file_read (self, out, file_offset + in_block, n, error))
            return FALSE;
          break;

        case PAYLOAD_PARTIALLY_PRESENT:
          if (!self->has_parent || file_offset + in_block + n > self->effective_size)
            {
              g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                           _ ("Block %llu of the image has an invalid state."), (unsigned long long)block);
              return FALSE;
            }
          if (!read_partial_block (self, out, offset, n, block, file_offset, parent_read, parent_data, error))
            return FALSE;
          break;

        case PAYLOAD_NOT_PRESENT:
          if (self->has_parent)
            {
              if (parent_read == NULL)
                {
                  g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NEEDS_PARENT,
                               _ ("Block %llu of this differencing image is stored in its parent."),
                               (unsigned long long)block);
                  return FALSE;
                }
              if (!parent_read (parent_data, out, offset, n, error))
                return FALSE;
              break;
            }
          memset (out, 0, n);
          break;

        case PAYLOAD_UNDEFINED:
        case PAYLOAD_ZERO:
        case PAYLOAD_UNMAPPED:
          memset (out, 0, n);
          break;

        default:
          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                       _ ("Block %llu of the image has an invalid state."), (unsigned long long)block);
          return FALSE;
        }

      out += n;
      offset += n;
      length -= n;
    }

  return TRUE;
}

gboolean
chronos_vhdx_read (ChronosVhdx *self,
                   void        *buffer,
                   guint64      offset,
                   gsize        length,
                   GError     **error)
{
  return chronos_vhdx_read_through (self, buffer, offset, length, NULL, NULL, error);
}

gboolean
chronos_vhdx_map (ChronosVhdx       *self,
                  guint64            offset,
                  guint64            length,
                  ChronosVhdxExtent *extent,
                  GError           **error)
{
  gboolean as_on_disk;
  guint64  block, in_block, entry, file_offset, n;

  g_return_val_if_fail (CHRONOS_IS_VHDX (self), FALSE);
  g_return_val_if_fail (extent != NULL, FALSE);

  /* Bytes the replayed log changes or adds come only from file_read(). */
  as_on_disk = self->overlay_zeros->len == 0 && g_hash_table_size (self->overlay_sectors) == 0;

  if (length == 0 || offset > self->virtual_size || length > self->virtual_size - offset)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_IO,
                   _ ("Cannot read %llu bytes at byte %llu: the virtual disk is only %llu bytes."),
                   (unsigned long long)length, (unsigned long long)offset,
                   (unsigned long long)self->virtual_size);
      return FALSE;
    }

  block = offset / self->block_size;
  in_block = offset % self->block_size;
  n = MIN (length, self->block_size - in_block);
  if (!bat_entry (self, block + block / self->chunk_ratio, &entry, error))
    return FALSE;
  file_offset = entry & ~(guint64)0xFFFFF;

  extent->file_offset = 0;
  switch (entry & 7)
    {
    case PAYLOAD_FULLY_PRESENT:
      n = contiguous_length (self, offset, length, file_offset);
      if (as_on_disk && file_offset + in_block + n <= self->file_size)
        {
          extent->kind = CHRONOS_VHDX_EXTENT_DATA;
          extent->file_offset = file_offset + in_block;
        }
      else
        extent->kind = CHRONOS_VHDX_EXTENT_OTHER;
      break;

    case PAYLOAD_NOT_PRESENT:
      extent->kind = self->has_parent ? CHRONOS_VHDX_EXTENT_PARENT : CHRONOS_VHDX_EXTENT_ZERO;
      break;

    case PAYLOAD_UNDEFINED:
    case PAYLOAD_ZERO:
    case PAYLOAD_UNMAPPED:
      extent->kind = CHRONOS_VHDX_EXTENT_ZERO;
      break;

    case PAYLOAD_PARTIALLY_PRESENT:
    default:
      extent->kind = CHRONOS_VHDX_EXTENT_OTHER;
      break;
    }

  /* Zeros and the parent's share go on over blocks of the same state. */
  if (extent->kind == CHRONOS_VHDX_EXTENT_ZERO || extent->kind == CHRONOS_VHDX_EXTENT_PARENT)
    while (n < length && self->bat != NULL)
      {
        guint64  next = (offset + n) / self->block_size;
        guint    state = le64 (self->bat + (next + next / self->chunk_ratio) * 8) & 7;
        gboolean same;

        if (extent->kind == CHRONOS_VHDX_EXTENT_PARENT)
          same = state == PAYLOAD_NOT_PRESENT;
        else
          same = state == PAYLOAD_UNDEFINED || state == PAYLOAD_ZERO || state == PAYLOAD_UNMAPPED ||
                 (state == PAYLOAD_NOT_PRESENT && !self->has_parent);
        if (!same)
          break;
        n = MIN (length, n + self->block_size);
      }

  extent->length = n;
  return TRUE;
}

int
chronos_vhdx_get_fd (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), -1);
  return self->fd;
}

/* --- Accessors --------------------------------------------------------- */

const char *
chronos_vhdx_get_path (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->path;
}

guint64
chronos_vhdx_get_file_size (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), 0);
  return self->file_size;
}

guint64
chronos_vhdx_get_virtual_size (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), 0);
  return self->virtual_size;
}

guint32
chronos_vhdx_get_block_size (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), 0);
  return self->block_size;
}

guint32
chronos_vhdx_get_logical_sector_size (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), 0);
  return self->logical_sector_size;
}

guint32
chronos_vhdx_get_physical_sector_size (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), 0);
  return self->physical_sector_size;
}

const char *
chronos_vhdx_get_creator (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->creator;
}

const char *
chronos_vhdx_get_page83 (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->page83;
}

const char *
chronos_vhdx_get_data_write_guid (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->data_write_guid;
}

gboolean
chronos_vhdx_get_has_parent (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), FALSE);
  return self->has_parent;
}

const char *
chronos_vhdx_get_parent_linkage (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->parent_linkage;
}

const char *
chronos_vhdx_get_parent_linkage2 (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->parent_linkage2;
}

const char *
chronos_vhdx_get_parent_relative_path (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->parent_relative_path;
}

const char *
chronos_vhdx_get_parent_volume_path (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->parent_volume_path;
}

const char *
chronos_vhdx_get_parent_absolute_win32_path (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->parent_absolute_win32_path;
}

const char *
chronos_vhdx_get_parent_resolved_path (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return self->parent_resolved_path;
}

gboolean
chronos_vhdx_get_log_pending (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), FALSE);
  return self->log_pending;
}

guint
chronos_vhdx_get_log_entries_replayed (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), 0);
  return self->log_entries;
}

const char *const *
chronos_vhdx_get_warnings (ChronosVhdx *self)
{
  g_return_val_if_fail (CHRONOS_IS_VHDX (self), NULL);
  return (const char *const *)self->warnings->pdata;
}
