/* chronos-vm-settings-page.c: the VM settings as a preferences page
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The same page serves one boot (in ChronosVmSettingsDialog) and the
 * defaults (in Preferences). Every control is bound both ways to a
 * ChronosVmConfig; where the config is bound to GSettings, the controls
 * follow the settings through it. Memory and cores are bounded by the host
 * through the adjustments, and the config is clamped with them.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-a11y.h"
#include "chronos-accel.h"
#include "chronos-vm-settings-page.h"

/* A person rarely wants a test VM bigger than this, and more would only
 * starve the host. */
#define MAX_MEMORY_GIB 16.0
#define MIN_MEMORY_GIB 1.0

struct _ChronosVmSettingsPage
{
  AdwPreferencesPage parent_instance;

  ChronosVmConfig     *config;
  ChronosHostResources host;
  ChronosFirmwareMode  detected_firmware;
  gboolean             show_protection;
  gboolean             confirmed_writable;

  AdwComboRow         *accel_row;
  GtkAdjustment       *cpus_adjustment;
  AdwActionRow        *cpus_row;
  AdwComboRow         *disk_bus_row;
  AdwComboRow         *display_row;
  GtkStringList       *firmware_model;
  AdwComboRow         *firmware_row;
  GtkButton           *iso_clear_button;
  AdwActionRow        *iso_row;
  GtkAdjustment       *memory_adjustment;
  AdwActionRow        *memory_row;
  GtkSwitch           *network_switch;
  AdwPreferencesGroup *protection_group;
  GtkSwitch           *protect_switch;
};

G_DEFINE_FINAL_TYPE (ChronosVmSettingsPage, chronos_vm_settings_page, ADW_TYPE_PREFERENCES_PAGE)

enum
{
  PROP_0,
  PROP_CONFIG,
  PROP_SHOW_PROTECTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Combo row position <-> enum value. */
typedef struct
{
  const int *values;
  guint      n_values;
} EnumMap;

static const int firmware_values[] = { CHRONOS_FIRMWARE_MODE_AUTO, CHRONOS_FIRMWARE_MODE_UEFI, CHRONOS_FIRMWARE_MODE_BIOS };
static const int disk_bus_values[] = { CHRONOS_DISK_BUS_AUTO, CHRONOS_DISK_BUS_AHCI, CHRONOS_DISK_BUS_NVME, CHRONOS_DISK_BUS_IDE, CHRONOS_DISK_BUS_VIRTIO };
static const int accel_values[] = { CHRONOS_ACCEL_MODE_AUTO, CHRONOS_ACCEL_MODE_HARDWARE, CHRONOS_ACCEL_MODE_TCG };
static const int display_values[] = { CHRONOS_DISPLAY_MODE_WINDOW, CHRONOS_DISPLAY_MODE_VNC, CHRONOS_DISPLAY_MODE_NONE };

static const EnumMap firmware_map = { firmware_values, G_N_ELEMENTS (firmware_values) };
static const EnumMap disk_bus_map = { disk_bus_values, G_N_ELEMENTS (disk_bus_values) };
static const EnumMap accel_map = { accel_values, G_N_ELEMENTS (accel_values) };
static const EnumMap display_map = { display_values, G_N_ELEMENTS (display_values) };

static gboolean
enum_to_position (GBinding     *binding,
                  const GValue *from,
                  GValue       *to,
                  gpointer      user_data)
{
  const EnumMap *map = user_data;
  int            value = g_value_get_enum (from);

  for (guint i = 0; i < map->n_values; i++)
    if (map->values[i] == value)
      {
        g_value_set_uint (to, i);
        return TRUE;
      }
  return FALSE;
}

static gboolean
position_to_enum (GBinding     *binding,
                  const GValue *from,
                  GValue       *to,
                  gpointer      user_data)
{
  const EnumMap *map = user_data;
  guint          position = g_value_get_uint (from);

  if (position >= map->n_values)
    return FALSE;
  g_value_set_enum (to, map->values[position]);
  return TRUE;
}

static gboolean
mib_to_gib (GBinding     *binding,
            const GValue *from,
            GValue       *to,
            gpointer      user_data)
{
  g_value_set_double (to, g_value_get_uint (from) / 1024.0);
  return TRUE;
}

static gboolean
gib_to_mib (GBinding     *binding,
            const GValue *from,
            GValue       *to,
            gpointer      user_data)
{
  double gib = g_value_get_double (from);

  g_value_set_uint (to, (guint)MAX (CHRONOS_VM_CONFIG_MIN_MEMORY_MIB, gib * 1024.0 + 0.5));
  return TRUE;
}

static void
bind_combo (ChronosVmSettingsPage *self,
            const char            *property,
            AdwComboRow           *row,
            const EnumMap         *map)
{
  g_object_bind_property_full (self->config, property, row, "selected",
                               G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                               enum_to_position, position_to_enum, (gpointer)map, NULL);
}

static void
update_iso_row (ChronosVmSettingsPage *self)
{
  const char *iso = chronos_vm_config_get_drivers_iso (self->config);

  if (iso != NULL)
    {
      g_autofree char *name = g_path_get_basename (iso);

      adw_action_row_set_subtitle (self->iso_row, name);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->iso_row), iso);
    }
  else
    {
      adw_action_row_set_subtitle (self->iso_row, _ ("None. Needed only for the VirtIO disk controller"));
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->iso_row), NULL);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->iso_clear_button), iso != NULL);
}

