/* test-vm-settings.c: the VM settings page, its config and GSettings
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The page must follow the config and the config the page, the defaults
 * must follow GSettings both ways through the config, the host must bound
 * memory and cores, and turning protection off must ask first.
 */

#include "config.h"

#include <adwaita.h>

#include "gui-test-util.h"

#include "chronos-vm-settings-dialog.h"
#include "chronos-vm-settings-page.h"
#include "chronos-vm-settings-store.h"

#define GIB (G_GUINT64_CONSTANT (1024) * 1024 * 1024)

static gpointer
child (gpointer    widget,
       GType       type,
       const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (object);
  return object;
}

#define PAGE_CHILD(page, name) child ((page), CHRONOS_TYPE_VM_SETTINGS_PAGE, (name))

static void
iterate (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static GtkWidget *
show_page (ChronosVmConfig *config,
           gboolean         protection,
           GtkWidget      **window_out)
{
  GtkWidget           *window = adw_window_new ();
  GtkWidget           *page = chronos_vm_settings_page_new (config, protection);
  ChronosHostResources host = { 8 * GIB, 6 * GIB, 4 };

  chronos_vm_settings_page_set_host (CHRONOS_VM_SETTINGS_PAGE (page), &host);
  adw_window_set_content (ADW_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  iterate ();
  *window_out = window;
  return page;
}

static void
test_binds_config (void)
{
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new ();
  GtkWidget     *window;
  GtkWidget     *page;
  GtkAdjustment *memory;
  GtkAdjustment *cpus;
  AdwComboRow   *firmware, *accel, *display, *disk_bus;
  GtkSwitch     *network;

  chronos_vm_config_set_memory_mib (config, 2048);
  chronos_vm_config_set_cpus (config, 2);
  page = show_page (config, TRUE, &window);

  memory = PAGE_CHILD (page, "memory_adjustment");
  cpus = PAGE_CHILD (page, "cpus_adjustment");
  firmware = PAGE_CHILD (page, "firmware_row");
  accel = PAGE_CHILD (page, "accel_row");
  display = PAGE_CHILD (page, "display_row");
  disk_bus = PAGE_CHILD (page, "disk_bus_row");
  network = PAGE_CHILD (page, "network_switch");

  /* Config -> widgets. */
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_value (memory), 2.0, 0.001);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_value (cpus), 2.0, 0.001);
  chronos_vm_config_set_memory_mib (config, 3072);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_value (memory), 3.0, 0.001);
  chronos_vm_config_set_firmware (config, CHRONOS_FIRMWARE_MODE_BIOS);
  g_assert_cmpuint (adw_combo_row_get_selected (firmware), ==, 2);
  chronos_vm_config_set_accel (config, CHRONOS_ACCEL_MODE_TCG);
  g_assert_cmpuint (adw_combo_row_get_selected (accel), ==, 2);
  chronos_vm_config_set_display (config, CHRONOS_DISPLAY_MODE_NONE);
  g_assert_cmpuint (adw_combo_row_get_selected (display), ==, 2);
  chronos_vm_config_set_disk_bus (config, CHRONOS_DISK_BUS_NVME);
  g_assert_cmpuint (adw_combo_row_get_selected (disk_bus), ==, 2);
  chronos_vm_config_set_network (config, FALSE);
  g_assert_false (gtk_switch_get_active (network));

  /* Widgets -> config. */
  gtk_adjustment_set_value (memory, 4.5);
  g_assert_cmpuint (chronos_vm_config_get_memory_mib (config), ==, 4608);
  gtk_adjustment_set_value (cpus, 3);
  g_assert_cmpuint (chronos_vm_config_get_cpus (config), ==, 3);
  adw_combo_row_set_selected (firmware, 1);
  g_assert_cmpint (chronos_vm_config_get_firmware (config), ==, CHRONOS_FIRMWARE_MODE_UEFI);
  adw_combo_row_set_selected (firmware, 0);
  g_assert_cmpint (chronos_vm_config_get_firmware (config), ==, CHRONOS_FIRMWARE_MODE_AUTO);
  adw_combo_row_set_selected (accel, 1);
  g_assert_cmpint (chronos_vm_config_get_accel (config), ==, CHRONOS_ACCEL_MODE_HARDWARE);
  adw_combo_row_set_selected (display, 1);
  g_assert_cmpint (chronos_vm_config_get_display (config), ==, CHRONOS_DISPLAY_MODE_VNC);
  adw_combo_row_set_selected (disk_bus, 4);
  g_assert_cmpint (chronos_vm_config_get_disk_bus (config), ==, CHRONOS_DISK_BUS_VIRTIO);
  gtk_switch_set_active (network, TRUE);
  g_assert_true (chronos_vm_config_get_network (config));

  /* The drivers ISO row shows the chosen file and can clear it. */
  chronos_vm_config_set_drivers_iso (config, "/srv/iso/virtio-win.iso");
  g_assert_cmpstr (adw_action_row_get_subtitle (PAGE_CHILD (page, "iso_row")), ==, "virtio-win.iso");
  g_assert_true (gtk_widget_get_visible (PAGE_CHILD (page, "iso_clear_button")));
  g_signal_emit_by_name (PAGE_CHILD (page, "iso_clear_button"), "clicked");
  g_assert_null (chronos_vm_config_get_drivers_iso (config));

  /* What Automatic will pick is named, under the title, where nothing cuts
   * it off; the choice itself stays a short "Automatic". */
  chronos_vm_settings_page_set_detected_firmware (CHRONOS_VM_SETTINGS_PAGE (page), CHRONOS_FIRMWARE_MODE_UEFI);
  {
    GListModel *model = adw_combo_row_get_model (firmware);
    g_autoptr (GtkStringObject) item = g_list_model_get_item (model, 0);

    g_assert_cmpstr (gtk_string_object_get_string (item), ==, "Automatic");
    g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (firmware)), ==, "This backup starts with UEFI");
    g_assert_cmpuint (adw_combo_row_get_selected (firmware), ==, 0);
    g_assert_cmpint (chronos_vm_config_get_firmware (config), ==, CHRONOS_FIRMWARE_MODE_AUTO);
  }

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_clamps_to_host (void)
{
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new ();
  ChronosHostResources small = { 4 * GIB, 3 * GIB, 2 };
  ChronosHostResources big = { 64 * GIB, 60 * GIB, 32 };
  GtkWidget           *window;
  GtkWidget           *page;
  GtkAdjustment       *memory;
  GtkAdjustment       *cpus;

  page = show_page (config, TRUE, &window);
  memory = PAGE_CHILD (page, "memory_adjustment");
  cpus = PAGE_CHILD (page, "cpus_adjustment");

  /* 8 GiB host (show_page): at most 8 GiB less the host's reserve. */
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_upper (memory), 7.5, 0.001);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_upper (cpus), 4, 0.001);
  gtk_adjustment_set_value (memory, 12);
  g_assert_cmpuint (chronos_vm_config_get_memory_mib (config), ==, 7680);

  /* A big config on a small host comes down to what the host has. */
  chronos_vm_config_set_cpus (config, 4);
  chronos_vm_settings_page_set_host (CHRONOS_VM_SETTINGS_PAGE (page), &small);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_upper (memory), 3.5, 0.001);
  g_assert_cmpuint (chronos_vm_config_get_memory_mib (config), ==, 3584);
  g_assert_cmpuint (chronos_vm_config_get_cpus (config), ==, 2);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_value (cpus), 2, 0.001);

  /* A big host still stops at 16 GiB: a test VM needs no more. */
  chronos_vm_settings_page_set_host (CHRONOS_VM_SETTINGS_PAGE (page), &big);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_upper (memory), 16, 0.001);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_upper (cpus), 32, 0.001);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_lower (memory), 1, 0.001);

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_gsettings_both_ways (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("org.chronos.Chronos");
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new ();
  GtkWidget *window;
  GtkWidget *page;

  g_settings_set_uint (settings, "vm-memory-mib", 2048);
  g_settings_set_enum (settings, "vm-display", CHRONOS_DISPLAY_MODE_VNC);
  chronos_vm_settings_bind_defaults (settings, config, G_SETTINGS_BIND_DEFAULT);
  page = show_page (config, FALSE, &window);

  /* Protection is never a default: its switch is not on this page. */
  g_assert_false (gtk_widget_get_visible (PAGE_CHILD (page, "protection_group")));

  /* GSettings -> config -> widgets. */
  g_assert_cmpuint (chronos_vm_config_get_memory_mib (config), ==, 2048);
  g_assert_cmpfloat_with_epsilon (gtk_adjustment_get_value (PAGE_CHILD (page, "memory_adjustment")), 2.0, 0.001);
  g_assert_cmpuint (adw_combo_row_get_selected (PAGE_CHILD (page, "display_row")), ==, 1);
  g_settings_set_enum (settings, "vm-firmware", CHRONOS_FIRMWARE_MODE_BIOS);
  g_assert_cmpuint (adw_combo_row_get_selected (PAGE_CHILD (page, "firmware_row")), ==, 2);
  g_settings_set_boolean (settings, "vm-network", FALSE);
  g_assert_false (gtk_switch_get_active (PAGE_CHILD (page, "network_switch")));
  g_settings_set_string (settings, "vm-drivers-iso", "/srv/virtio-win.iso");
  g_assert_cmpstr (chronos_vm_config_get_drivers_iso (config), ==, "/srv/virtio-win.iso");

  /* Widgets -> config -> GSettings. */
  gtk_adjustment_set_value (PAGE_CHILD (page, "memory_adjustment"), 6);
  g_assert_cmpuint (g_settings_get_uint (settings, "vm-memory-mib"), ==, 6144);
  gtk_adjustment_set_value (PAGE_CHILD (page, "cpus_adjustment"), 3);
  g_assert_cmpuint (g_settings_get_uint (settings, "vm-cpus"), ==, 3);
  adw_combo_row_set_selected (PAGE_CHILD (page, "display_row"), 2);
  g_assert_cmpint (g_settings_get_enum (settings, "vm-display"), ==, CHRONOS_DISPLAY_MODE_NONE);
  adw_combo_row_set_selected (PAGE_CHILD (page, "accel_row"), 2);
  g_assert_cmpint (g_settings_get_enum (settings, "vm-accel"), ==, CHRONOS_ACCEL_MODE_TCG);
  adw_combo_row_set_selected (PAGE_CHILD (page, "disk_bus_row"), 3);
  g_assert_cmpint (g_settings_get_enum (settings, "vm-disk-bus"), ==, CHRONOS_DISK_BUS_IDE);
  gtk_switch_set_active (PAGE_CHILD (page, "network_switch"), TRUE);
  g_assert_true (g_settings_get_boolean (settings, "vm-network"));
  g_signal_emit_by_name (PAGE_CHILD (page, "iso_clear_button"), "clicked");
  g_assert_cmpstr (g_settings_get_string (settings, "vm-drivers-iso"), ==, "");

  gtk_window_destroy (GTK_WINDOW (window));
}

