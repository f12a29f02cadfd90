/* chronos-accel.c: which accelerators this host offers, and the -accel plan
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Probing only answers "could QEMU open it"; an accelerator can still fail
 * after start (nested KVM stops OVMF with an internal error, WHPX hangs in
 * the firmware). ChronosVm detects that, restarts on TCG and records it in
 * chronos-accel-memory so that the plan here skips hardware next time.
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#ifndef G_OS_WIN32
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <linux/kvm.h>
#endif

#include "chronos-accel.h"
#include "chronos-accel-memory.h"
#include "chronos-qemu-error.h"

#ifdef G_OS_WIN32
/* chronos-accel-whpx.c (compiled on Windows only). */
gboolean chronos_accel_whpx_probe (char **reason);
#endif

const char *
chronos_accel_kind_to_string (ChronosAccelKind kind)
{
  switch (kind)
    {
    case CHRONOS_ACCEL_KIND_TCG:
      return "tcg";
    case CHRONOS_ACCEL_KIND_KVM:
      return "kvm";
    case CHRONOS_ACCEL_KIND_WHPX:
      return "whpx";
    case CHRONOS_ACCEL_KIND_HVF:
      return "hvf";
    case CHRONOS_ACCEL_KIND_UNKNOWN:
    default:
      return "unknown";
    }
}

ChronosAccelKind
chronos_accel_kind_from_string (const char *name)
{
  if (name == NULL)
    return CHRONOS_ACCEL_KIND_UNKNOWN;
  if (g_ascii_strcasecmp (name, "tcg") == 0)
    return CHRONOS_ACCEL_KIND_TCG;
  if (g_ascii_strcasecmp (name, "kvm") == 0)
    return CHRONOS_ACCEL_KIND_KVM;
  if (g_ascii_strcasecmp (name, "whpx") == 0)
    return CHRONOS_ACCEL_KIND_WHPX;
  if (g_ascii_strcasecmp (name, "hvf") == 0)
    return CHRONOS_ACCEL_KIND_HVF;
  return CHRONOS_ACCEL_KIND_UNKNOWN;
}

const char *
chronos_accel_kind_get_label (ChronosAccelKind kind)
{
  switch (kind)
    {
    case CHRONOS_ACCEL_KIND_TCG:
      return _ ("Software emulation — slower");
    case CHRONOS_ACCEL_KIND_KVM:
      return _ ("Hardware acceleration (KVM)");
    case CHRONOS_ACCEL_KIND_WHPX:
      return _ ("Hardware acceleration (Windows Hypervisor Platform)");
    case CHRONOS_ACCEL_KIND_HVF:
      return _ ("Hardware acceleration (Hypervisor.framework)");
    case CHRONOS_ACCEL_KIND_UNKNOWN:
    default:
      return _ ("Unknown accelerator");
    }
}

const char *
chronos_accel_kind_to_qemu_option (ChronosAccelKind kind)
{
  switch (kind)
    {
    case CHRONOS_ACCEL_KIND_TCG:
      return "tcg";
    case CHRONOS_ACCEL_KIND_KVM:
      return "kvm";
    case CHRONOS_ACCEL_KIND_WHPX:
      /* With the in-kernel irqchip WHPX loses interrupts ("injection
       * failed, MSI lost") and guests hang. */
      return "whpx,kernel-irqchip=off";
    case CHRONOS_ACCEL_KIND_HVF:
      return "hvf";
    case CHRONOS_ACCEL_KIND_UNKNOWN:
    default:
      return NULL;
    }
}

ChronosAccelKind
chronos_accel_kind_from_apic_type (const char *qom_type)
{
  if (qom_type == NULL)
    return CHRONOS_ACCEL_KIND_UNKNOWN;
  if (strcmp (qom_type, "kvm-apic") == 0)
    return CHRONOS_ACCEL_KIND_KVM;
  if (strcmp (qom_type, "whpx-apic") == 0)
    return CHRONOS_ACCEL_KIND_WHPX;
  if (strcmp (qom_type, "apic") == 0)
    return CHRONOS_ACCEL_KIND_TCG;
  return CHRONOS_ACCEL_KIND_UNKNOWN;
}

ChronosAccelKind
chronos_accel_host_hardware_kind (void)
{
#if defined(G_OS_WIN32)
  return CHRONOS_ACCEL_KIND_WHPX;
#elif defined(__linux__)
  return CHRONOS_ACCEL_KIND_KVM;
#elif defined(__APPLE__)
  return CHRONOS_ACCEL_KIND_HVF;
#else
  return CHRONOS_ACCEL_KIND_UNKNOWN;
#endif
}

#ifdef __linux__
static gboolean
probe_kvm (char **reason)
{
  int fd;
  int version;
  int saved_errno;

  /* QEMU opens /dev/kvm read-write: probe the same way, so that a
   * read-only permission does not count as usable. */
  fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      saved_errno = errno;
      if (reason == NULL)
        return FALSE;
      if (saved_errno == ENOENT || saved_errno == ENODEV || saved_errno == ENXIO)
        *reason = g_strdup (_ ("/dev/kvm does not exist: enable virtualization (VT-x or AMD-V) "
                               "in the firmware settings and load the kvm module."));
      else if (saved_errno == EACCES || saved_errno == EPERM)
        *reason = g_strdup_printf (_ ("/dev/kvm is not accessible (%s): add yourself to the kvm "
                                      "group and log in again."),
                                   g_strerror (saved_errno));
      else
        *reason = g_strdup_printf (_ ("/dev/kvm cannot be opened: %s."),
                                   g_strerror (saved_errno));
      return FALSE;
    }

  version = ioctl (fd, KVM_GET_API_VERSION, 0);
  saved_errno = errno;
  close (fd);

  if (version < 0)
    {
      if (reason != NULL)
        *reason = g_strdup_printf (_ ("KVM does not answer (%s)."), g_strerror (saved_errno));
      return FALSE;
    }
  /* 12 has been the only stable KVM API version since Linux 2.6.22; QEMU
   * refuses anything else. */
  if (version != KVM_API_VERSION)
    {
      if (reason != NULL)
        *reason = g_strdup_printf (_ ("KVM has API version %d; QEMU needs %d."),
                                   version, KVM_API_VERSION);
      return FALSE;
    }
  return TRUE;
}
#endif