/* Applies the host limits to the adjustments and then clamps the config
 * to them: the adjustment alone does not write back a value that it
 * clamped to the value it already had. */
static void
apply_host_limits (ChronosVmSettingsPage *self)
{
  double           total_gib = self->host.total_memory / (1024.0 * 1024.0 * 1024.0);
  double           upper = MAX_MEMORY_GIB;
  guint            cpus = MAX (1, self->host.n_cpus);
  g_autofree char *memory_text = NULL;
  g_autofree char *cpus_text = NULL;
  guint            memory_mib;

  if (self->host.total_memory > 0)
    {
      /* Leave the host its reserve; half-GiB steps. */
      upper = MIN (upper, (total_gib - CHRONOS_VM_CONFIG_HOST_RESERVE_MIB / 1024.0));
      upper = MAX (0.5, ((int)(upper * 2)) / 2.0);
    }

  gtk_adjustment_set_lower (self->memory_adjustment, MIN (MIN_MEMORY_GIB, upper));
  gtk_adjustment_set_upper (self->memory_adjustment, upper);
  gtk_adjustment_set_upper (self->cpus_adjustment, MIN (cpus, CHRONOS_VM_CONFIG_MAX_CPUS));

  memory_mib = chronos_vm_config_get_memory_mib (self->config);
  if (memory_mib > upper * 1024 + 0.5 || memory_mib < gtk_adjustment_get_lower (self->memory_adjustment) * 1024 - 0.5)
    chronos_vm_config_set_memory_mib (self->config,
                                      (guint)(CLAMP (memory_mib / 1024.0, gtk_adjustment_get_lower (self->memory_adjustment), upper) * 1024 + 0.5));
  if (chronos_vm_config_get_cpus (self->config) > cpus)
    chronos_vm_config_set_cpus (self->config, cpus);

  if (self->host.total_memory > 0)
    {
      g_autofree char *total = g_format_size_full (self->host.total_memory, G_FORMAT_SIZE_IEC_UNITS);

      /* Translators: %s is the host's memory, "23.4 GiB" */
      memory_text = g_strdup_printf (_ ("This computer has %s"), total);
    }
  adw_action_row_set_subtitle (self->memory_row, memory_text);
  cpus_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "This computer has %u core",
                                            "This computer has %u cores", cpus),
                               cpus);
  adw_action_row_set_subtitle (self->cpus_row, cpus_text);
}

static void
update_accel_subtitle (ChronosVmSettingsPage *self)
{
  ChronosAccelKind kind = chronos_accel_host_hardware_kind ();
  g_autofree char *reason = NULL;
  g_autofree char *text = NULL;

  if (kind == CHRONOS_ACCEL_KIND_UNKNOWN)
    text = g_strdup (_ ("None on this computer: software emulation is slower"));
  else if (chronos_accel_probe (kind, &reason))
    /* Translators: %s is "Hardware acceleration (KVM)" */
    text = g_strdup_printf (_ ("%s is available"), chronos_accel_kind_get_label (kind));
  else
    text = g_strdup (reason);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->accel_row), text);
}

