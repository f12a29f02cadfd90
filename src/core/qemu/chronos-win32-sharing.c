/* chronos-win32-sharing.c: is a backup image held by Windows or another program
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "chronos-win32-sharing.h"

#include <stdlib.h>
#include <string.h>

#include <windows.h>

_Static_assert(CHRONOS_WIN32_ERROR_SHARING_VIOLATION == ERROR_SHARING_VIOLATION, "winerror.h");
_Static_assert(CHRONOS_WIN32_ERROR_LOCK_VIOLATION == ERROR_LOCK_VIOLATION, "winerror.h");
_Static_assert(CHRONOS_WIN32_ERROR_ACCESS_DENIED == ERROR_ACCESS_DENIED, "winerror.h");

unsigned long
chronos_win32_sharing_try_open (const char *path)
{
  size_t   size;
  char    *extended;
  int      n_wide;
  wchar_t *wide;
  HANDLE   file;
  DWORD    error = 0;

  if (path == NULL || *path == '\0')
    return ERROR_INVALID_PARAMETER;

  /* "\\?\UNC\" is the longest prefix the mapping adds. */
  size = strlen (path) + sizeof "\\\\?\\UNC\\";
  extended = malloc (size);
  if (extended == NULL)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (chronos_win32_path_to_extended (path, extended, size) == 0)
    {
      free (extended);
      return ERROR_INVALID_PARAMETER;
    }

  n_wide = MultiByteToWideChar (CP_UTF8, MB_ERR_INVALID_CHARS, extended, -1, NULL, 0);
  if (n_wide <= 0)
    {
      error = GetLastError ();
      free (extended);
      return error;
    }
  wide = malloc ((size_t)n_wide * sizeof *wide);
  if (wide == NULL)
    {
      free (extended);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
  MultiByteToWideChar (CP_UTF8, MB_ERR_INVALID_CHARS, extended, -1, wide, n_wide);
  free (extended);

  /* FILE_SHARE_READ only: the open fails with a sharing violation exactly
   * when another handle has write access, or denies reading. That is what
   * QEMU's read-only open of the backing file would run into as well. */
  file = CreateFileW (wide, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                      FILE_ATTRIBUTE_NORMAL, NULL);
  if (file == INVALID_HANDLE_VALUE)
    error = GetLastError ();
  else
    CloseHandle (file);

  free (wide);
  return error;
}
