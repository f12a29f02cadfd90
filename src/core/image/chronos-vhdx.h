/* chronos-vhdx.h: a read-only, validating reader of VHDX disk images
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CHRONOS_TYPE_VHDX (chronos_vhdx_get_type ())

G_DECLARE_FINAL_TYPE (ChronosVhdx, chronos_vhdx, CHRONOS, VHDX, GObject)

/* Opens @path read-only and validates every structure it relies on: the
 * file identifier, both headers, both region tables, the metadata and
 * every BAT entry in use. A pending log is replayed in memory (the file
 * is never written). Errors are in CHRONOS_IMAGE_ERROR. Blocking: call it
 * from a worker thread in code the app uses. */
ChronosVhdx *chronos_vhdx_open (const char   *path,
                                GCancellable *cancellable,
                                GError      **error);
const char  *chronos_vhdx_get_path (ChronosVhdx *self);
guint64      chronos_vhdx_get_file_size (ChronosVhdx *self);
guint64      chronos_vhdx_get_virtual_size (ChronosVhdx *self);
guint32      chronos_vhdx_get_block_size (ChronosVhdx *self);
guint32      chronos_vhdx_get_logical_sector_size (ChronosVhdx *self);
guint32      chronos_vhdx_get_physical_sector_size (ChronosVhdx *self);
/* The "Creator" of the file identifier, e.g. "QEMU v7.2.0", or "". */
const char *chronos_vhdx_get_creator (ChronosVhdx *self);
/* The Page 83 identifier (the disk's SCSI identity) as a GUID string. */
const char *chronos_vhdx_get_page83 (ChronosVhdx *self);
/* The DataWriteGuid of the active header: what a child's parent_linkage names. */
const char *chronos_vhdx_get_data_write_guid (ChronosVhdx *self);
gboolean    chronos_vhdx_get_has_parent (ChronosVhdx *self);
/* Parent locator values as stored (backslashes and all), or NULL. */
const char *chronos_vhdx_get_parent_linkage (ChronosVhdx *self);
/* The second linkage a parent may match (MS-VHDX parent_linkage2), or NULL. */
const char *chronos_vhdx_get_parent_linkage2 (ChronosVhdx *self);
const char *chronos_vhdx_get_parent_relative_path (ChronosVhdx *self);
const char *chronos_vhdx_get_parent_volume_path (ChronosVhdx *self);
const char *chronos_vhdx_get_parent_absolute_win32_path (ChronosVhdx *self);
/* The first of the candidates below that exists, or NULL. Its identity is
 * not checked here: ChronosImageChain does that. */
const char *chronos_vhdx_get_parent_resolved_path (ChronosVhdx *self);
/* Where the parent may be on this host, in the order to try them (element
 * type: char *, local paths):
 *  1. relative_path (backslashes and all) against the child's folder;
 *  2. absolute_win32_path as it is (on Windows only), then elsewhere the
 *     same path below its volume ("D:\B\p.vhdx" -> "B/p.vhdx", also for
 *     "\server\share\..." and "\?\Volume{...}\...") under the child's
 *     folder and under each folder above it, for a backup drive mounted
 *     anywhere; the same for volume_path;
 *  3. the file name of each of these, next to the child.
 * Fails (CHRONOS_IMAGE_ERROR_CORRUPT) when a locator path is implausible:
 * longer than 4096 bytes or holding control characters. */
GPtrArray *chronos_vhdx_list_parent_candidates (ChronosVhdx *self,
                                                GError     **error);
/* TRUE when the active header names a log (the image was not closed cleanly). */
gboolean chronos_vhdx_get_log_pending (ChronosVhdx *self);
/* How many log entries were replayed in memory. */
guint chronos_vhdx_get_log_entries_replayed (ChronosVhdx *self);
/* Problems that did not stop the open (one damaged header, ...), as sentences. */
const char *const *chronos_vhdx_get_warnings (ChronosVhdx *self);

/* Reads @length virtual bytes at @offset. Safe to call from several threads
 * at once: it only uses pread and immutable state. Fails with
 * CHRONOS_IMAGE_ERROR_NEEDS_PARENT when the data lives in the parent of a
 * differencing image. */
gboolean chronos_vhdx_read (ChronosVhdx *self,
                            void        *buffer,
                            guint64      offset,
                            gsize        length,
                            GError     **error);

/* Reads the parent's bytes at the same virtual @offset, for
 * chronos_vhdx_read_through(). */
typedef gboolean (*ChronosVhdxReadFunc) (gpointer user_data,
                                         void    *buffer,
                                         guint64  offset,
                                         gsize    length,
                                         GError **error);

/* Like chronos_vhdx_read(), but what a differencing image does not hold
 * ("not present" blocks, and the sectors of "partially present" blocks
 * whose sector-bitmap bit is clear) is read through @parent_read. With
 * @parent_read NULL this is chronos_vhdx_read(). Thread-safe as it is. */
gboolean chronos_vhdx_read_through (ChronosVhdx        *self,
                                    void               *buffer,
                                    guint64             offset,
                                    gsize               length,
                                    ChronosVhdxReadFunc parent_read,
                                    gpointer            parent_data,
                                    GError            **error);

/* What a run of virtual bytes is made of, for a server that sends file
 * bytes without copying them (sendfile). */
typedef enum
{
  CHRONOS_VHDX_EXTENT_DATA,   /* the file's bytes at @file_offset, as on disk */
  CHRONOS_VHDX_EXTENT_ZERO,   /* zeros */
  CHRONOS_VHDX_EXTENT_PARENT, /* the parent's bytes at the same virtual offset */
  CHRONOS_VHDX_EXTENT_OTHER,  /* only chronos_vhdx_read_through() gives them (a
                               * sector bitmap, the replayed log, a damaged entry) */
} ChronosVhdxExtentKind;

typedef struct
{
  ChronosVhdxExtentKind kind;
  guint64               file_offset; /* DATA only */
  guint64               length;
} ChronosVhdxExtent;

/* Describes the longest run of one kind that starts at virtual @offset,
 * at most @length bytes: a DATA run spans blocks that lie back to back in
 * the file. The checks are those of a read (the range must lie in the
 * disk; DATA lies in the file as checked at the open), so that sending a
 * DATA run's file bytes gives what chronos_vhdx_read_through() would.
 * Thread-safe as reading is. */
gboolean chronos_vhdx_map (ChronosVhdx       *self,
                           guint64            offset,
                           guint64            length,
                           ChronosVhdxExtent *extent,
                           GError           **error);
/* The image file, open read-only, for the DATA runs of chronos_vhdx_map();
 * it stays open as long as the image. */
int chronos_vhdx_get_fd (ChronosVhdx *self);

G_END_DECLS
