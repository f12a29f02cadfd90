/* provision-test-util.h: a loopback SoupServer with faults, and archive builders
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  TEST_SERVE_NORMAL,        /* 200, or 206 for a Range request */
  TEST_SERVE_IGNORE_RANGE,  /* always 200 with the whole file */
  TEST_SERVE_TRUNCATE_ONCE, /* first request: full Content-Length, half the body, close */
  TEST_SERVE_TRUNCATE_ALWAYS,
  TEST_SERVE_STALL,    /* headers and 64 KiB, then nothing (connection held open) */
  TEST_SERVE_SLOW,     /* 64 KiB every 50 ms */
  TEST_SERVE_STATUS,   /* answer with a status code only */
  TEST_SERVE_REDIRECT, /* 302 to a location */
} TestServeMode;

typedef struct _TestServer TestServer;

TestServer *test_server_new (void);
/* The same over HTTPS with @certificate (self-signed: clients must refuse it). */
TestServer *test_server_new_https (GTlsCertificate *certificate);
void        test_server_free (TestServer *server);
const char *test_server_get_base_url (TestServer *server);
/* Serves @data at @path (starting with "/") in @mode. @status is the code
 * for TEST_SERVE_STATUS; @location the target for TEST_SERVE_REDIRECT. */
void test_server_add (TestServer   *server,
                      const char   *path,
                      GBytes       *data,
                      TestServeMode mode,
                      guint         status,
                      const char   *location);
/* Body bytes sent for @path, requests for it, and Range requests among them. */
guint64 test_server_bytes_sent (TestServer *server,
                                const char *path);
guint   test_server_requests (TestServer *server,
                              const char *path);
guint   test_server_range_requests (TestServer *server,
                                    const char *path);

/* A port on 127.0.0.1 where nothing listens. */
guint test_free_port (void);

typedef enum
{
  TEST_ENTRY_FILE,
  TEST_ENTRY_DIR,
  TEST_ENTRY_SYMLINK,
  TEST_ENTRY_HARDLINK,
  TEST_ENTRY_FIFO,
  TEST_ENTRY_CHARDEV,
} TestEntryType;

typedef struct
{
  const char   *name;
  TestEntryType type;
  GBytes       *data;      /* files; NULL for an empty file */
  const char   *source;    /* files: read the content from this path instead */
  const char   *link;      /* symlink or hardlink target */
  guint64       zero_size; /* files: this many zero bytes instead (bombs) */
  guint         mode;      /* 0: 0644 / 0755 */
} TestEntry;

/* Writes an archive of @format ("zip", "7z", "tar.zst", "tar.xz",
 * "tar.gz") with @n_entries entries. */
gboolean test_archive_write (const char      *path,
                             const char      *format,
                             const TestEntry *entries,
                             guint            n_entries,
                             GError         **error);
char    *test_sha256_file (const char *path,
                           guint64    *size);
GBytes  *test_random_bytes (gsize size);
/* A manifest (schema 1) with one qemu component for this host. */
char *test_manifest_json (const char *url,
                          const char *version,
                          guint64     size,
                          const char *sha256,
                          const char *format,
                          guint       strip,
                          const char *system,
                          const char *img,
                          const char *firmware_dir);
/* Names in @dir, sorted, joined with ",": what a test expects to be left. */
char *test_list_dir (const char *dir);
void  test_remove_tree (const char *path);

G_END_DECLS