/* Template callbacks */

static void
writable_response_cb (ChronosVmSettingsPage *self,
                      const char            *response,
                      AdwMessageDialog      *dialog)
{
  if (g_strcmp0 (response, "writable") == 0)
    {
      self->confirmed_writable = TRUE;
      chronos_vm_config_set_protect_backup (self->config, FALSE);
    }
  else
    {
      gtk_switch_set_state (self->protect_switch, TRUE);
      gtk_switch_set_active (self->protect_switch, TRUE);
    }
}

static gboolean
protect_state_set_cb (ChronosVmSettingsPage *self,
                      gboolean               state,
                      GtkSwitch             *sw)
{
  GtkRoot   *root;
  GtkWidget *dialog;

  if (state || !chronos_vm_config_get_protect_backup (self->config) || self->confirmed_writable)
    {
      if (state)
        self->confirmed_writable = FALSE;
      return FALSE; /* let the switch (and through it the config) follow */
    }

  root = gtk_widget_get_root (GTK_WIDGET (self));
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _ ("Let the VM Change the Backup?"),
                                   _ ("Changes the VM makes will be written into the backup file itself and cannot be undone. "
                                      "The backup may no longer restore the way it did, and a guest that starts repairs or updates "
                                      "can damage it. Keep protection on unless you mean to change this backup."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _ ("_Keep Protected"),
                                    "writable", _ ("_Allow Changes"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "writable",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (writable_response_cb), self,
                           G_CONNECT_SWAPPED);
  chronos_a11y_fix_mnemonic_buttons (dialog);
  gtk_window_present (GTK_WINDOW (dialog));

  /* Keep the switch on until the person confirms. */
  gtk_switch_set_active (sw, TRUE);
  return TRUE;
}

static void
iso_clear_cb (ChronosVmSettingsPage *self)
{
  chronos_vm_config_set_drivers_iso (self->config, NULL);
}

static void
iso_response_cb (ChronosVmSettingsPage *self,
                 int                    response,
                 GtkFileChooserNative  *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        chronos_vm_config_set_drivers_iso (self->config, path);
    }
  g_object_unref (chooser);
}

