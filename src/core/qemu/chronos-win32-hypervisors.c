/* chronos-win32-hypervisors.c: is VirtualBox or VMware running right now
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "chronos-win32-hypervisors.h"

#include <windows.h>
#include <tlhelp32.h>

unsigned int
chronos_win32_hypervisors_running (unsigned long *win32_error)
{
  HANDLE          snapshot;
  PROCESSENTRY32W entry;
  unsigned int    found = 0;
  char            name[MAX_PATH * 3];

  if (win32_error != NULL)
    *win32_error = 0;

  snapshot = CreateToolhelp32Snapshot (TH32CS_SNAPPROCESS, 0);
  if (snapshot == INVALID_HANDLE_VALUE)
    {
      if (win32_error != NULL)
        *win32_error = GetLastError ();
      return 0;
    }

  entry.dwSize = sizeof entry;
  if (Process32FirstW (snapshot, &entry))
    {
      do
        {
          /* Executable names are ASCII for every product we look for; a
           * name that does not convert cannot match. */
          if (WideCharToMultiByte (CP_UTF8, 0, entry.szExeFile, -1, name, sizeof name, NULL, NULL) > 0)
            found |= (unsigned int)chronos_win32_hypervisor_from_process_name (name);
          entry.dwSize = sizeof entry;
        }
      while (Process32NextW (snapshot, &entry));
    }

  CloseHandle (snapshot);
  return found;
}
