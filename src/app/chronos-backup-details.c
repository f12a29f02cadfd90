/* chronos-backup-details.c: everything about the selected backup
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The right-hand pane: what the file is, how it will boot, what is on it,
 * what could go wrong, and how its last test boot went. It follows its
 * backup's notifications, so it fills in when probing finishes.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-app-format.h"
#include "chronos-backup-details.h"

struct _ChronosBackupDetails
{
  GtkWidget parent_instance;

  ChronosBackup *backup;
  GPtrArray     *dynamic_rows; /* (group, row) pairs to remove on update */

  GtkLabel  *location_value;
  GtkLabel  *modified_value;
  GtkLabel  *size_value;
  GtkLabel  *virtual_size_value;
  GtkLabel  *format_value;
  GtkLabel  *block_size_value;
  GtkLabel  *sector_value;
  GtkLabel  *creator_value;
  GtkLabel  *style_value;
  GtkLabel  *firmware_value;
  GtkLabel  *parent_value;
  GtkWidget *parent_row;

  GtkFlowBox          *button_box;
  AdwPreferencesGroup *activity_group;
  AdwPreferencesGroup *error_group;
  AdwActionRow        *error_row;
  AdwPreferencesGroup *file_group;
  AdwPreferencesGroup *format_group;
  GtkImage            *header_icon;
  AdwPreferencesGroup *partitions_group;
  GtkPicture          *screenshot;
  GtkScrolledWindow   *scroller;
  GtkLabel            *summary_label;
  GtkLabel            *title_label;
  AdwActionRow        *verdict_row;
  GtkImage            *verdict_icon;
  AdwPreferencesGroup *verify_group;
  AdwPreferencesGroup *vm_group;
  AdwPreferencesGroup *warnings_group;
};

G_DEFINE_FINAL_TYPE (ChronosBackupDetails, chronos_backup_details, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_BACKUP,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GtkLabel *
add_value_row (AdwPreferencesGroup *group,
               const char          *title,
               GtkWidget          **row_out)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *label = gtk_label_new (NULL);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 1.0);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_RIGHT);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 40);
  gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_add_css_class (label, "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
  adw_preferences_group_add (group, row);

  if (row_out != NULL)
    *row_out = row;
  return GTK_LABEL (label);
}

static void
clear_dynamic_rows (ChronosBackupDetails *self)
{
  for (guint i = 0; i + 1 < self->dynamic_rows->len; i += 2)
    adw_preferences_group_remove (g_ptr_array_index (self->dynamic_rows, i),
                                  g_ptr_array_index (self->dynamic_rows, i + 1));
  g_ptr_array_set_size (self->dynamic_rows, 0);
}

static GtkWidget *
add_dynamic_row (ChronosBackupDetails *self,
                 AdwPreferencesGroup  *group,
                 const char           *title,
                 const char           *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 0);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
  adw_preferences_group_add (group, row);
  g_ptr_array_add (self->dynamic_rows, group);
  g_ptr_array_add (self->dynamic_rows, row);
  return row;
}

static const char *
partition_type_label (const char *type)
{
  static const struct
  {
    const char *type;
    const char *label;
  } labels[] = {
    { "efi-system", N_ ("EFI System") },
    { "microsoft-basic-data", N_ ("Basic Data") },
    { "microsoft-reserved", N_ ("Microsoft Reserved") },
    { "windows-recovery", N_ ("Windows Recovery") },
    { "linux", N_ ("Linux") },
    { "linux-swap", N_ ("Linux Swap") },
    { "ntfs", N_ ("NTFS") },
    { "fat32", N_ ("FAT32") },
    { "fat16", N_ ("FAT16") },
    { "extended", N_ ("Extended") },
  };

  if (type == NULL)
    return _ ("Unknown");
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    if (g_str_equal (type, labels[i].type))
      return _ (labels[i].label);
  return type;
}

