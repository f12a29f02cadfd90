/* chronos-firmware.c: UEFI firmware (code + vars template) for x86_64 q35
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU's firmware descriptors (docs/interop/firmware.json) are the
 * distribution's own statement of which OVMF build is which, so they come
 * first; well-known file names catch installs without descriptors and
 * descriptors whose paths do not exist here (MSYS2 writes MSYS paths).
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "chronos-firmware.h"
#include "chronos-qemu-error.h"

struct _ChronosFirmware
{
  GObject parent_instance;

  char                 *code_path;
  char                 *vars_path;
  char                 *descriptor;
  char                 *description;
  ChronosFirmwareSource source;
};

G_DEFINE_FINAL_TYPE (ChronosFirmware, chronos_firmware, G_TYPE_OBJECT)

/* Code and vars file names, most wanted first. */
static const struct
{
  const char *code;
  const char *vars;
} known_names[] = {
  /* Debian, Ubuntu: 4 MiB builds without Secure Boot. */
  { "OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd" },
  /* Fedora, Arch, older Debian. */
  { "OVMF_CODE.fd", "OVMF_VARS.fd" },
  /* QEMU's own builds (Windows installers, MSYS2, `make install`). */
  { "edk2-x86_64-code.fd", "edk2-i386-vars.fd" },
  /* openSUSE. */
  { "ovmf-x86_64-code.bin", "ovmf-x86_64-vars.bin" },
};

/* Features that make a build unusable for a plain q35 guest without SMM or
 * Secure Boot keys. */
static const char *const rejected_features[] = {
  "secure-boot",
  "requires-smm",
  "enrolled-keys",
  NULL,
};

static void
chronos_firmware_finalize (GObject *object)
{
  ChronosFirmware *self = CHRONOS_FIRMWARE (object);

  g_clear_pointer (&self->code_path, g_free);
  g_clear_pointer (&self->vars_path, g_free);
  g_clear_pointer (&self->descriptor, g_free);
  g_clear_pointer (&self->description, g_free);

  G_OBJECT_CLASS (chronos_firmware_parent_class)->finalize (object);
}

static void
chronos_firmware_class_init (ChronosFirmwareClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_firmware_finalize;
}

static void
chronos_firmware_init (ChronosFirmware *self)
{
}

