/* chronos-image-chain.c: a differencing image and its parents, read as one disk
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * An incremental backup is a chain: the newest .avhdx holds what changed,
 * its parent what changed before, down to a full image. Each child names
 * its parent in its locator (paths written on Windows, so they rarely fit
 * this host as they are) and pins it with parent_linkage, the DataWriteGuid
 * the parent had when the child was made. A parent that was modified or
 * replaced since then no longer fits, and reading through it would give a
 * disk that never existed; so a candidate is accepted only when its
 * identity matches. Every image stays open read-only; the chain is
 * immutable after it is opened, and reads use pread only.
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "chronos-image-chain.h"
#include "chronos-image-error.h"

struct _ChronosImageChain
{
  GObject    parent_instance;
  GPtrArray *images;   /* ChronosVhdx, child first */
  GPtrArray *warnings; /* NULL-terminated */
};

G_DEFINE_FINAL_TYPE (ChronosImageChain, chronos_image_chain, G_TYPE_OBJECT)

static void
chronos_image_chain_finalize (GObject *object)
{
  ChronosImageChain *self = CHRONOS_IMAGE_CHAIN (object);

  g_clear_pointer (&self->images, g_ptr_array_unref);
  g_clear_pointer (&self->warnings, g_ptr_array_unref);

  G_OBJECT_CLASS (chronos_image_chain_parent_class)->finalize (object);
}

static void
chronos_image_chain_class_init (ChronosImageChainClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_image_chain_finalize;
}

static void
chronos_image_chain_init (ChronosImageChain *self)
{
  self->images = g_ptr_array_new_with_free_func (g_object_unref);
  self->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->warnings, NULL);
}

static void
add_warning (ChronosImageChain *self,
             char              *sentence)
{
  g_ptr_array_remove_index (self->warnings, self->warnings->len - 1);
  g_ptr_array_add (self->warnings, sentence);
  g_ptr_array_add (self->warnings, NULL);
}

/* What makes two paths the same file: the device and inode where there are
 * any (hard links, symlinks and "a/../b" all agree), else the canonical path. */
static char *
file_identity (const char *path)
{
#ifdef G_OS_UNIX
  GStatBuf st;

  if (g_stat (path, &st) == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, (guint64)st.st_dev, (guint64)st.st_ino);
#endif
  {
    g_autofree char *canonical = g_canonicalize_filename (path, NULL);

    return g_utf8_casefold (canonical, -1);
  }
}

/* "{6B2F...}" or "6b2f..." -> "6B2F..." for comparing GUIDs. */
static char *
normalize_guid (const char *text)
{
  g_autofree char *copy = g_strdup (text);

  g_strstrip (g_strdelimit (copy, "{}", ' '));
  return g_ascii_strup (copy, -1);
}

static gboolean
linkage_matches (ChronosVhdx *child,
                 ChronosVhdx *parent)
{
  g_autofree char *have = normalize_guid (chronos_vhdx_get_data_write_guid (parent));
  const char      *links[] = { chronos_vhdx_get_parent_linkage (child), chronos_vhdx_get_parent_linkage2 (child) };

  for (guint i = 0; i < G_N_ELEMENTS (links); i++)
    {
      g_autofree char *want = links[i] != NULL ? normalize_guid (links[i]) : NULL;

      if (want != NULL && strcmp (want, have) == 0)
        return TRUE;
    }
  return FALSE;
}

static const char *
locator_name (ChronosVhdx *child)
{
  if (chronos_vhdx_get_parent_relative_path (child) != NULL)
    return chronos_vhdx_get_parent_relative_path (child);
  if (chronos_vhdx_get_parent_absolute_win32_path (child) != NULL)
    return chronos_vhdx_get_parent_absolute_win32_path (child);
  if (chronos_vhdx_get_parent_volume_path (child) != NULL)
    return chronos_vhdx_get_parent_volume_path (child);
  return _ ("(unnamed)");
}