static void
iso_choose_cb (ChronosVmSettingsPage *self)
{
  GtkRoot              *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new (_ ("Choose the VirtIO Drivers ISO"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _ ("_Choose"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_filter_set_name (filter, _ ("Disc Images"));
  gtk_file_filter_add_suffix (filter, "iso");
  gtk_file_filter_add_mime_type (filter, "application/x-cd-image");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_file_filter_set_name (all, _ ("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  g_signal_connect_object (chooser, "response", G_CALLBACK (iso_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* GObject */

static void
chronos_vm_settings_page_constructed (GObject *object)
{
  ChronosVmSettingsPage *self = (ChronosVmSettingsPage *)object;

  G_OBJECT_CLASS (chronos_vm_settings_page_parent_class)->constructed (object);

  if (self->config == NULL)
    self->config = chronos_vm_config_new ();

  chronos_host_query_resources (&self->host);
  apply_host_limits (self);

  g_object_bind_property_full (self->config, "memory-mib", self->memory_adjustment, "value",
                               G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                               mib_to_gib, gib_to_mib, NULL, NULL);
  g_object_bind_property (self->config, "cpus", self->cpus_adjustment, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->config, "network", self->network_switch, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->config, "protect-backup", self->protect_switch, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  bind_combo (self, "firmware", self->firmware_row, &firmware_map);
  bind_combo (self, "disk-bus", self->disk_bus_row, &disk_bus_map);
  bind_combo (self, "accel", self->accel_row, &accel_map);
  bind_combo (self, "display", self->display_row, &display_map);

  g_signal_connect_object (self->config, "notify::drivers-iso", G_CALLBACK (update_iso_row),
                           self, G_CONNECT_SWAPPED);
  update_iso_row (self);
  update_accel_subtitle (self);

  gtk_widget_set_visible (GTK_WIDGET (self->protection_group), self->show_protection);
}

static void
chronos_vm_settings_page_dispose (GObject *object)
{
  ChronosVmSettingsPage *self = (ChronosVmSettingsPage *)object;

  gtk_widget_dispose_template (GTK_WIDGET (self), CHRONOS_TYPE_VM_SETTINGS_PAGE);
  g_clear_object (&self->config);

  G_OBJECT_CLASS (chronos_vm_settings_page_parent_class)->dispose (object);
}

static void
chronos_vm_settings_page_get_property (GObject    *object,
                                       guint       prop_id,
                                       GValue     *value,
                                       GParamSpec *pspec)
{
  ChronosVmSettingsPage *self = CHRONOS_VM_SETTINGS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_SHOW_PROTECTION:
      g_value_set_boolean (value, self->show_protection);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_vm_settings_page_set_property (GObject      *object,
                                       guint         prop_id,
                                       const GValue *value,
                                       GParamSpec   *pspec)
{
  ChronosVmSettingsPage *self = CHRONOS_VM_SETTINGS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      self->config = g_value_dup_object (value);
      break;
    case PROP_SHOW_PROTECTION:
      self->show_protection = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_vm_settings_page_class_init (ChronosVmSettingsPageClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = chronos_vm_settings_page_constructed;
  object_class->dispose = chronos_vm_settings_page_dispose;
  object_class->get_property = chronos_vm_settings_page_get_property;
  object_class->set_property = chronos_vm_settings_page_set_property;

  properties[PROP_CONFIG] =
      g_param_spec_object ("config", NULL, NULL, CHRONOS_TYPE_VM_CONFIG,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_PROTECTION] =
      g_param_spec_boolean ("show-protection", NULL, NULL, TRUE,
                            G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/chronos/Chronos/chronos-vm-settings-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, accel_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, cpus_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, cpus_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, disk_bus_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, display_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, firmware_model);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, firmware_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, iso_clear_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, iso_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, memory_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, memory_row);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, network_switch);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, protection_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsPage, protect_switch);
  gtk_widget_class_bind_template_callback (widget_class, iso_choose_cb);
  gtk_widget_class_bind_template_callback (widget_class, iso_clear_cb);
  gtk_widget_class_bind_template_callback (widget_class, protect_state_set_cb);
}

static void
chronos_vm_settings_page_init (ChronosVmSettingsPage *self)
{
  self->show_protection = TRUE;
  gtk_widget_init_template (GTK_WIDGET (self));
  chronos_a11y_fix_mnemonic_buttons (GTK_WIDGET (self));
}

GtkWidget *
chronos_vm_settings_page_new (ChronosVmConfig *config,
                              gboolean         show_protection)
{
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (config), NULL);

  return g_object_new (CHRONOS_TYPE_VM_SETTINGS_PAGE,
                       "config", config,
                       "show-protection", show_protection,
                       NULL);
}

ChronosVmConfig *
chronos_vm_settings_page_get_config (ChronosVmSettingsPage *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_SETTINGS_PAGE (self), NULL);
  return self->config;
}

void
chronos_vm_settings_page_set_detected_firmware (ChronosVmSettingsPage *self,
                                                ChronosFirmwareMode    firmware)
{
  const char *subtitle;

  g_return_if_fail (CHRONOS_IS_VM_SETTINGS_PAGE (self));

  /* What Automatic picks goes under the title, as the memory row says what
   * the computer has: in the value beside it, it would be cut off. */
  self->detected_firmware = firmware;
  if (firmware == CHRONOS_FIRMWARE_MODE_UEFI)
    subtitle = _ ("This backup starts with UEFI");
  else if (firmware == CHRONOS_FIRMWARE_MODE_BIOS)
    subtitle = _ ("This backup starts with BIOS");
  else
    subtitle = "";
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->firmware_row), subtitle);
}

void
chronos_vm_settings_page_set_host (ChronosVmSettingsPage      *self,
                                   const ChronosHostResources *host)
{
  g_return_if_fail (CHRONOS_IS_VM_SETTINGS_PAGE (self));
  g_return_if_fail (host != NULL);

  self->host = *host;
  apply_host_limits (self);
}