static gboolean
is_file (const char *path)
{
  return path != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

static gboolean
array_contains_string (JsonArray  *array,
                       const char *value)
{
  if (array == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING &&
          g_strcmp0 (json_node_get_string (node), value) == 0)
        return TRUE;
    }
  return FALSE;
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
member_array (JsonObject *object,
              const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* A flash file of the mapping: its name when raw (what pflash is given). */
static const char *
flash_file (JsonObject *mapping,
            const char *name)
{
  JsonObject *file = member_object (mapping, name);
  const char *format = member_string (file, "format");

  if (format != NULL && strcmp (format, "raw") != 0)
    return NULL;
  return member_string (file, "filename");
}

static gboolean
targets_q35_x86_64 (JsonArray *targets)
{
  if (targets == NULL)
    return FALSE;

  for (guint i = 0; i < json_array_get_length (targets); i++)
    {
      JsonNode   *node = json_array_get_element (targets, i);
      JsonObject *target = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonArray  *machines;

      if (g_strcmp0 (member_string (target, "architecture"), "x86_64") != 0)
        continue;
      machines = member_array (target, "machines");
      for (guint m = 0; machines != NULL && m < json_array_get_length (machines); m++)
        {
          JsonNode   *machine = json_array_get_element (machines, m);
          const char *glob;

          if (!JSON_NODE_HOLDS_VALUE (machine) || json_node_get_value_type (machine) != G_TYPE_STRING)
            continue;
          glob = json_node_get_string (machine);
          /* Globs such as "pc-q35-*" or "pc-q35-[5-9].*" against the
           * versioned name a q35 machine has. */
          if (g_pattern_match_simple (glob, "pc-q35-7.2") ||
              g_pattern_match_simple (glob, "pc-q35-10.1"))
            return TRUE;
        }
    }
  return FALSE;
}

/* Reads one descriptor; NULL when it does not fit (the reason goes to the
 * debug log: a user with many descriptors needs no warning per file). */
static ChronosFirmware *
firmware_from_descriptor (const char *path)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosFirmware) self = NULL;
  JsonNode   *root;
  JsonObject *object;
  JsonObject *mapping;
  JsonArray  *features;
  const char *code;
  const char *vars;
  const char *mode;

  if (!json_parser_load_from_file (parser, path, &error))
    {
      g_debug ("Firmware descriptor %s: %s", path, error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  object = json_node_get_object (root);

  if (!array_contains_string (member_array (object, "interface-types"), "uefi"))
    return NULL;
  mapping = member_object (object, "mapping");
  if (g_strcmp0 (member_string (mapping, "device"), "flash") != 0)
    return NULL;
  /* Only split code + vars; "combined" and "stateless" need other options. */
  mode = member_string (mapping, "mode");
  if (mode != NULL && strcmp (mode, "split") != 0)
    return NULL;
  if (!targets_q35_x86_64 (member_array (object, "targets")))
    return NULL;
  features = member_array (object, "features");
  for (guint i = 0; rejected_features[i] != NULL; i++)
    if (array_contains_string (features, rejected_features[i]))
      return NULL;

  code = flash_file (mapping, "executable");
  vars = flash_file (mapping, "nvram-template");
  if (!is_file (code) || !is_file (vars))
    {
      g_debug ("Firmware descriptor %s names files that do not exist here", path);
      return NULL;
    }

  self = g_object_new (CHRONOS_TYPE_FIRMWARE, NULL);
  self->code_path = g_strdup (code);
  self->vars_path = g_strdup (vars);
  self->descriptor = g_strdup (path);
  self->description = g_strdup (member_string (object, "description"));
  if (self->description == NULL)
    self->description = g_path_get_basename (code);
  self->source = CHRONOS_FIRMWARE_SOURCE_DESCRIPTOR;
  return g_steal_pointer (&self);
}

static int
compare_names (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

static ChronosFirmware *
find_by_descriptor (const char *const *descriptor_dirs)
{
  g_autoptr (GHashTable) by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree gpointer *names = NULL;
  guint                n_names = 0;

  if (descriptor_dirs == NULL)
    return NULL;

  /* Later directories replace earlier files of the same name. */
  for (guint d = 0; descriptor_dirs[d] != NULL; d++)
    {
      g_autoptr (GDir) dir = g_dir_open (descriptor_dirs[d], 0, NULL);
      const char *name;

      if (dir == NULL)
        continue;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          if (!g_str_has_suffix (name, ".json"))
            continue;
          g_hash_table_insert (by_name, g_strdup (name),
                               g_build_filename (descriptor_dirs[d], name, NULL));
        }
    }

  /* Descriptors are ranked by their file name ("50-...", "60-..."). */
  names = g_hash_table_get_keys_as_array (by_name, &n_names);
  g_qsort_with_data (names, n_names, sizeof (gpointer), compare_names, NULL);

  for (guint i = 0; i < n_names; i++)
    {
      const char      *path = g_hash_table_lookup (by_name, names[i]);
      ChronosFirmware *firmware;

      /* An empty file hides a same-named descriptor of lower priority. */
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_autoptr (GFile) file = g_file_new_for_path (path);
          g_autoptr (GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                          G_FILE_QUERY_INFO_NONE, NULL, NULL);

          if (info != NULL && g_file_info_get_size (info) == 0)
            continue;
        }
      firmware = firmware_from_descriptor (path);
      if (firmware != NULL)
        return firmware;
    }
  return NULL;
}

static ChronosFirmware *
find_by_name (const char *const *search_dirs)
{
  if (search_dirs == NULL)
    return NULL;

  /* Name pairs first, then directories: a Debian 4 MiB build anywhere is
   * preferred to a 2 MiB one next to it. */
  for (guint n = 0; n < G_N_ELEMENTS (known_names); n++)
    for (guint d = 0; search_dirs[d] != NULL; d++)
      {
        g_autofree char *code = g_build_filename (search_dirs[d], known_names[n].code, NULL);
        g_autofree char *vars = g_build_filename (search_dirs[d], known_names[n].vars, NULL);
        ChronosFirmware *self;

        if (!is_file (code) || !is_file (vars))
          continue;
        self = g_object_new (CHRONOS_TYPE_FIRMWARE, NULL);
        self->code_path = g_steal_pointer (&code);
        self->vars_path = g_steal_pointer (&vars);
        self->description = g_path_get_basename (self->code_path);
        self->source = CHRONOS_FIRMWARE_SOURCE_FILE_NAME;
        return self;
      }
  return NULL;
}

ChronosFirmware *
chronos_firmware_find_in (const char *const *descriptor_dirs,
                          const char *const *search_dirs,
                          GError           **error)
{
  ChronosFirmware *self;
  g_autofree char *hint = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = find_by_descriptor (descriptor_dirs);
  if (self == NULL)
    self = find_by_name (search_dirs);
  if (self != NULL)
    return self;

  hint = chronos_qemu_install_hint (CHRONOS_QEMU_COMPONENT_FIRMWARE);
  g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FIRMWARE_MISSING,
               _ ("UEFI firmware (OVMF) is not installed, so this backup cannot start. %s"), hint);
  return NULL;
}