/* Finds and opens the parent of @child, the last image of the chain. */
static ChronosVhdx *
open_parent (ChronosImageChain *self,
             ChronosVhdx       *child,
             GHashTable        *in_chain,
             GCancellable      *cancellable,
             GError           **error)
{
  g_autoptr (GError) candidates_error = NULL;
  g_autoptr (GPtrArray) candidates = NULL;
  g_autoptr (GString) looked = g_string_new (NULL);
  g_autofree char *mismatch = NULL;
  g_autofree char *loop = NULL;
  g_autoptr (GError) open_error = NULL;
  g_autofree char *open_error_path = NULL;
  const char      *child_path = chronos_vhdx_get_path (child);
  gboolean         has_linkage = chronos_vhdx_get_parent_linkage (child) != NULL ||
                         chronos_vhdx_get_parent_linkage2 (child) != NULL;

  candidates = chronos_vhdx_list_parent_candidates (child, &candidates_error);
  if (candidates == NULL)
    {
      g_set_error (error, CHRONOS_IMAGE_ERROR, candidates_error->code, "%s: %s", child_path,
                   candidates_error->message);
      return NULL;
    }

  for (guint i = 0; i < candidates->len; i++)
    {
      const char      *candidate = g_ptr_array_index (candidates, i);
      g_autofree char *identity = NULL;
      g_autoptr (ChronosVhdx) parent = NULL;
      g_autoptr (GError) local_error = NULL;
      ChronosVhdx *already;

      if (i < 3)
        g_string_append_printf (looked, "%s“%s”", i > 0 ? ", " : "", candidate);
      else if (i == 3)
        g_string_append_printf (looked, _ (" and %u more places"), candidates->len - 3);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      if (!g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
        continue;

      identity = file_identity (candidate);
      already = g_hash_table_lookup (in_chain, identity);
      if (already != NULL)
        {
          /* A file of the chain itself: a loop if it really is the parent
           * named; else only a name that happens to match (a child named
           * like its parent), and the search goes on. */
          if (loop == NULL && (!has_linkage || linkage_matches (child, already)))
            loop = g_strdup (candidate);
          continue;
        }

      parent = chronos_vhdx_open (candidate, cancellable, &local_error);
      if (parent == NULL)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
          if (open_error == NULL)
            {
              open_error = g_steal_pointer (&local_error);
              open_error_path = g_strdup (candidate);
            }
          continue;
        }

      if (!has_linkage)
        {
          add_warning (self, g_strdup_printf (_ ("“%s” does not say which version of its parent it was made from, so “%s” was used without checking that it fits."),
                                              child_path, candidate));
          return g_steal_pointer (&parent);
        }
      if (linkage_matches (child, parent))
        return g_steal_pointer (&parent);
      if (mismatch == NULL)
        mismatch = g_strdup_printf (_ ("The parent image “%s” does not belong to the differencing image “%s”: it is a different version (its identity is {%s}, but the child was made from {%s}). It was changed or replaced after the differencing image was made, and reading through it would give a disk that never existed."),
                                    candidate, child_path, chronos_vhdx_get_data_write_guid (parent),
                                    chronos_vhdx_get_parent_linkage (child) != NULL
                                        ? chronos_vhdx_get_parent_linkage (child)
                                        : chronos_vhdx_get_parent_linkage2 (child));
    }

  if (mismatch != NULL)
    g_set_error_literal (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_WRONG_PARENT, mismatch);
  else if (loop != NULL)
    g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                 _ ("The differencing images form a loop: “%s” names “%s” as its parent, which is already part of the chain."),
                 child_path, loop);
  else if (open_error != NULL)
    g_set_error (error, CHRONOS_IMAGE_ERROR, open_error->code,
                 _ ("The parent image “%s” of “%s” cannot be read: %s"),
                 open_error_path, child_path, open_error->message);
  else if (candidates->len == 0)
    g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NEEDS_PARENT,
                 _ ("“%s” is a differencing image, but its parent locator names no path to look for the parent."),
                 child_path);
  else
    g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_NEEDS_PARENT,
                 _ ("The parent image “%s” of “%s” was not found (looked at %s). Put it next to the differencing image."),
                 locator_name (child), child_path, looked->str);
  return NULL;
}

ChronosImageChain *
chronos_image_chain_new_for_image (ChronosVhdx  *image,
                                   GCancellable *cancellable,
                                   GError      **error)
{
  g_autoptr (ChronosImageChain) self = NULL;
  g_autoptr (GHashTable) in_chain = NULL;
  ChronosVhdx *last = image;

  g_return_val_if_fail (CHRONOS_IS_VHDX (image), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (CHRONOS_TYPE_IMAGE_CHAIN, NULL);
  in_chain = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_ptr_array_add (self->images, g_object_ref (image));
  g_hash_table_insert (in_chain, file_identity (chronos_vhdx_get_path (image)), image);

  while (chronos_vhdx_get_has_parent (last))
    {
      ChronosVhdx *parent;

      if (self->images->len >= CHRONOS_IMAGE_CHAIN_MAX_DEPTH)
        {
          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_CORRUPT,
                       _ ("The chain of differencing images below “%s” is more than %u images deep; Chronos does not follow chains that long."),
                       chronos_vhdx_get_path (image), CHRONOS_IMAGE_CHAIN_MAX_DEPTH);
          return NULL;
        }

      parent = open_parent (self, last, in_chain, cancellable, error);
      if (parent == NULL)
        return NULL;
      g_ptr_array_add (self->images, parent);
      g_hash_table_insert (in_chain, file_identity (chronos_vhdx_get_path (parent)), parent);

      /* The sector bitmap counts the child's sectors; a parent with other
       * sectors cannot be the disk the child was made from. */
      if (chronos_vhdx_get_logical_sector_size (parent) != chronos_vhdx_get_logical_sector_size (last))
        {
          g_set_error (error, CHRONOS_IMAGE_ERROR, CHRONOS_IMAGE_ERROR_WRONG_PARENT,
                       _ ("The parent image “%s” has %u-byte sectors, but its differencing image “%s” has %u-byte sectors, so they do not belong together."),
                       chronos_vhdx_get_path (parent), chronos_vhdx_get_logical_sector_size (parent),
                       chronos_vhdx_get_path (last), chronos_vhdx_get_logical_sector_size (last));
          return NULL;
        }
      if (chronos_vhdx_get_virtual_size (parent) != chronos_vhdx_get_virtual_size (last))
        add_warning (self, g_strdup_printf (_ ("The parent image “%s” is %llu bytes, but its differencing image is %llu bytes; what lies past the parent’s end reads as zeros."),
                                            chronos_vhdx_get_path (parent),
                                            (unsigned long long)chronos_vhdx_get_virtual_size (parent),
                                            (unsigned long long)chronos_vhdx_get_virtual_size (last)));
      last = parent;
    }

  return g_steal_pointer (&self);
}

