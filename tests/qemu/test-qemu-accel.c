/* test-qemu-accel.c: accelerator names, host probe, plans, remembered failures
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "chronos-accel.h"
#include "chronos-accel-memory.h"
#include "chronos-qemu-error.h"

static void
test_strings (void)
{
  const ChronosAccelKind kinds[] = { CHRONOS_ACCEL_KIND_TCG, CHRONOS_ACCEL_KIND_KVM,
                                     CHRONOS_ACCEL_KIND_WHPX, CHRONOS_ACCEL_KIND_HVF };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      const char *name = chronos_accel_kind_to_string (kinds[i]);

      g_assert_cmpint (chronos_accel_kind_from_string (name), ==, kinds[i]);
      g_assert_nonnull (chronos_accel_kind_get_label (kinds[i]));
      g_assert_nonnull (chronos_accel_kind_to_qemu_option (kinds[i]));
    }
  g_assert_cmpstr (chronos_accel_kind_to_string (CHRONOS_ACCEL_KIND_KVM), ==, "kvm");
  g_assert_cmpint (chronos_accel_kind_from_string ("KVM"), ==, CHRONOS_ACCEL_KIND_KVM);
  g_assert_cmpint (chronos_accel_kind_from_string ("xen"), ==, CHRONOS_ACCEL_KIND_UNKNOWN);
  g_assert_cmpint (chronos_accel_kind_from_string (NULL), ==, CHRONOS_ACCEL_KIND_UNKNOWN);
  g_assert_cmpstr (chronos_accel_kind_to_string (CHRONOS_ACCEL_KIND_UNKNOWN), ==, "unknown");
  g_assert_null (chronos_accel_kind_to_qemu_option (CHRONOS_ACCEL_KIND_UNKNOWN));
  g_assert_cmpstr (chronos_accel_kind_to_qemu_option (CHRONOS_ACCEL_KIND_WHPX), ==, "whpx,kernel-irqchip=off");
  g_assert_cmpstr (chronos_accel_kind_get_label (CHRONOS_ACCEL_KIND_KVM), ==, "Hardware acceleration (KVM)");
  g_assert_cmpstr (chronos_accel_kind_get_label (CHRONOS_ACCEL_KIND_TCG), ==, "Software emulation — slower");

  g_assert_cmpint (chronos_accel_kind_from_apic_type ("kvm-apic"), ==, CHRONOS_ACCEL_KIND_KVM);
  g_assert_cmpint (chronos_accel_kind_from_apic_type ("whpx-apic"), ==, CHRONOS_ACCEL_KIND_WHPX);
  g_assert_cmpint (chronos_accel_kind_from_apic_type ("apic"), ==, CHRONOS_ACCEL_KIND_TCG);
  g_assert_cmpint (chronos_accel_kind_from_apic_type ("xen-apic"), ==, CHRONOS_ACCEL_KIND_UNKNOWN);
}

/* This host is Linux: KVM is the hardware kind; /dev/kvm decides. */
static void
test_probe (void)
{
  g_autofree char *reason = NULL;
  gboolean         usable;
  int              fd;

  g_assert_true (chronos_accel_probe (CHRONOS_ACCEL_KIND_TCG, &reason));
  g_assert_null (reason);

#ifdef __linux__
  g_assert_cmpint (chronos_accel_host_hardware_kind (), ==, CHRONOS_ACCEL_KIND_KVM);
  usable = chronos_accel_probe (CHRONOS_ACCEL_KIND_KVM, &reason);
  /* Independent check: the probe agrees with opening the device. */
  fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd >= 0)
    close (fd);
  g_test_message ("KVM usable: %s%s%s", usable ? "yes" : "no", reason ? ": " : "", reason ? reason : "");
  if (fd < 0)
    {
      g_assert_false (usable);
      g_assert_nonnull (reason);
      g_assert_nonnull (strstr (reason, "/dev/kvm"));
    }
  else
    {
      g_assert_true (usable);
      g_assert_null (reason);
    }
#else
  (void)usable;
  (void)fd;
#endif

  g_clear_pointer (&reason, g_free);
  g_assert_false (chronos_accel_probe (CHRONOS_ACCEL_KIND_WHPX, &reason));
  g_assert_nonnull (reason);
  g_clear_pointer (&reason, g_free);
  g_assert_false (chronos_accel_probe (CHRONOS_ACCEL_KIND_UNKNOWN, NULL));
}

static void
assert_plan (GArray          *plan,
             ChronosAccelKind first,
             ChronosAccelKind second)
{
  g_assert_nonnull (plan);
  g_assert_cmpuint (plan->len, ==, second == CHRONOS_ACCEL_KIND_UNKNOWN ? 1 : 2);
  g_assert_cmpint (g_array_index (plan, ChronosAccelKind, 0), ==, first);
  if (second != CHRONOS_ACCEL_KIND_UNKNOWN)
    g_assert_cmpint (g_array_index (plan, ChronosAccelKind, 1), ==, second);
}