ChronosFirmware *
chronos_firmware_find (ChronosQemu *qemu,
                       GError     **error)
{
  g_autoptr (GPtrArray) descriptor_dirs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) search_dirs = g_ptr_array_new_with_free_func (g_free);
  const char *data_dir;

  g_return_val_if_fail (qemu == NULL || CHRONOS_IS_QEMU (qemu), NULL);

  data_dir = qemu != NULL ? chronos_qemu_get_data_dir (qemu) : NULL;

  /* Increasing priority, as QEMU's firmware.json specifies. */
  if (data_dir != NULL)
    g_ptr_array_add (descriptor_dirs, g_build_filename (data_dir, "firmware", NULL));
#ifndef G_OS_WIN32
  g_ptr_array_add (descriptor_dirs, g_strdup ("/usr/share/qemu/firmware"));
  g_ptr_array_add (descriptor_dirs, g_strdup ("/etc/qemu/firmware"));
#endif
  g_ptr_array_add (descriptor_dirs, g_build_filename (g_get_user_config_dir (), "qemu", "firmware", NULL));
  g_ptr_array_add (descriptor_dirs, NULL);

  if (data_dir != NULL)
    g_ptr_array_add (search_dirs, g_strdup (data_dir));
#ifndef G_OS_WIN32
  g_ptr_array_add (search_dirs, g_strdup ("/usr/share/OVMF"));
  g_ptr_array_add (search_dirs, g_strdup ("/usr/share/edk2/ovmf"));
  g_ptr_array_add (search_dirs, g_strdup ("/usr/share/edk2/x64"));
  g_ptr_array_add (search_dirs, g_strdup ("/usr/share/edk2-ovmf/x64"));
  g_ptr_array_add (search_dirs, g_strdup ("/usr/share/qemu"));
#endif
  g_ptr_array_add (search_dirs, NULL);

  return chronos_firmware_find_in ((const char *const *)descriptor_dirs->pdata,
                                   (const char *const *)search_dirs->pdata, error);
}

static void
find_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  ChronosQemu     *qemu = task_data;
  GError          *error = NULL;
  ChronosFirmware *firmware = chronos_firmware_find (qemu, &error);

  if (firmware == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, firmware, g_object_unref);
}

void
chronos_firmware_find_async (ChronosQemu        *qemu,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (qemu == NULL || CHRONOS_IS_QEMU (qemu));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_firmware_find_async);
  if (qemu != NULL)
    g_task_set_task_data (task, g_object_ref (qemu), g_object_unref);
  g_task_run_in_thread (task, find_thread);
}

ChronosFirmware *
chronos_firmware_find_finish (GAsyncResult *result,
                              GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == chronos_firmware_find_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
chronos_firmware_get_code_path (ChronosFirmware *self)
{
  g_return_val_if_fail (CHRONOS_IS_FIRMWARE (self), NULL);
  return self->code_path;
}

const char *
chronos_firmware_get_vars_path (ChronosFirmware *self)
{
  g_return_val_if_fail (CHRONOS_IS_FIRMWARE (self), NULL);
  return self->vars_path;
}

ChronosFirmwareSource
chronos_firmware_get_source (ChronosFirmware *self)
{
  g_return_val_if_fail (CHRONOS_IS_FIRMWARE (self), CHRONOS_FIRMWARE_SOURCE_FILE_NAME);
  return self->source;
}

const char *
chronos_firmware_get_descriptor (ChronosFirmware *self)
{
  g_return_val_if_fail (CHRONOS_IS_FIRMWARE (self), NULL);
  return self->descriptor;
}

const char *
chronos_firmware_get_description (ChronosFirmware *self)
{
  g_return_val_if_fail (CHRONOS_IS_FIRMWARE (self), NULL);
  return self->description;
}

gboolean
chronos_firmware_write_bios_image (ChronosFirmware *self,
                                   const char      *vars_path,
                                   const char      *dest_path,
                                   GError         **error)
{
  g_autofree char *vars = NULL;
  g_autofree char *code = NULL;
  g_autofree char *image = NULL;
  gsize            vars_len = 0;
  gsize            code_len = 0;

  g_return_val_if_fail (CHRONOS_IS_FIRMWARE (self), FALSE);
  g_return_val_if_fail (vars_path != NULL, FALSE);
  g_return_val_if_fail (dest_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_file_get_contents (vars_path, &vars, &vars_len, error) ||
      !g_file_get_contents (self->code_path, &code, &code_len, error))
    return FALSE;

  /* The layout of OVMF.fd: the variable store, then the code, so the reset
   * vector stays at the top of the 4 GiB space where -bios maps the end. */
  image = g_malloc (vars_len + code_len);
  memcpy (image, vars, vars_len);
  memcpy (image + vars_len, code, code_len);
  return g_file_set_contents_full (dest_path, image, vars_len + code_len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
