/* chronos-win32-common.c: the pure decisions behind the Windows platform files
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * No GLib and no Win32 here (see the header): this file is built on every
 * host and unit-tested on Linux.
 */

#include "chronos-win32-common.h"

#include <string.h>

#define MICROSOFT_HV_VENDOR "Microsoft Hv"

ChronosWin32WhpxVerdict
chronos_win32_whpx_interpret (const ChronosWin32WhpxFacts *facts)
{
  int microsoft_hv;

  if (!facts->dll_loaded)
    {
      /* The DLL is part of the optional feature: without it Windows answers
       * "module not found". Anything else (a damaged file, a policy that
       * blocks it) is not fixed by turning the feature on. */
      if (facts->load_error == CHRONOS_WIN32_ERROR_MOD_NOT_FOUND ||
          facts->load_error == CHRONOS_WIN32_ERROR_FILE_NOT_FOUND ||
          facts->load_error == CHRONOS_WIN32_ERROR_PATH_NOT_FOUND)
        return CHRONOS_WIN32_WHPX_FEATURE_OFF;
      return CHRONOS_WIN32_WHPX_LOAD_FAILED;
    }
  if (!facts->has_entry_points)
    return CHRONOS_WIN32_WHPX_TOO_OLD;
  if (!facts->capability_ok)
    return CHRONOS_WIN32_WHPX_QUERY_FAILED;

  if (!facts->hypervisor_present)
    {
      microsoft_hv = strcmp (facts->cpu_hypervisor_vendor, MICROSOFT_HV_VENDOR) == 0;

      /* This Windows is itself a guest: of another vendor's hypervisor, or
       * of Hyper-V without the privilege to create partitions. Only nested
       * virtualization on the outer host helps. */
      if (facts->cpu_hypervisor_bit && (!microsoft_hv || !facts->cpu_hv_create_partitions))
        return CHRONOS_WIN32_WHPX_NESTED;
      /* PF_VIRT_FIRMWARE_ENABLED says something only while no hypervisor
       * runs, which is the case here. */
      if (!facts->cpu_hypervisor_bit && facts->firmware_virtualization == 0)
        return CHRONOS_WIN32_WHPX_FIRMWARE_OFF;
      return CHRONOS_WIN32_WHPX_NOT_RUNNING;
    }

  /* A negative HRESULT is a failure (FAILED()); S_FALSE would be success. */
  if (facts->partition_tried && facts->partition_hresult < 0)
    return CHRONOS_WIN32_WHPX_PARTITION_FAILED;

  return CHRONOS_WIN32_WHPX_USABLE;
}

static int
ascii_tolower (int c)
{
  return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int
ascii_strcaseeq (const char *a,
                 const char *b)
{
  while (*a != '\0' && *b != '\0')
    {
      if (ascii_tolower ((unsigned char)*a) != ascii_tolower ((unsigned char)*b))
        return 0;
      a++;
      b++;
    }
  return *a == '\0' && *b == '\0';
}

ChronosWin32Hypervisor
chronos_win32_hypervisor_from_process_name (const char *name)
{
  /* VBoxSVC.exe serves every VirtualBox VM and lives while one runs (and a
   * few seconds after the manager closes); VirtualBoxVM.exe (6.0 and later)
   * and VBoxHeadless.exe are the VM processes themselves. vmware-vmx.exe is
   * VMware's VM process; vmware.exe alone (the manager) runs no VM. */
  static const struct
  {
    const char            *exe;
    ChronosWin32Hypervisor kind;
  } known[] = {
    { "VBoxSVC.exe", CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX },
    { "VirtualBoxVM.exe", CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX },
    { "VBoxHeadless.exe", CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX },
    { "vmware-vmx.exe", CHRONOS_WIN32_HYPERVISOR_VMWARE },
  };
  const char *base;
  const char *p;
  size_t      i;

  if (name == NULL)
    return CHRONOS_WIN32_HYPERVISOR_NONE;

  base = name;
  for (p = name; *p != '\0'; p++)
    if (*p == '\\' || *p == '/')
      base = p + 1;

  for (i = 0; i < sizeof known / sizeof known[0]; i++)
    if (ascii_strcaseeq (base, known[i].exe))
      return known[i].kind;
  return CHRONOS_WIN32_HYPERVISOR_NONE;
}

ChronosWin32OpenResult
chronos_win32_classify_open_error (unsigned long win32_error)
{
  switch (win32_error)
    {
    case 0:
      return CHRONOS_WIN32_OPEN_OK;
    case CHRONOS_WIN32_ERROR_SHARING_VIOLATION:
    case CHRONOS_WIN32_ERROR_LOCK_VIOLATION:
      return CHRONOS_WIN32_OPEN_IN_USE;
    case CHRONOS_WIN32_ERROR_ACCESS_DENIED:
      return CHRONOS_WIN32_OPEN_ACCESS_DENIED;
    case CHRONOS_WIN32_ERROR_FILE_NOT_FOUND:
    case CHRONOS_WIN32_ERROR_PATH_NOT_FOUND:
      return CHRONOS_WIN32_OPEN_NOT_FOUND;
    default:
      return CHRONOS_WIN32_OPEN_OTHER;
    }
}

static int
is_separator (char c)
{
  return c == '\\' || c == '/';
}

/* Whether a component of @path (between separators) is "." or "..". */
static int
has_dot_component (const char *path)
{
  const char *start = path;
  const char *p;

  for (p = path;; p++)
    {
      if (*p == '\0' || is_separator (*p))
        {
          size_t len = (size_t)(p - start);

          if ((len == 1 && start[0] == '.') || (len == 2 && start[0] == '.' && start[1] == '.'))
            return 1;
          if (*p == '\0')
            return 0;
          start = p + 1;
        }
    }
}

/* Appends @src with slashes turned into backslashes. */
static int
append_turned (char       *out,
               size_t      out_size,
               size_t     *len,
               const char *src)
{
  for (; *src != '\0'; src++)
    {
      if (*len + 1 >= out_size)
        return 0;
      out[(*len)++] = *src == '/' ? '\\' : *src;
    }
  out[*len] = '\0';
  return 1;
}

size_t
chronos_win32_path_to_extended (const char *path,
                                char       *out,
                                size_t      out_size)
{
  size_t      len = 0;
  const char *prefix = "";
  const char *rest = path;

  if (path == NULL || *path == '\0' || out == NULL || out_size == 0)
    return 0;
  out[0] = '\0';

  if (is_separator (path[0]) && is_separator (path[1]) &&
      (path[2] == '?' || path[2] == '.') && is_separator (path[3]))
    {
      /* Already a device or extended path: Windows takes it as it is. */
      prefix = "";
    }
  else if (has_dot_component (path))
    {
      prefix = "";
    }
  else if (((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' && path[0] <= 'z')) &&
           path[1] == ':' && is_separator (path[2]))
    {
      prefix = "\\\\?\\";
    }
  else if (is_separator (path[0]) && is_separator (path[1]) &&
           path[2] != '\0' && !is_separator (path[2]))
    {
      /* \\server\share\... -> \\?\UNC\server\share\... */
      prefix = "\\\\?\\UNC\\";
      rest = path + 2;
    }

  if (!append_turned (out, out_size, &len, prefix) ||
      !append_turned (out, out_size, &len, rest))
    {
      out[0] = '\0';
      return 0;
    }
  return len;
}
