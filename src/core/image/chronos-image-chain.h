/* chronos-image-chain.h: a differencing image and its parents, read as one disk
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-vhdx.h"

G_BEGIN_DECLS

/* The deepest chain Chronos follows (child + 63 ancestors). */
#define CHRONOS_IMAGE_CHAIN_MAX_DEPTH 64

#define CHRONOS_TYPE_IMAGE_CHAIN (chronos_image_chain_get_type ())

G_DECLARE_FINAL_TYPE (ChronosImageChain, chronos_image_chain, CHRONOS, IMAGE_CHAIN, GObject)

/* Opens @path and, when it is a differencing image, its parent, the
 * parent's parent and so on (each found as chronos_vhdx_list_parent_candidates()
 * lists, and accepted only when its DataWriteGuid is the child's
 * parent_linkage or parent_linkage2). Errors (CHRONOS_IMAGE_ERROR):
 * NEEDS_PARENT when a parent is not found, or only images that are not
 * the parent (linkage mismatch) were found; CORRUPT for a chain that loops
 * or is deeper than CHRONOS_IMAGE_CHAIN_MAX_DEPTH, an implausible locator,
 * or a parent whose sector size differs; whatever opening an image gives.
 * Blocking: call it from a worker thread in code the app uses. */
ChronosImageChain *chronos_image_chain_open (const char   *path,
                                             GCancellable *cancellable,
                                             GError      **error);
/* The same for an image already open (it is referenced, not copied). */
ChronosImageChain *chronos_image_chain_new_for_image (ChronosVhdx  *image,
                                                      GCancellable *cancellable,
                                                      GError      **error);

/* 1 for a plain image; 3 for child -> parent -> base. */
guint chronos_image_chain_get_length (ChronosImageChain *self);
/* @depth 0 is the image itself, the last one the base. */
ChronosVhdx *chronos_image_chain_get_image (ChronosImageChain *self,
                                            guint              depth);
const char  *chronos_image_chain_get_path (ChronosImageChain *self);
guint64      chronos_image_chain_get_virtual_size (ChronosImageChain *self);
guint32      chronos_image_chain_get_logical_sector_size (ChronosImageChain *self);
guint32      chronos_image_chain_get_physical_sector_size (ChronosImageChain *self);
/* Problems that did not stop the open (a parent without linkage), as sentences. */
const char *const *chronos_image_chain_get_warnings (ChronosImageChain *self);

/* Reads @length virtual bytes at @offset of the disk the whole chain
 * makes. Safe from several threads at once (pread and immutable state). */
gboolean chronos_image_chain_read (ChronosImageChain *self,
                                   void              *buffer,
                                   guint64            offset,
                                   gsize              length,
                                   GError           **error);

G_END_DECLS