ChronosImageChain *
chronos_image_chain_open (const char   *path,
                          GCancellable *cancellable,
                          GError      **error)
{
  g_autoptr (ChronosVhdx) image = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  image = chronos_vhdx_open (path, cancellable, error);
  if (image == NULL)
    return NULL;
  return chronos_image_chain_new_for_image (image, cancellable, error);
}

guint
chronos_image_chain_get_length (ChronosImageChain *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (self), 0);
  return self->images->len;
}

ChronosVhdx *
chronos_image_chain_get_image (ChronosImageChain *self,
                               guint              depth)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (self), NULL);
  g_return_val_if_fail (depth < self->images->len, NULL);
  return g_ptr_array_index (self->images, depth);
}

const char *
chronos_image_chain_get_path (ChronosImageChain *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (self), NULL);
  return chronos_vhdx_get_path (g_ptr_array_index (self->images, 0));
}

guint64
chronos_image_chain_get_virtual_size (ChronosImageChain *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (self), 0);
  return chronos_vhdx_get_virtual_size (g_ptr_array_index (self->images, 0));
}

guint32
chronos_image_chain_get_logical_sector_size (ChronosImageChain *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (self), 0);
  return chronos_vhdx_get_logical_sector_size (g_ptr_array_index (self->images, 0));
}

guint32
chronos_image_chain_get_physical_sector_size (ChronosImageChain *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (self), 0);
  return chronos_vhdx_get_physical_sector_size (g_ptr_array_index (self->images, 0));
}

const char *const *
chronos_image_chain_get_warnings (ChronosImageChain *self)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (self), NULL);
  return (const char *const *)self->warnings->pdata;
}

typedef struct
{
  ChronosImageChain *chain;
  guint              depth;
} Level;

static gboolean read_at_depth (ChronosImageChain *self,
                               guint              depth,
                               guint8            *buffer,
                               guint64            offset,
                               gsize              length,
                               GError           **error);

static gboolean
parent_read_cb (gpointer user_data,
                void    *buffer,
                guint64  offset,
                gsize    length,
                GError **error)
{
  const Level *level = user_data;

  return read_at_depth (level->chain, level->depth, buffer, offset, length, error);
}

/* Recursion is bounded by the chain's depth (at most 64 frames). */
static gboolean
read_at_depth (ChronosImageChain *self,
               guint              depth,
               guint8            *buffer,
               guint64            offset,
               gsize              length,
               GError           **error)
{
  ChronosVhdx *image = g_ptr_array_index (self->images, depth);
  guint64      size = chronos_vhdx_get_virtual_size (image);
  Level        parent = { self, depth + 1 };
  gsize        inside = 0;

  /* Only a parent can be shorter than what is asked of it. */
  if (offset < size)
    inside = (gsize)MIN ((guint64)length, size - offset);
  if (inside < length)
    memset (buffer + inside, 0, length - inside);
  if (inside == 0)
    return TRUE;

  return chronos_vhdx_read_through (image, buffer, offset, inside,
                                    depth + 1 < self->images->len ? parent_read_cb : NULL,
                                    &parent, error);
}

gboolean
chronos_image_chain_read (ChronosImageChain *self,
                          void              *buffer,
                          guint64            offset,
                          gsize              length,
                          GError           **error)
{
  g_return_val_if_fail (CHRONOS_IS_IMAGE_CHAIN (self), FALSE);
  g_return_val_if_fail (buffer != NULL || length == 0, FALSE);

  /* The image itself checks the range against its own size. */
  return chronos_vhdx_read_through (g_ptr_array_index (self->images, 0), buffer, offset, length,
                                    self->images->len > 1 ? parent_read_cb : NULL,
                                    &(Level){ self, 1 }, error);
}