static AdwMessageDialog *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static void
test_protection_asks (void)
{
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new ();
  g_autoptr (GFile) file = g_file_new_for_path ("/backups/pc.vhdx");
  g_autoptr (ChronosBackup) backup = chronos_backup_new (file, NULL);
  GtkWidget             *dialog = chronos_vm_settings_dialog_new (NULL, backup, config);
  ChronosVmSettingsPage *page = chronos_vm_settings_dialog_get_page (CHRONOS_VM_SETTINGS_DIALOG (dialog));
  GtkSwitch             *protect = PAGE_CHILD (page, "protect_switch");
  GtkButton             *boot = child (dialog, CHRONOS_TYPE_VM_SETTINGS_DIALOG, "boot_button");
  AdwMessageDialog      *question;

  gtk_window_present (GTK_WINDOW (dialog));
  iterate ();
  g_assert_true (gtk_widget_get_visible (PAGE_CHILD (page, "protection_group")));
  g_assert_true (chronos_vm_config_get_protect_backup (config));
  g_assert_true (gtk_switch_get_active (protect));

  /* Turning it off asks, and says exactly what will happen. */
  gtk_switch_set_active (protect, FALSE);
  iterate ();
  question = find_message_dialog ();
  g_assert_nonnull (question);
  g_assert_nonnull (strstr (adw_message_dialog_get_body (question),
                            "Changes the VM makes will be written into the backup file itself and cannot be undone"));
  g_assert_true (chronos_vm_config_get_protect_backup (config));

  /* Keeping it protected leaves everything as it was. */
  adw_message_dialog_response (question, "cancel");
  iterate ();
  g_assert_true (chronos_vm_config_get_protect_backup (config));
  g_assert_true (gtk_switch_get_active (protect));
  g_assert_cmpstr (gtk_button_get_label (boot), ==, "_Boot");

  /* Allowing changes turns it off, and the Boot button says so. */
  gtk_switch_set_active (protect, FALSE);
  iterate ();
  question = find_message_dialog ();
  g_assert_nonnull (question);
  adw_message_dialog_response (question, "writable");
  iterate ();
  g_assert_false (chronos_vm_config_get_protect_backup (config));
  g_assert_false (gtk_switch_get_active (protect));
  g_assert_cmpstr (gtk_button_get_label (boot), ==, "_Boot Writable");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (boot), "destructive-action"));

  /* Back on needs no question. */
  gtk_switch_set_active (protect, TRUE);
  iterate ();
  g_assert_true (chronos_vm_config_get_protect_backup (config));

  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