gboolean
chronos_accel_probe (ChronosAccelKind kind,
                     char           **reason)
{
  if (reason != NULL)
    *reason = NULL;

  switch (kind)
    {
    case CHRONOS_ACCEL_KIND_TCG:
      return TRUE;

    case CHRONOS_ACCEL_KIND_KVM:
#ifdef __linux__
      return probe_kvm (reason);
#else
      if (reason != NULL)
        *reason = g_strdup (_ ("KVM exists only on Linux."));
      return FALSE;
#endif

    case CHRONOS_ACCEL_KIND_WHPX:
#ifdef G_OS_WIN32
      return chronos_accel_whpx_probe (reason);
#else
      if (reason != NULL)
        *reason = g_strdup (_ ("The Windows Hypervisor Platform exists only on Windows."));
      return FALSE;
#endif

    case CHRONOS_ACCEL_KIND_HVF:
      /* Chronos is not built for macOS yet: nothing probes HVF. */
      if (reason != NULL)
        *reason = g_strdup (_ ("Chronos cannot use Hypervisor.framework yet."));
      return FALSE;

    case CHRONOS_ACCEL_KIND_UNKNOWN:
    default:
      if (reason != NULL)
        *reason = g_strdup (_ ("This host has no hardware accelerator QEMU can use."));
      return FALSE;
    }
}

GArray *
chronos_accel_plan (ChronosAccelMode mode,
                    ChronosAccelKind hardware_kind,
                    gboolean         hardware_usable,
                    gboolean         hardware_known_bad,
                    const char      *hardware_reason,
                    char           **note,
                    GError         **error)
{
  g_autoptr (GArray) plan = g_array_sized_new (FALSE, FALSE, sizeof (ChronosAccelKind), 2);
  const ChronosAccelKind tcg = CHRONOS_ACCEL_KIND_TCG;
  gboolean               has_hardware = hardware_kind != CHRONOS_ACCEL_KIND_UNKNOWN &&
                          hardware_kind != CHRONOS_ACCEL_KIND_TCG;

  if (note != NULL)
    *note = NULL;

  switch (mode)
    {
    case CHRONOS_ACCEL_MODE_HARDWARE:
      if (!has_hardware || !hardware_usable)
        {
          if (hardware_reason != NULL)
            g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_ACCEL_UNAVAILABLE,
                         _ ("Hardware acceleration is not available: %s"), hardware_reason);
          else
            g_set_error_literal (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_ACCEL_UNAVAILABLE,
                                 _ ("Hardware acceleration is not available on this host."));
          return NULL;
        }
      g_array_append_val (plan, hardware_kind);
      break;

    case CHRONOS_ACCEL_MODE_TCG:
      g_array_append_val (plan, tcg);
      break;

    case CHRONOS_ACCEL_MODE_AUTO:
    default:
      if (has_hardware && hardware_usable && !hardware_known_bad)
        {
          g_array_append_val (plan, hardware_kind);
        }
      else if (note != NULL && has_hardware)
        {
          const char      *name = chronos_accel_kind_to_string (hardware_kind);
          g_autofree char *upper = g_ascii_strup (name, -1);

          if (hardware_known_bad)
            *note = g_strdup_printf (_ ("Using software emulation: %s failed with this firmware on this host before (%s)."),
                                     upper, hardware_reason ? hardware_reason : _ ("no reason recorded"));
          else if (hardware_reason != NULL)
            *note = g_strdup_printf (_ ("Using software emulation: %s"), hardware_reason);
          else
            *note = g_strdup_printf (_ ("Using software emulation: %s is not available."), upper);
        }
      /* TCG always comes last: QEMU falls back to it by itself when the
       * hardware accelerator cannot even start. */
      g_array_append_val (plan, tcg);
      break;
    }

  return g_steal_pointer (&plan);
}

GArray *
chronos_accel_plan_for_host (ChronosAccelMode    mode,
                             ChronosFirmwareMode firmware,
                             char              **note,
                             GError            **error)
{
  ChronosAccelKind hardware = chronos_accel_host_hardware_kind ();
  g_autofree char *probe_reason = NULL;
  g_autofree char *memory_reason = NULL;
  gboolean         usable = FALSE;
  gboolean         known_bad = FALSE;

  if (mode != CHRONOS_ACCEL_MODE_TCG)
    {
      usable = chronos_accel_probe (hardware, &probe_reason);
      if (usable && mode == CHRONOS_ACCEL_MODE_AUTO)
        known_bad = chronos_accel_memory_lookup (hardware, firmware, &memory_reason);
    }

  return chronos_accel_plan (mode, hardware, usable, known_bad,
                             known_bad ? memory_reason : probe_reason,
                             note, error);
}
