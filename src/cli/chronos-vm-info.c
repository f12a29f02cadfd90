/* chronos-vm-info.c: `chronos-vm info` and `chronos-vm list`
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "chronos-enums.h"
#include "chronos-image-info.h"
#include "chronos-vm-commands.h"
#include "chronos-vm-util.h"

static char *
format_bytes (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static const char *
style_label (ChronosPartitionStyle style)
{
  switch (style)
    {
    case CHRONOS_PARTITION_STYLE_GPT:
      return "GPT";
    case CHRONOS_PARTITION_STYLE_MBR:
      return "MBR";
    case CHRONOS_PARTITION_STYLE_NONE:
    default:
      return _ ("none");
    }
}

static const char *
firmware_label (ChronosImageInfo *info)
{
  return chronos_image_info_get_firmware (info) == CHRONOS_FIRMWARE_MODE_UEFI ? "UEFI" : "BIOS";
}

static void
print_row (const char *label,
           const char *value)
{
  /* Pad by characters, not bytes, so translated labels line up. */
  glong width = g_utf8_strlen (label, -1);

  g_print ("%s%*s %s\n", label, (int)MAX (0, 20 - width), "", value);
}

static void
print_info_text (ChronosImageInfo *info)
{
  g_autofree char   *file_size = format_bytes (chronos_image_info_get_file_size (info));
  g_autofree char   *virtual_size = format_bytes (chronos_image_info_get_virtual_size (info));
  g_autofree char   *block_size = format_bytes (chronos_image_info_get_block_size (info));
  g_autofree char   *sectors = NULL;
  g_autofree char   *file_line = NULL;
  g_autofree char   *virtual_line = NULL;
  g_autofree char   *parent = NULL;
  g_autofree char   *boot = NULL;
  const char *const *warnings = chronos_image_info_get_warnings (info);
  GPtrArray         *partitions = chronos_image_info_get_partitions (info);

  file_line = g_strdup_printf ("%s (%" G_GUINT64_FORMAT " bytes)", file_size,
                               chronos_image_info_get_file_size (info));
  virtual_line = g_strdup_printf ("%s (%" G_GUINT64_FORMAT " bytes)", virtual_size,
                                  chronos_image_info_get_virtual_size (info));
  sectors = g_strdup_printf (_ ("%u logical, %u physical"),
                             chronos_image_info_get_logical_sector_size (info),
                             chronos_image_info_get_physical_sector_size (info));
  if (!chronos_image_info_get_has_parent (info))
    parent = g_strdup (_ ("none"));
  else
    {
      const char *named = chronos_image_info_get_parent_relative_path (info);
      const char *resolved = chronos_image_info_get_parent_resolved_path (info);

      if (named == NULL)
        named = chronos_image_info_get_parent_absolute_win32_path (info);
      if (resolved != NULL)
        parent = g_strdup_printf (_ ("%s (found: %s)"), named ? named : "", resolved);
      else
        parent = g_strdup_printf (_ ("%s (missing)"), named ? named : "");
    }
  if (chronos_image_info_get_partition_style (info) == CHRONOS_PARTITION_STYLE_NONE)
    boot = g_strdup_printf (_ ("no partition table, boots with %s"), firmware_label (info));
  else
    boot = g_strdup_printf (_ ("%s partition table, boots with %s"),
                            style_label (chronos_image_info_get_partition_style (info)),
                            firmware_label (info));

  print_row (_ ("Image:"), chronos_image_info_get_path (info));
  print_row (_ ("Format:"), "VHDX");
  print_row (_ ("File size:"), file_line);
  print_row (_ ("Virtual size:"), virtual_line);
  print_row (_ ("Block size:"), block_size);
  print_row (_ ("Sector size:"), sectors);
  print_row (_ ("Creator:"), chronos_image_info_get_creator (info));
  print_row (_ ("Parent:"), parent);
  if (chronos_image_info_get_has_parent (info))
    {
      g_autofree char *chain = g_strjoinv (" -> ", (char **)chronos_image_info_get_chain (info));

      if (!chronos_image_info_get_chain_complete (info))
        {
          g_autofree char *incomplete = g_strdup_printf (_ ("%s -> (cannot be opened)"), chain);

          print_row (_ ("Chain:"), incomplete);
        }
      else
        print_row (_ ("Chain:"), chain);
    }
  print_row (_ ("Pending log:"), chronos_image_info_get_log_pending (info) ? _ ("yes") : _ ("no"));
  print_row (_ ("Boot:"), boot);

  if (partitions->len > 0)
    {
      g_print ("\n  %-3s %-12s %-12s %-24s %s\n", "#", _ ("Start"), _ ("Size"), _ ("Type"), _ ("Name"));
      for (guint i = 0; i < partitions->len; i++)
        {
          const ChronosPartition *p = g_ptr_array_index (partitions, i);
          g_autofree char        *start = format_bytes (p->start);
          g_autofree char        *size = format_bytes (p->size);

          g_print ("  %-3u %-12s %-12s %-24s %s%s\n", p->number, start, size, p->type,
                   p->name ? p->name : "", p->bootable ? _ (" (boot)") : "");
        }
    }

  if (warnings != NULL && warnings[0] != NULL)
    {
      g_print ("\n%s\n", _ ("Warnings:"));
      for (guint i = 0; warnings[i] != NULL; i++)
        g_print ("  - %s\n", warnings[i]);
    }
}