boot_cb (ChronosVmSettingsDialog *dialog,
         ChronosVmConfig         *config,
         gboolean                *booted)
{
  *booted = TRUE;
}

static void
test_dialog_boot_and_remember (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("org.chronos.Chronos");
  g_autoptr (ChronosVmConfig) config = NULL;
  g_autoptr (ChronosVmConfig) again = NULL;
  g_autoptr (ChronosVmConfig) other = NULL;
  g_autoptr (GFile) file = g_file_new_for_path ("/backups/remembered.vhdx");
  g_autoptr (ChronosBackup) backup = chronos_backup_new (file, NULL);
  g_autoptr (GError) error = NULL;
  gboolean   booted = FALSE;
  GtkWidget *dialog;

  g_settings_set_enum (settings, "vm-display", CHRONOS_DISPLAY_MODE_WINDOW);
  g_settings_set_uint (settings, "vm-cpus", 1);

  config = chronos_vm_settings_load_for_backup (settings, "/backups/remembered.vhdx");
  g_assert_cmpint (chronos_vm_config_get_display (config), ==, CHRONOS_DISPLAY_MODE_WINDOW);
  g_assert_cmpuint (chronos_vm_config_get_cpus (config), ==, 1);
  g_assert_true (chronos_vm_config_get_protect_backup (config));

  dialog = chronos_vm_settings_dialog_new (NULL, backup, config);
  g_signal_connect (dialog, "boot", G_CALLBACK (boot_cb), &booted);
  gtk_window_present (GTK_WINDOW (dialog));
  iterate ();
  adw_combo_row_set_selected (PAGE_CHILD (chronos_vm_settings_dialog_get_page (CHRONOS_VM_SETTINGS_DIALOG (dialog)), "display_row"), 2);
  g_signal_emit_by_name (child (dialog, CHRONOS_TYPE_VM_SETTINGS_DIALOG, "boot_button"), "clicked");
  iterate ();
  g_assert_true (booted);
  chronos_vm_config_set_protect_backup (config, FALSE);
  g_assert_true (chronos_vm_settings_save_for_backup (config, "/backups/remembered.vhdx", &error));
  g_assert_no_error (error);

  /* The choice comes back for this backup, but never writable mode. */
  again = chronos_vm_settings_load_for_backup (settings, "/backups/remembered.vhdx");
  g_assert_cmpint (chronos_vm_config_get_display (again), ==, CHRONOS_DISPLAY_MODE_NONE);
  g_assert_true (chronos_vm_config_get_protect_backup (again));

  /* Another backup starts from the defaults. */
  other = chronos_vm_settings_load_for_backup (settings, "/backups/other.vhdx");
  g_assert_cmpint (chronos_vm_config_get_display (other), ==, CHRONOS_DISPLAY_MODE_WINDOW);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = gui_test_isolate_home ();
  int              status;

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/gui/vm-settings/binds-config", test_binds_config);
  g_test_add_func ("/gui/vm-settings/clamps-to-host", test_clamps_to_host);
  g_test_add_func ("/gui/vm-settings/gsettings-both-ways", test_gsettings_both_ways);
  g_test_add_func ("/gui/vm-settings/protection-asks", test_protection_asks);
  g_test_add_func ("/gui/vm-settings/boot-and-remember", test_dialog_boot_and_remember);

  status = g_test_run ();
  gui_test_cleanup_home (home);
  return status;
}
