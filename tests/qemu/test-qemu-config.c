/* test-qemu-config.c: VM config defaults, clamping, notification; host parsing
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-host.h"
#include "chronos-vm-config.h"

#define GIB (G_GUINT64_CONSTANT (1) << 30)

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          gpointer    user_data)
{
  GHashTable *counts = user_data;
  guint       n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, pspec->name));

  g_hash_table_insert (counts, (gpointer)pspec->name, GUINT_TO_POINTER (n + 1));
}

static guint
count (GHashTable *counts,
       const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts, name));
}

static void
test_defaults (void)
{
  ChronosHostResources big = { .total_memory = 32 * GIB, .available_memory = 20 * GIB, .n_cpus = 16 };
  ChronosHostResources small = { .total_memory = 2 * GIB, .available_memory = GIB, .n_cpus = 1 };
  ChronosHostResources unknown = { .n_cpus = 1 };
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new_for_host (&big);
  g_autoptr (ChronosVmConfig) tiny = chronos_vm_config_new_for_host (&small);
  g_autoptr (ChronosVmConfig) blind = chronos_vm_config_new_for_host (&unknown);

  g_assert_cmpuint (chronos_vm_config_get_memory_mib (config), ==, 4096);
  g_assert_cmpuint (chronos_vm_config_get_cpus (config), ==, 2);
  g_assert_cmpint (chronos_vm_config_get_firmware (config), ==, CHRONOS_FIRMWARE_MODE_AUTO);
  g_assert_cmpint (chronos_vm_config_get_accel (config), ==, CHRONOS_ACCEL_MODE_AUTO);
  g_assert_cmpint (chronos_vm_config_get_display (config), ==, CHRONOS_DISPLAY_MODE_WINDOW);
  g_assert_true (chronos_vm_config_get_network (config));
  g_assert_cmpstr (chronos_vm_config_get_nic_model (config), ==, "e1000e");
  g_assert_true (chronos_vm_config_get_protect_backup (config));
  g_assert_cmpint (chronos_vm_config_get_disk_bus (config), ==, CHRONOS_DISK_BUS_AUTO);
  g_assert_cmpint (chronos_vm_config_resolve_disk_bus (config), ==, CHRONOS_DISK_BUS_AHCI);
  g_assert_null (chronos_vm_config_get_drivers_iso (config));
  g_assert_null (chronos_vm_config_get_serial_path (config));
  g_assert_cmpuint (chronos_vm_config_get_shutdown_timeout (config), ==, 30);

  /* Half of 2 GiB; one CPU on a one-CPU host. */
  g_assert_cmpuint (chronos_vm_config_get_memory_mib (tiny), ==, 1024);
  g_assert_cmpuint (chronos_vm_config_get_cpus (tiny), ==, 1);
  /* A host that tells nothing gets the plain default. */
  g_assert_cmpuint (chronos_vm_config_get_memory_mib (blind), ==, 4096);

  /* The real host: within bounds. */
  {
    g_autoptr (ChronosVmConfig) real = chronos_vm_config_new ();

    g_assert_cmpuint (chronos_vm_config_get_memory_mib (real), >=, CHRONOS_VM_CONFIG_MIN_MEMORY_MIB);
    g_assert_cmpuint (chronos_vm_config_get_memory_mib (real), <=, 4096);
    g_assert_cmpuint (chronos_vm_config_get_cpus (real), >=, 1);
    g_assert_cmpuint (chronos_vm_config_get_cpus (real), <=, chronos_host_get_cpu_count ());
  }
}

static void
test_resolve_firmware (void)
{
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new ();

  g_assert_cmpint (chronos_vm_config_resolve_firmware (config, CHRONOS_PARTITION_STYLE_GPT), ==, CHRONOS_FIRMWARE_MODE_UEFI);
  g_assert_cmpint (chronos_vm_config_resolve_firmware (config, CHRONOS_PARTITION_STYLE_MBR), ==, CHRONOS_FIRMWARE_MODE_BIOS);
  g_assert_cmpint (chronos_vm_config_resolve_firmware (config, CHRONOS_PARTITION_STYLE_NONE), ==, CHRONOS_FIRMWARE_MODE_BIOS);
  chronos_vm_config_set_firmware (config, CHRONOS_FIRMWARE_MODE_BIOS);
  g_assert_cmpint (chronos_vm_config_resolve_firmware (config, CHRONOS_PARTITION_STYLE_GPT), ==, CHRONOS_FIRMWARE_MODE_BIOS);
  chronos_vm_config_set_firmware (config, CHRONOS_FIRMWARE_MODE_UEFI);
  g_assert_cmpint (chronos_vm_config_resolve_firmware (config, CHRONOS_PARTITION_STYLE_MBR), ==, CHRONOS_FIRMWARE_MODE_UEFI);
}