int
chronos_vm_cmd_info (int    argc,
                     char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (ChronosImageInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  gboolean           json = FALSE;
  int                status = CHRONOS_VM_EXIT_OK;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print one JSON object"), NULL },
    { NULL },
  };

  context = g_option_context_new (_ ("info IMAGE"));
  g_option_context_set_summary (context, _ ("Show what a VHDX backup image contains and how it boots,\nwithout changing it."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!chronos_vm_parse (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return chronos_vm_usage_error (context, argc < 2 ? _ ("info needs one IMAGE") : _ ("info takes exactly one IMAGE"));

  info = chronos_image_info_load (argv[1], NULL, &error);
  if (info == NULL)
    return chronos_vm_fail (argv[1], error);

  if (json)
    {
      g_autoptr (JsonNode) node = chronos_image_info_to_json (info);

      chronos_vm_print_json (node);
    }
  else
    print_info_text (info);

  return CHRONOS_VM_EXIT_OK;
}

typedef struct
{
  char             *path;
  gboolean          skip; /* a folder with an image's name */
  ChronosImageInfo *info;
  char             *error;
  char             *json; /* for --json: the array element, indented */
} ListEntry;

static void
list_entry_free (ListEntry *entry)
{
  g_free (entry->path);
  g_clear_object (&entry->info);
  g_free (entry->error);
  g_free (entry->json);
  g_free (entry);
}

/* The entry as json-glib prints an element of a pretty array: its own
 * pretty text, each line indented by two spaces (JSON strings hold no
 * raw line breaks). */
static char *
list_entry_to_json (ListEntry *entry)
{
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;
  GString         *indented;

  if (entry->info != NULL)
    node = chronos_image_info_to_json (entry->info);
  else
    {
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "path", entry->path);
      json_object_set_string_member (object, "error", entry->error);
      node = json_node_init_object (json_node_alloc (), object);
      json_object_unref (object);
    }
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  indented = g_string_sized_new (strlen (text) * 5 / 4);
  for (const char *line = text;;)
    {
      const char *end = strchr (line, '\n');

      g_string_append (indented, "  ");
      if (end == NULL)
        {
          g_string_append (indented, line);
          break;
        }
      g_string_append_len (indented, line, end + 1 - line);
      line = end + 1;
    }
  return g_string_free (indented, FALSE);
}

static gboolean
is_image_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return g_str_has_suffix (lower, ".vhdx") || g_str_has_suffix (lower, ".avhdx");
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* Adds the images of one folder, sorted by name. FALSE when the folder
 * itself cannot be read (already reported on stderr). */
static gboolean
list_folder (const char *folder,
             GPtrArray  *entries)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (folder, 0, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    {
      chronos_vm_fail (folder, error);
      return FALSE;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    if (is_image_name (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      ListEntry *entry = g_new0 (ListEntry, 1);

      entry->path = g_build_filename (folder, g_ptr_array_index (names, i), NULL);
      g_ptr_array_add (entries, entry);
    }

  return TRUE;
}

typedef struct
{
  GPtrArray *entries;
  gboolean   json;
  gint       next; /* the next entry to load, atomically */
} LoadRun;

static gpointer
load_entries_thread (gpointer user_data)
{
  LoadRun *run = user_data;
  guint    i;

  while ((i = (guint)g_atomic_int_add (&run->next, 1)) < run->entries->len)
    {
      ListEntry *entry = g_ptr_array_index (run->entries, i);
      g_autoptr (GError) error = NULL;

      entry->info = chronos_image_info_load (entry->path, NULL, &error);
      /* Only what could not be opened may be a folder (an image opens
       * only as a regular file): asked then, a stat less per image. */
      if (entry->info == NULL && g_file_test (entry->path, G_FILE_TEST_IS_DIR))
        {
          entry->skip = TRUE;
          continue;
        }
      if (entry->info == NULL)
        entry->error = g_strdup (error->message);
      if (run->json)
        {
          entry->json = list_entry_to_json (entry);
          /* Freed here too, on all processors; only the text is printed. */
          g_clear_object (&entry->info);
        }
    }
  return NULL;
}

/* Loads the entries (and their JSON) on every processor: an image costs
 * tens of microseconds of CPU (checksums and the BAT check) once its few
 * structures are cached. Each result goes to its own entry, so the order
 * stays that of the names. */
static void
load_entries (GPtrArray *entries,
              gboolean   json)
{
  LoadRun run = { entries, json, 0 };
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  /* At most 8: a folder on a disk that must seek gains nothing from more. */
  guint n_threads = MIN (MIN (g_get_num_processors (), 8u), entries->len / 8 + 1);

  for (guint i = 1; i < n_threads; i++)
    {
      GThread *thread = g_thread_try_new ("chronos-list", load_entries_thread, &run, NULL);

      if (thread != NULL)
        g_ptr_array_add (threads, thread);
    }
  load_entries_thread (&run);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
}

/* Prints what json-glib would for the array of the entries (built and
 * printed element by element on the loading threads). */
static void
print_list_json (GPtrArray *entries)
{
  g_autoptr (GString) out = g_string_new ("[");
  gboolean first = TRUE;

  for (guint i = 0; i < entries->len; i++)
    {
      ListEntry *entry = g_ptr_array_index (entries, i);

      if (entry->skip)
        continue;
      g_string_append (out, first ? "\n" : ",\n");
      g_string_append (out, entry->json);
      first = FALSE;
    }
  g_string_append (out, first ? "]\n" : "\n]\n");
  g_print ("%s", out->str);
}

static void
print_list_text (GPtrArray *entries)
{
  int width = (int)strlen (_ ("IMAGE"));

  for (guint i = 0; i < entries->len; i++)
    {
      ListEntry *entry = g_ptr_array_index (entries, i);

      if (!entry->skip)
        width = MAX (width, (int)g_utf8_strlen (entry->path, -1));
    }

  g_print ("%-*s  %10s  %10s  %-5s  %-4s  %s\n", width, _ ("IMAGE"), _ ("VIRTUAL"), _ ("FILE"),
           _ ("TABLE"), _ ("BOOT"), _ ("NOTES"));
  for (guint i = 0; i < entries->len; i++)
    {
      ListEntry *entry = g_ptr_array_index (entries, i);
      int        pad = width - (int)g_utf8_strlen (entry->path, -1) + (int)strlen (entry->path);

      if (entry->skip)
        continue;
      if (entry->info == NULL)
        {
          g_print ("%-*s  %s %s\n", pad, entry->path, _ ("error:"), entry->error);
          continue;
        }

      {
        ChronosImageInfo *info = entry->info;
        g_autofree char  *virtual_size = format_bytes (chronos_image_info_get_virtual_size (info));
        g_autofree char  *file_size = format_bytes (chronos_image_info_get_file_size (info));
        g_autoptr (GString) notes = g_string_new (NULL);
        const char *const *warnings = chronos_image_info_get_warnings (info);
        guint              n_warnings = warnings ? g_strv_length ((char **)warnings) : 0;

        if (chronos_image_info_get_has_parent (info))
          g_string_append (notes, chronos_image_info_get_parent_resolved_path (info) ? _ ("differencing; ")
                                                                                     : _ ("differencing, parent missing; "));
        if (chronos_image_info_get_log_pending (info))
          g_string_append (notes, _ ("log pending; "));
        if (n_warnings > 0)
          g_string_append_printf (notes, ngettext ("%u warning; ", "%u warnings; ", n_warnings), n_warnings);
        if (notes->len >= 2)
          g_string_truncate (notes, notes->len - 2);

        g_print ("%-*s  %10s  %10s  %-5s  %-4s  %s\n", pad, entry->path, virtual_size, file_size,
                 style_label (chronos_image_info_get_partition_style (info)), firmware_label (info),
                 notes->str);
      }
    }
}

int
chronos_vm_cmd_list (int    argc,
                     char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  gboolean           json = FALSE;
  gboolean           folders_ok = TRUE;
  int                status = CHRONOS_VM_EXIT_OK;
  const GOptionEntry options[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_ ("Print one JSON array"), NULL },
    { NULL },
  };

  context = g_option_context_new (_ ("list FOLDER…"));
  g_option_context_set_summary (context, _ ("List the VHDX backup images (*.vhdx, *.avhdx) in folders, without\nchanging them. A file that cannot be read is listed with its error."));
  g_option_context_add_main_entries (context, options, GETTEXT_PACKAGE);
  if (!chronos_vm_parse (context, &argc, &argv, &status))
    return status;
  if (argc < 2)
    return chronos_vm_usage_error (context, _ ("list needs at least one FOLDER"));

  entries = g_ptr_array_new_with_free_func ((GDestroyNotify)list_entry_free);
  for (int i = 1; i < argc; i++)
    if (!list_folder (argv[i], entries))
      folders_ok = FALSE;
  load_entries (entries, json);

  if (json)
    print_list_json (entries);
  else
    print_list_text (entries);

  return folders_ok ? CHRONOS_VM_EXIT_OK : CHRONOS_VM_EXIT_FAILED;
}