static void
test_plan (void)
{
  const ChronosAccelKind kvm = CHRONOS_ACCEL_KIND_KVM;
  const ChronosAccelKind whpx = CHRONOS_ACCEL_KIND_WHPX;
  const ChronosAccelKind tcg = CHRONOS_ACCEL_KIND_TCG;
  const ChronosAccelKind none = CHRONOS_ACCEL_KIND_UNKNOWN;
  g_autoptr (GError) error = NULL;
  g_autofree char *note = NULL;
  GArray          *plan;

  /* auto, usable: hardware then TCG, no note. */
  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_AUTO, kvm, TRUE, FALSE, NULL, &note, &error);
  g_assert_no_error (error);
  assert_plan (plan, kvm, tcg);
  g_assert_null (note);
  g_array_unref (plan);

  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_AUTO, whpx, TRUE, FALSE, NULL, &note, &error);
  assert_plan (plan, whpx, tcg);
  g_array_unref (plan);

  /* auto, not usable: TCG with the reason. */
  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_AUTO, kvm, FALSE, FALSE,
                             "/dev/kvm does not exist.", &note, &error);
  assert_plan (plan, tcg, none);
  g_assert_cmpstr (note, ==, "Using software emulation: /dev/kvm does not exist.");
  g_clear_pointer (&note, g_free);
  g_array_unref (plan);

  /* auto, known bad for this firmware: TCG, saying why. */
  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_AUTO, kvm, TRUE, TRUE,
                             "KVM internal error", &note, &error);
  assert_plan (plan, tcg, none);
  g_assert_nonnull (strstr (note, "KVM failed"));
  g_assert_nonnull (strstr (note, "KVM internal error"));
  g_clear_pointer (&note, g_free);
  g_array_unref (plan);

  /* auto on a host without any: TCG, no note to bother anyone with. */
  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_AUTO, none, FALSE, FALSE, NULL, &note, &error);
  assert_plan (plan, tcg, none);
  g_assert_null (note);
  g_array_unref (plan);

  /* hardware: only hardware, even when known bad (the user asked). */
  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_HARDWARE, kvm, TRUE, TRUE, "x", &note, &error);
  g_assert_no_error (error);
  assert_plan (plan, kvm, none);
  g_array_unref (plan);

  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_HARDWARE, kvm, FALSE, FALSE,
                             "/dev/kvm is not accessible.", &note, &error);
  g_assert_null (plan);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_ACCEL_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "/dev/kvm is not accessible."));
  g_clear_error (&error);

  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_HARDWARE, none, FALSE, FALSE, NULL, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_ACCEL_UNAVAILABLE);
  g_clear_error (&error);

  /* tcg: TCG only. */
  plan = chronos_accel_plan (CHRONOS_ACCEL_MODE_TCG, kvm, TRUE, FALSE, NULL, &note, &error);
  assert_plan (plan, tcg, none);
  g_assert_null (note);
  g_array_unref (plan);
}

static void
test_memory (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *path = chronos_accel_memory_get_path ();
  g_autofree char *contents = NULL;

  /* G_TEST_OPTION_ISOLATE_DIRS: the state dir starts empty. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_false (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI, &reason));
  g_assert_null (reason);

  g_assert_true (chronos_accel_memory_remember (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI,
                                                "KVM internal error", "7.2.22", &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  g_assert_true (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI, &reason));
  g_assert_cmpstr (reason, ==, "KVM internal error");
  g_clear_pointer (&reason, g_free);
  /* Per firmware and per accelerator. */
  g_assert_false (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_BIOS, NULL));
  g_assert_false (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_WHPX, CHRONOS_FIRMWARE_MODE_UEFI, NULL));

  /* Per host: the group carries this host's name. */
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (contents, g_get_host_name ()));
  g_assert_nonnull (strstr (contents, "qemu-version=7.2.22"));

  /* The plan for this host follows the memory. */
  if (chronos_accel_probe (chronos_accel_host_hardware_kind (), NULL))
    {
      g_autofree char *note = NULL;
      g_autoptr (GArray) uefi = chronos_accel_plan_for_host (CHRONOS_ACCEL_MODE_AUTO, CHRONOS_FIRMWARE_MODE_UEFI,
                                                             &note, &error);
      g_autoptr (GArray) bios = chronos_accel_plan_for_host (CHRONOS_ACCEL_MODE_AUTO, CHRONOS_FIRMWARE_MODE_BIOS,
                                                             NULL, &error);
      g_autoptr (GArray) forced = chronos_accel_plan_for_host (CHRONOS_ACCEL_MODE_HARDWARE, CHRONOS_FIRMWARE_MODE_UEFI,
                                                               NULL, &error);

      g_assert_no_error (error);
      assert_plan (uefi, CHRONOS_ACCEL_KIND_TCG, CHRONOS_ACCEL_KIND_UNKNOWN);
      g_assert_nonnull (strstr (note, "KVM internal error"));
      assert_plan (bios, chronos_accel_host_hardware_kind (), CHRONOS_ACCEL_KIND_TCG);
      assert_plan (forced, chronos_accel_host_hardware_kind (), CHRONOS_ACCEL_KIND_UNKNOWN);
    }
  else
    g_test_message ("No hardware accelerator here: skipping the host plan checks");

  /* A second record keeps the first. */
  g_assert_true (chronos_accel_memory_remember (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_BIOS,
                                                "hang", NULL, &error));
  g_assert_true (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI, NULL));

  /* Forget one; forgetting again is fine. */
  g_assert_true (chronos_accel_memory_forget (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI, &error));
  g_assert_no_error (error);
  g_assert_false (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI, NULL));
  g_assert_true (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_BIOS, NULL));
  g_assert_true (chronos_accel_memory_forget (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI, &error));
  g_assert_no_error (error);

  /* A damaged file means "nothing known", and is replaced on the next write. */
  g_file_set_contents (path, "\x01garbage [[[ not a keyfile", -1, &error);
  g_assert_no_error (error);
  g_assert_false (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_BIOS, NULL));
  g_assert_true (chronos_accel_memory_remember (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI,
                                                "again", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (chronos_accel_memory_lookup (CHRONOS_ACCEL_KIND_KVM, CHRONOS_FIRMWARE_MODE_UEFI, NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/qemu-accel/strings", test_strings);
  g_test_add_func ("/qemu-accel/probe", test_probe);
  g_test_add_func ("/qemu-accel/plan", test_plan);
  g_test_add_func ("/qemu-accel/memory", test_memory);

  return g_test_run ();
}