static void
test_notify (void)
{
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new ();
  g_autoptr (GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree GParamSpec **pspecs = NULL;
  guint                   n_pspecs = 0;

  g_signal_connect (config, "notify", G_CALLBACK (count_cb), counts);

  /* Every property is EXPLICIT_NOTIFY: a set to the same value is silent. */
  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (config), &n_pspecs);
  g_assert_cmpuint (n_pspecs, ==, 12);
  for (guint i = 0; i < n_pspecs; i++)
    {
      GValue value = G_VALUE_INIT;

      g_assert_true (pspecs[i]->flags & G_PARAM_EXPLICIT_NOTIFY);
      g_value_init (&value, pspecs[i]->value_type);
      g_object_get_property (G_OBJECT (config), pspecs[i]->name, &value);
      g_object_set_property (G_OBJECT (config), pspecs[i]->name, &value);
      g_value_unset (&value);
    }
  g_assert_cmpuint (g_hash_table_size (counts), ==, 0);

  g_object_set (config,
                "memory-mib", 2048,
                "cpus", 1,
                "firmware", CHRONOS_FIRMWARE_MODE_UEFI,
                "accel", CHRONOS_ACCEL_MODE_TCG,
                "display", CHRONOS_DISPLAY_MODE_NONE,
                "network", FALSE,
                "nic-model", "virtio-net-pci",
                "protect-backup", FALSE,
                "disk-bus", CHRONOS_DISK_BUS_NVME,
                "drivers-iso", "/x/virtio-win.iso",
                "serial-path", "/x/serial.log",
                "shutdown-timeout", 5,
                NULL);
  for (guint i = 0; i < n_pspecs; i++)
    g_assert_cmpuint (count (counts, pspecs[i]->name), ==, 1);

  /* Same values again: silent. "" clears strings (GSettings binding). */
  chronos_vm_config_set_memory_mib (config, 2048);
  chronos_vm_config_set_nic_model (config, "virtio-net-pci");
  chronos_vm_config_set_drivers_iso (config, "/x/virtio-win.iso");
  g_assert_cmpuint (count (counts, "memory-mib"), ==, 1);
  g_assert_cmpuint (count (counts, "nic-model"), ==, 1);
  g_assert_cmpuint (count (counts, "drivers-iso"), ==, 1);
  chronos_vm_config_set_drivers_iso (config, "");
  g_assert_null (chronos_vm_config_get_drivers_iso (config));
  g_assert_cmpuint (count (counts, "drivers-iso"), ==, 2);
  chronos_vm_config_set_drivers_iso (config, NULL);
  g_assert_cmpuint (count (counts, "drivers-iso"), ==, 2);

  /* The copy is independent and equal. */
  {
    g_autoptr (ChronosVmConfig) copy = chronos_vm_config_copy (config);

    g_assert_cmpuint (chronos_vm_config_get_memory_mib (copy), ==, 2048);
    g_assert_cmpstr (chronos_vm_config_get_serial_path (copy), ==, "/x/serial.log");
    g_assert_false (chronos_vm_config_get_protect_backup (copy));
    g_assert_cmpint (chronos_vm_config_get_disk_bus (copy), ==, CHRONOS_DISK_BUS_NVME);
    chronos_vm_config_set_cpus (copy, 4);
    g_assert_cmpuint (chronos_vm_config_get_cpus (config), ==, 1);
  }

  g_assert_true (chronos_vm_config_is_valid_nic_model ("e1000"));
  g_assert_false (chronos_vm_config_is_valid_nic_model ("rtl8139"));
  g_assert_false (chronos_vm_config_is_valid_nic_model (NULL));
}

static void
test_out_of_range (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (ChronosVmConfig) config = chronos_vm_config_new ();

      chronos_vm_config_set_memory_mib (config, 100);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*memory_mib >= CHRONOS_VM_CONFIG_MIN_MEMORY_MIB*");
}

