/* chronos-win32-sharing.h: is a backup image held by Windows or another program
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C, Windows only, no GLib. When Windows attaches a .vhdx (a double
 * click in File Explorer) or a program writes to it, QEMU cannot open it and
 * only says "Could not open ...: Invalid argument"; asking first gives a
 * message a person can act on.
 */

#pragma once

#include "chronos-win32-common.h"

#ifdef __cplusplus
extern "C"
{
#endif

  /* Opens the UTF-8 @path the way a reader that tolerates other readers but
   * no writer does (GENERIC_READ, FILE_SHARE_READ), closes it at once, and
   * returns 0 or the GetLastError() of CreateFileW: ERROR_SHARING_VIOLATION
   * means someone has it open for writing, or exclusively (an attached VHDX).
   * Long paths work (see chronos_win32_path_to_extended()). Reads nothing,
   * writes nothing. */
  unsigned long chronos_win32_sharing_try_open (const char *path);

#ifdef __cplusplus
}
#endif