static void
update_partitions (ChronosBackupDetails *self,
                   ChronosImageInfo     *info)
{
  GPtrArray *partitions = info != NULL ? chronos_image_info_get_partitions (info) : NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->partitions_group), info != NULL);
  if (info == NULL)
    return;

  if (partitions == NULL || partitions->len == 0)
    {
      add_dynamic_row (self, self->partitions_group, _ ("No partitions found"),
                       _ ("The disk has no partition table that Chronos understands."));
      return;
    }

  for (guint i = 0; i < partitions->len; i++)
    {
      const ChronosPartition *partition = g_ptr_array_index (partitions, i);
      g_autofree char        *title = NULL;
      g_autofree char        *size = g_format_size (partition->size);
      g_autofree char        *subtitle = NULL;
      GtkWidget              *row;

      /* Translators: "Partition 1: EFI System" */
      title = g_strdup_printf (_ ("Partition %u: %s"), partition->number,
                               partition_type_label (partition->type));
      if (partition->name != NULL && partition->name[0] != '\0')
        /* Translators: size · GPT partition name */
        subtitle = g_strdup_printf (_ ("%s · “%s”"), size, partition->name);
      else
        subtitle = g_strdup (size);

      row = add_dynamic_row (self, self->partitions_group, title, subtitle);
      if (partition->bootable)
        {
          GtkWidget *tag = gtk_label_new (_ ("Boot"));

          gtk_widget_add_css_class (tag, "state-pill");
          gtk_widget_set_valign (tag, GTK_ALIGN_CENTER);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
        }
    }
}

static void
update_warnings (ChronosBackupDetails *self,
                 ChronosImageInfo     *info)
{
  const char *const *warnings = info != NULL ? chronos_image_info_get_warnings (info) : NULL;
  gboolean           any = FALSE;

  for (guint i = 0; warnings != NULL && warnings[i] != NULL; i++)
    {
      GtkWidget *row = add_dynamic_row (self, self->warnings_group, warnings[i], NULL);
      GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-warning-symbolic");

      gtk_widget_add_css_class (icon, "warning");
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
      any = TRUE;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->warnings_group), any);
}

static void
update_verification (ChronosBackupDetails *self)
{
  const char      *screenshot;
  g_autofree char *when = NULL;
  g_autofree char *title = NULL;
  ChronosVerdict   verdict;

  if (!chronos_backup_get_has_verification (self->backup))
    {
      gtk_widget_set_visible (GTK_WIDGET (self->verify_group), FALSE);
      return;
    }

  verdict = chronos_backup_get_verdict (self->backup);
  when = chronos_format_date_time (chronos_backup_get_verified_at (self->backup));
  /* Translators: verdict — date, "Boots — Today 14:03" */
  title = g_strdup_printf (_ ("%s — %s"), chronos_format_verdict (verdict), when);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->verdict_row), title);
  adw_action_row_set_subtitle (self->verdict_row, chronos_backup_get_verify_reason (self->backup) ?: "");

  gtk_widget_remove_css_class (GTK_WIDGET (self->verdict_icon), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (self->verdict_icon), "error");
  if (verdict == CHRONOS_VERDICT_BOOTED)
    {
      gtk_image_set_from_icon_name (self->verdict_icon, "emblem-ok-symbolic");
      gtk_widget_add_css_class (GTK_WIDGET (self->verdict_icon), "success");
    }
  else
    {
      gtk_image_set_from_icon_name (self->verdict_icon, "dialog-error-symbolic");
      gtk_widget_add_css_class (GTK_WIDGET (self->verdict_icon), "error");
    }

  screenshot = chronos_backup_get_verify_screenshot (self->backup);
  if (screenshot != NULL && g_file_test (screenshot, G_FILE_TEST_IS_REGULAR))
    {
      gtk_picture_set_filename (self->screenshot, screenshot);
      gtk_widget_set_visible (GTK_WIDGET (self->screenshot), TRUE);
    }
  else
    {
      gtk_picture_set_paintable (self->screenshot, NULL);
      gtk_widget_set_visible (GTK_WIDGET (self->screenshot), FALSE);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->verify_group), TRUE);
}

static void
set_value (GtkLabel   *label,
           const char *value)
{
  gtk_label_set_label (label, value != NULL && value[0] != '\0' ? value : _ ("Unknown"));
}