static void
test_clamp (void)
{
  ChronosHostResources host = { .total_memory = 8 * GIB, .available_memory = 4 * GIB, .n_cpus = 2 };
  g_autoptr (ChronosVmConfig) config = chronos_vm_config_new_for_host (&host);
  g_autoptr (GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *note = NULL;

  g_signal_connect (config, "notify", G_CALLBACK (count_cb), counts);

  /* 4096 MiB wanted, 4 GiB free, 512 MiB kept for the host. */
  g_assert_true (chronos_vm_config_clamp (config, &host, &note));
  g_assert_cmpuint (chronos_vm_config_get_memory_mib (config), ==, 3584);
  g_assert_cmpstr (note, ==, "Memory reduced to 3.5 GiB: the host has only 4 GiB free.");
  g_assert_cmpuint (count (counts, "memory-mib"), ==, 1);
  g_assert_cmpuint (count (counts, "cpus"), ==, 0);
  g_clear_pointer (&note, g_free);

  /* Nothing to do: FALSE, no note, no notification. */
  g_assert_false (chronos_vm_config_clamp (config, &host, &note));
  g_assert_null (note);
  g_assert_cmpuint (count (counts, "memory-mib"), ==, 1);

  /* CPUs beyond the host, and a host with almost nothing free. */
  {
    ChronosHostResources starved = { .total_memory = 2 * GIB, .available_memory = 600 << 20, .n_cpus = 1 };

    chronos_vm_config_set_cpus (config, 8);
    g_assert_true (chronos_vm_config_clamp (config, &starved, &note));
    g_assert_cmpuint (chronos_vm_config_get_memory_mib (config), ==, CHRONOS_VM_CONFIG_MIN_MEMORY_MIB);
    g_assert_cmpuint (chronos_vm_config_get_cpus (config), ==, 1);
    g_assert_nonnull (strstr (note, "Memory reduced to 256 MiB: the host has only 600 MiB free."));
    g_assert_nonnull (strstr (note, "Processors reduced to 1: the host has only 1."));
    g_clear_pointer (&note, g_free);
  }

  /* Only the total known (no MemAvailable). */
  {
    ChronosHostResources total_only = { .total_memory = 2 * GIB, .n_cpus = 4 };

    chronos_vm_config_set_memory_mib (config, 4096);
    g_assert_true (chronos_vm_config_clamp (config, &total_only, &note));
    g_assert_cmpuint (chronos_vm_config_get_memory_mib (config), ==, 1536);
    g_assert_cmpstr (note, ==, "Memory reduced to 1.5 GiB: the host has only 2 GiB.");
    g_clear_pointer (&note, g_free);
  }

  /* The real host never refuses its own default after clamping. */
  {
    g_autoptr (ChronosVmConfig) real = chronos_vm_config_new ();
    ChronosHostResources now;

    chronos_vm_config_set_memory_mib (real, CHRONOS_VM_CONFIG_MAX_MEMORY_MIB);
    g_assert_true (chronos_vm_config_clamp_to_host (real, &note));
    g_assert_nonnull (note);
    chronos_host_query_resources (&now);
    g_assert_cmpuint ((guint64)chronos_vm_config_get_memory_mib (real) << 20, <=,
                      MAX (now.available_memory, (guint64)CHRONOS_VM_CONFIG_MIN_MEMORY_MIB << 20));
  }
}

static void
test_meminfo (void)
{
  const char *modern =
      "MemTotal:        8029876 kB\n"
      "MemFree:          512000 kB\n"
      "MemAvailable:    4194304 kB\n"
      "Buffers:          100000 kB\n"
      "Cached:          2000000 kB\n";
  const char *old =
      "MemTotal:        2097152 kB\n"
      "MemFree:          524288 kB\n"
      "Buffers:          262144 kB\n"
      "Cached:           262144 kB\n";
  guint64              total = 0, available = 0;
  ChronosHostResources host;

  g_assert_true (chronos_host_parse_meminfo (modern, &total, &available));
  g_assert_cmpuint (total, ==, G_GUINT64_CONSTANT (8029876) * 1024);
  g_assert_cmpuint (available, ==, 4 * GIB);

  g_assert_true (chronos_host_parse_meminfo (old, &total, &available));
  g_assert_cmpuint (total, ==, 2 * GIB);
  g_assert_cmpuint (available, ==, GIB);

  g_assert_false (chronos_host_parse_meminfo ("MemFree: 1 kB\n", &total, &available));
  g_assert_false (chronos_host_parse_meminfo ("", &total, &available));
  g_assert_false (chronos_host_parse_meminfo ("MemTotal: lots\n", &total, &available));

  /* This host (Linux): both known and sane. */
  chronos_host_query_resources (&host);
  g_assert_cmpuint (host.total_memory, >, 256 << 20);
  g_assert_cmpuint (host.available_memory, >, 0);
  g_assert_cmpuint (host.available_memory, <=, host.total_memory);
  g_assert_cmpuint (host.n_cpus, ==, g_get_num_processors ());
  g_assert_cmpuint (chronos_host_get_total_memory (), ==, host.total_memory);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/qemu-config/defaults", test_defaults);
  g_test_add_func ("/qemu-config/resolve-firmware", test_resolve_firmware);
  g_test_add_func ("/qemu-config/notify", test_notify);
  g_test_add_func ("/qemu-config/out-of-range", test_out_of_range);
  g_test_add_func ("/qemu-config/clamp", test_clamp);
  g_test_add_func ("/qemu-config/meminfo", test_meminfo);

  return g_test_run ();
}
