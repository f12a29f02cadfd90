/* libintl.h: gettext's declarations, only for syntax checks of Windows builds
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * MSYS2 builds take libintl.h from its gettext package; MinGW-w64 on Debian
 * has none. These are the same prototypes, so <glib/gi18n-lib.h> parses in
 * tests/win32/mingw-syntax-check.sh. Never linked.
 */

#ifndef CHRONOS_TEST_LIBINTL_H
#define CHRONOS_TEST_LIBINTL_H

#ifdef __cplusplus
extern "C" {
#endif

char *gettext (const char *msgid);
char *dgettext (const char *domainname, const char *msgid);
char *dcgettext (const char *domainname, const char *msgid, int category);
char *ngettext (const char *msgid1, const char *msgid2, unsigned long int n);
char *dngettext (const char *domainname, const char *msgid1, const char *msgid2, unsigned long int n);
char *dcngettext (const char *domainname, const char *msgid1, const char *msgid2, unsigned long int n, int category);
char *textdomain (const char *domainname);
char *bindtextdomain (const char *domainname, const char *dirname);
char *bind_textdomain_codeset (const char *domainname, const char *codeset);

#ifdef __cplusplus
}
#endif

#endif