static void
update (ChronosBackupDetails *self)
{
  ChronosImageInfo *info;
  g_autofree char  *location = NULL;
  g_autofree char  *modified = NULL;
  g_autofree char  *size = NULL;
  g_autofree char  *summary = NULL;

  clear_dynamic_rows (self);

  if (self->backup == NULL)
    return;

  info = chronos_backup_get_info (self->backup);

  gtk_label_set_label (self->title_label, chronos_backup_get_display_name (self->backup));
  if (chronos_backup_get_probing (self->backup) && info == NULL)
    summary = g_strdup (_ ("Reading the backup…"));
  else if (info != NULL)
    {
      g_autofree char *vsize = g_format_size (chronos_image_info_get_virtual_size (info));
      g_autofree char *boot = chronos_format_boot_summary (info);

      /* Translators: "64 GB disk · GPT · UEFI" */
      summary = g_strdup_printf (_ ("%s disk · %s"), vsize, boot);
    }
  else
    summary = g_strdup (_ ("Not readable"));
  gtk_label_set_label (self->summary_label, summary);

  /* File */
  /* "~/Backups/…" as the folder headings say it; the tooltip has it all. */
  location = chronos_format_folder (chronos_backup_get_file (self->backup));
  gtk_label_set_label (self->location_value, location);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->location_value), chronos_backup_get_path (self->backup));
  modified = chronos_format_date (chronos_backup_get_mtime (self->backup));
  set_value (self->modified_value, modified);
  size = g_format_size_full (chronos_backup_get_file_size (self->backup), G_FORMAT_SIZE_LONG_FORMAT);
  set_value (self->size_value, size);

  /* Unreadable */
  gtk_widget_set_visible (GTK_WIDGET (self->error_group),
                          chronos_backup_get_error_message (self->backup) != NULL);
  if (chronos_backup_get_error_message (self->backup) != NULL)
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->error_row),
                                   chronos_backup_get_error_message (self->backup));

  /* Image */
  gtk_widget_set_visible (GTK_WIDGET (self->format_group), info != NULL);
  gtk_widget_set_visible (gtk_widget_get_parent (GTK_WIDGET (self->virtual_size_value)), info != NULL);
  if (info != NULL)
    {
      g_autofree char *vsize = g_format_size_full (chronos_image_info_get_virtual_size (info),
                                                   G_FORMAT_SIZE_LONG_FORMAT);
      g_autofree char *format = g_ascii_strup (chronos_image_info_get_format (info), -1);
      g_autofree char *block = g_format_size_full (chronos_image_info_get_block_size (info),
                                                   G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *sectors = NULL;
      g_autofree char *firmware = NULL;
      const char      *parent = chronos_image_info_get_parent_relative_path (info);

      set_value (self->virtual_size_value, vsize);
      set_value (self->format_value, format);
      set_value (self->block_size_value, block);
      /* Translators: logical and physical sector sizes */
      sectors = g_strdup_printf (_ ("%u bytes logical, %u bytes physical"),
                                 chronos_image_info_get_logical_sector_size (info),
                                 chronos_image_info_get_physical_sector_size (info));
      set_value (self->sector_value, sectors);
      set_value (self->creator_value, chronos_image_info_get_creator (info));
      set_value (self->style_value,
                 chronos_format_partition_style (chronos_image_info_get_partition_style (info)));
      /* Translators: the firmware the partition style asks for */
      firmware = g_strdup_printf (_ ("%s (from the partition style)"),
                                  chronos_format_firmware (chronos_image_info_get_firmware (info)));
      set_value (self->firmware_value, firmware);

      gtk_widget_set_visible (self->parent_row, chronos_image_info_get_has_parent (info));
      if (chronos_image_info_get_has_parent (info))
        {
          const char *resolved = chronos_image_info_get_parent_resolved_path (info);

          if (resolved != NULL)
            set_value (self->parent_value, resolved);
          else
            {
              g_autofree char *missing = NULL;

              /* Translators: the parent image of a differencing backup is not there */
              missing = g_strdup_printf (_ ("%s (missing)"), parent != NULL ? parent : "");
              set_value (self->parent_value, missing);
            }
        }
    }

  update_warnings (self, info);
  update_partitions (self, info);
  update_verification (self);
}

static void
backup_notify_cb (ChronosBackupDetails *self,
                  GParamSpec           *pspec,
                  ChronosBackup        *backup)
{
  /* The running flag is the window's business (it fills vm_group); a
   * rebuild would only move the focus. */
  if (g_str_equal (pspec->name, "running"))
    return;
  update (self);
}

static void
chronos_backup_details_dispose (GObject *object)
{
  ChronosBackupDetails *self = (ChronosBackupDetails *)object;

  if (self->backup != NULL)
    g_signal_handlers_disconnect_by_data (self->backup, self);
  g_clear_object (&self->backup);
  gtk_widget_dispose_template (GTK_WIDGET (self), CHRONOS_TYPE_BACKUP_DETAILS);

  G_OBJECT_CLASS (chronos_backup_details_parent_class)->dispose (object);
}

static void
chronos_backup_details_finalize (GObject *object)
{
  ChronosBackupDetails *self = (ChronosBackupDetails *)object;

  g_clear_pointer (&self->dynamic_rows, g_ptr_array_unref);

  G_OBJECT_CLASS (chronos_backup_details_parent_class)->finalize (object);
}

static void
chronos_backup_details_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  ChronosBackupDetails *self = CHRONOS_BACKUP_DETAILS (object);

  switch (prop_id)
    {
    case PROP_BACKUP:
      g_value_set_object (value, self->backup);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_backup_details_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  ChronosBackupDetails *self = CHRONOS_BACKUP_DETAILS (object);

  switch (prop_id)
    {
    case PROP_BACKUP:
      chronos_backup_details_set_backup (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_backup_details_class_init (ChronosBackupDetailsClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = chronos_backup_details_dispose;
  object_class->finalize = chronos_backup_details_finalize;
  object_class->get_property = chronos_backup_details_get_property;
  object_class->set_property = chronos_backup_details_set_property;

  properties[PROP_BACKUP] =
      g_param_spec_object ("backup", NULL, NULL, CHRONOS_TYPE_BACKUP,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/chronos/Chronos/chronos-backup-details.ui");
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, activity_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, button_box);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, error_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, error_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, file_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, format_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, header_icon);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, partitions_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, screenshot);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, scroller);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, summary_label);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, title_label);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, verdict_icon);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, verdict_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, verify_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, vm_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupDetails, warnings_group);
}

static void
chronos_backup_details_init (ChronosBackupDetails *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->dynamic_rows = g_ptr_array_new ();
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->button_box));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    gtk_widget_set_focusable (child, FALSE);

  self->location_value = add_value_row (self->file_group, _ ("Location"), NULL);
  self->modified_value = add_value_row (self->file_group, _ ("Modified"), NULL);
  self->size_value = add_value_row (self->file_group, _ ("Size on Disk"), NULL);
  self->virtual_size_value = add_value_row (self->file_group, _ ("Virtual Size"), NULL);

  self->format_value = add_value_row (self->format_group, _ ("Format"), NULL);
  self->style_value = add_value_row (self->format_group, _ ("Partition Style"), NULL);
  self->firmware_value = add_value_row (self->format_group, _ ("Firmware"), NULL);
  self->block_size_value = add_value_row (self->format_group, _ ("Block Size"), NULL);
  self->sector_value = add_value_row (self->format_group, _ ("Sector Size"), NULL);
  self->creator_value = add_value_row (self->format_group, _ ("Created By"), NULL);
  self->parent_value = add_value_row (self->format_group, _ ("Parent Image"), &self->parent_row);
}

GtkWidget *
chronos_backup_details_new (void)
{
  return g_object_new (CHRONOS_TYPE_BACKUP_DETAILS, NULL);
}

ChronosBackup *
chronos_backup_details_get_backup (ChronosBackupDetails *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP_DETAILS (self), NULL);
  return self->backup;
}

void
chronos_backup_details_set_backup (ChronosBackupDetails *self,
                                   ChronosBackup        *backup)
{
  g_return_if_fail (CHRONOS_IS_BACKUP_DETAILS (self));
  g_return_if_fail (backup == NULL || CHRONOS_IS_BACKUP (backup));

  if (self->backup == backup)
    return;

  if (self->backup != NULL)
    g_signal_handlers_disconnect_by_data (self->backup, self);
  g_set_object (&self->backup, backup);
  if (backup != NULL)
    g_signal_connect_object (backup, "notify", G_CALLBACK (backup_notify_cb), self,
                             G_CONNECT_SWAPPED);

  /* A new backup starts at the top. */
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->scroller), 0);
  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKUP]);
}

AdwPreferencesGroup *
chronos_backup_details_get_vm_group (ChronosBackupDetails *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP_DETAILS (self), NULL);
  return self->vm_group;
}

AdwPreferencesGroup *
chronos_backup_details_get_activity_group (ChronosBackupDetails *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP_DETAILS (self), NULL);
  return self->activity_group;
}

void
chronos_backup_details_add_button (ChronosBackupDetails *self,
                                   GtkWidget            *button)
{
  g_return_if_fail (CHRONOS_IS_BACKUP_DETAILS (self));
  g_return_if_fail (GTK_IS_WIDGET (button));

  gtk_flow_box_append (self->button_box, button);
  /* The flow box only lays the buttons out: its children take no focus. */
  gtk_widget_set_focusable (gtk_widget_get_parent (button), FALSE);
}
