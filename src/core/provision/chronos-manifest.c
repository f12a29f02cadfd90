/* chronos-manifest.c: the QEMU download manifest and its components
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The manifest says which bundle to download for which OS and
 * architecture, how large it is and what its SHA-256 is. The default
 * manifest is compiled into Chronos as a GResource, so its checksums are
 * the trust root; another manifest (an internal mirror) can be fetched
 * over HTTPS. Everything in it is untrusted input: each field is checked
 * here so that the downloader and extractor only see sane values.
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "chronos-downloader.h"
#include "chronos-manifest.h"
#include "chronos-provision-resources.h"

#define DEFAULT_MANIFEST_RESOURCE "/org/chronos/Chronos/provision/default-manifest.json"
#define MAX_STRIP_COMPONENTS 8

struct _ChronosManifest
{
  GObject parent_instance;

  char      *source;
  GPtrArray *components;
};

G_DEFINE_FINAL_TYPE (ChronosManifest, chronos_manifest, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (ChronosManifestComponent, chronos_manifest_component, chronos_manifest_component_ref, chronos_manifest_component_unref)

ChronosManifestComponent *
chronos_manifest_component_ref (ChronosManifestComponent *component)
{
  g_return_val_if_fail (component != NULL, NULL);

  g_atomic_ref_count_inc (&component->ref_count);
  return component;
}

void
chronos_manifest_component_unref (ChronosManifestComponent *component)
{
  g_return_if_fail (component != NULL);

  if (!g_atomic_ref_count_dec (&component->ref_count))
    return;

  g_free (component->id);
  g_free (component->version);
  g_free (component->os);
  g_free (component->arch);
  g_free (component->url);
  g_strfreev (component->mirrors);
  g_free (component->sha256);
  g_free (component->format);
  g_free (component->file_system);
  g_free (component->file_img);
  g_free (component->file_firmware_dir);
  g_free (component);
}

static void
chronos_manifest_finalize (GObject *object)
{
  ChronosManifest *self = (ChronosManifest *)object;

  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->components, g_ptr_array_unref);

  G_OBJECT_CLASS (chronos_manifest_parent_class)->finalize (object);
}

static void
chronos_manifest_class_init (ChronosManifestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chronos_manifest_finalize;
}

static void
chronos_manifest_init (ChronosManifest *self)
{
  self->components = g_ptr_array_new_with_free_func ((GDestroyNotify)chronos_manifest_component_unref);
}

static gboolean
invalid (GError    **error,
         guint       index,
         const char *format,
         ...) G_GNUC_PRINTF (3, 4);

/* Every validation error reads "The QEMU manifest is not valid: component
 * N …" so that an admin editing a mirror's manifest finds the spot. */
static gboolean
invalid (GError    **error,
         guint       index,
         const char *format,
         ...)
{
  g_autofree char *what = NULL;
  va_list          args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  if (index == G_MAXUINT)
    g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INVALID_MANIFEST,
                 _ ("The QEMU manifest is not valid: %s."), what);
  else
    g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INVALID_MANIFEST,
                 _ ("The QEMU manifest is not valid: component %u %s."), index + 1, what);
  return FALSE;
}

static gboolean
get_string (JsonObject *object,
            const char *name,
            guint       index,
            gboolean    required,
            char      **out,
            GError    **error)
{
  JsonNode   *node = json_object_get_member (object, name);
  const char *value;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (required)
        return invalid (error, index, _ ("has no “%s” field"), name);
      *out = NULL;
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return invalid (error, index, _ ("has a “%s” field that is not a string"), name);

  value = json_node_get_string (node);
  if (value == NULL || *value == '\0')
    return invalid (error, index, _ ("has an empty “%s” field"), name);
  if (!g_utf8_validate (value, -1, NULL))
    return invalid (error, index, _ ("has a “%s” field that is not UTF-8"), name);

  *out = g_strdup (value);
  return TRUE;
}

static gboolean
get_int (JsonObject *object,
         const char *name,
         guint       index,
         gboolean    required,
         gint64     *out,
         GError    **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    {
      if (required)
        return invalid (error, index, _ ("has no “%s” field"), name);
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return invalid (error, index, _ ("has a “%s” field that is not a whole number"), name);

  *out = json_node_get_int (node);
  return TRUE;
}

/* A relative path that cannot leave the install directory on any OS:
 * no absolute or drive paths, no backslashes, no "." or ".." parts. */
gboolean
chronos_manifest_is_safe_relative_path (const char *path)
{
  g_auto (GStrv) parts = NULL;

  if (path == NULL || *path == '\0' || path[0] == '/' || strchr (path, '\\') != NULL ||
      strchr (path, ':') != NULL || !g_utf8_validate (path, -1, NULL))
    return FALSE;

  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0 || strcmp (parts[i], "..") == 0)
        return FALSE;
    }

  return TRUE;
}

static gboolean
is_sha256_hex (const char *text)
{
  if (strlen (text) != 64)
    return FALSE;
  for (const char *p = text; *p; p++)
    {
      if (!g_ascii_isxdigit (*p))
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_known_format (const char *format)
{
  static const char *const formats[] = { "zip", "7z", "tar.zst", "tar.xz", "tar.gz" };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      if (strcmp (format, formats[i]) == 0)
        return TRUE;
    }
  return FALSE;
}

static ChronosManifestComponent *
parse_component (JsonNode *node,
                 guint     index,
                 GError  **error)
{
  g_autoptr (ChronosManifestComponent) c = g_new0 (ChronosManifestComponent, 1);
  JsonObject *object;
  JsonObject *files;
  JsonNode   *member;
  gint64      size = -1;
  gint64      strip = 0;

  g_atomic_ref_count_init (&c->ref_count);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      invalid (error, index, _ ("is not an object"));
      return NULL;
    }
  object = json_node_get_object (node);

  if (!get_string (object, "id", index, TRUE, &c->id, error) ||
      !get_string (object, "version", index, TRUE, &c->version, error) ||
      !get_string (object, "os", index, TRUE, &c->os, error) ||
      !get_string (object, "arch", index, TRUE, &c->arch, error) ||
      !get_string (object, "url", index, TRUE, &c->url, error) ||
      !get_string (object, "sha256", index, TRUE, &c->sha256, error) ||
      !get_string (object, "format", index, TRUE, &c->format, error) ||
      !get_int (object, "size", index, TRUE, &size, error) ||
      !get_int (object, "strip_components", index, FALSE, &strip, error))
    return NULL;

  if (!chronos_manifest_check_url (c->url, NULL))
    {
      invalid (error, index, _ ("has a “url” that is neither HTTPS nor plain HTTP to this computer: %s"), c->url);
      return NULL;
    }
  if (size <= 0)
    {
      invalid (error, index, _ ("has a “size” of %lld, but it must be larger than 0"), (long long)size);
      return NULL;
    }
  c->size = (guint64)size;
  if (!is_sha256_hex (c->sha256))
    {
      invalid (error, index, _ ("has a “sha256” that is not 64 hexadecimal digits"));
      return NULL;
    }
  {
    char *lower = g_ascii_strdown (c->sha256, -1);
    g_free (c->sha256);
    c->sha256 = lower;
  }
  if (!is_known_format (c->format))
    {
      invalid (error, index, _ ("has an unknown “format” “%s” (known: zip, 7z, tar.zst, tar.xz, tar.gz)"), c->format);
      return NULL;
    }
  if (strip < 0 || strip > MAX_STRIP_COMPONENTS)
    {
      invalid (error, index, _ ("has a “strip_components” of %lld, but it must be between 0 and %d"),
               (long long)strip, MAX_STRIP_COMPONENTS);
      return NULL;
    }
  c->strip_components = (guint)strip;

  member = json_object_get_member (object, "mirrors");
  if (member != NULL && !JSON_NODE_HOLDS_NULL (member))
    {
      g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (member))
        {
          invalid (error, index, _ ("has a “mirrors” field that is not a list"));
          return NULL;
        }
      array = json_node_get_array (member);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *m = json_array_get_element (array, i);

          if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
            {
              invalid (error, index, _ ("has a mirror that is not a string"));
              return NULL;
            }
          if (!chronos_manifest_check_url (json_node_get_string (m), NULL))
            {
              invalid (error, index, _ ("has a mirror that is neither HTTPS nor plain HTTP to this computer: %s"),
                       json_node_get_string (m));
              return NULL;
            }
          g_strv_builder_add (builder, json_node_get_string (m));
        }
      c->mirrors = g_strv_builder_end (builder);
    }
  else
    c->mirrors = g_new0 (char *, 1);

  member = json_object_get_member (object, "files");
  if (member == NULL)
    {
      invalid (error, index, _ ("has no “files” field"));
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (member))
    {
      invalid (error, index, _ ("has a “files” field that is not an object"));
      return NULL;
    }
  files = json_node_get_object (member);
  if (!get_string (files, "system", index, TRUE, &c->file_system, error) ||
      !get_string (files, "img", index, TRUE, &c->file_img, error) ||
      !get_string (files, "firmware_dir", index, FALSE, &c->file_firmware_dir, error))
    return NULL;

  {
    const char *paths[] = { c->file_system, c->file_img, c->file_firmware_dir };

    for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
      {
        if (paths[i] != NULL && !chronos_manifest_is_safe_relative_path (paths[i]))
          {
            invalid (error, index, _ ("names the file “%s”, which is not a safe relative path"), paths[i]);
            return NULL;
          }
      }
  }

  return g_steal_pointer (&c);
}

static ChronosManifest *
manifest_new_from_data (const char *data,
                        gssize      length,
                        const char *source,
                        GError    **error)
{
  g_autoptr (ChronosManifest) self = NULL;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  JsonObject *root;
  JsonNode   *node;
  gint64      schema = 0;
  JsonArray  *components;

  if (length < 0)
    length = strlen (data);
  if (length > CHRONOS_MANIFEST_MAX_SIZE)
    {
      invalid (error, G_MAXUINT, _ ("it is larger than 1 MiB"));
      return NULL;
    }

  if (!json_parser_load_from_data (parser, data, length, &local_error))
    {
      /* json-glib quotes the offending token, which for a bad \u escape
       * is not UTF-8; the message ends up in a GTK label. */
      g_autofree char *detail = g_utf8_make_valid (local_error->message, -1);

      invalid (error, G_MAXUINT, _ ("it is not JSON (%s)"), detail);
      return NULL;
    }

  node = json_parser_get_root (parser);
  if (node == NULL)
    {
      invalid (error, G_MAXUINT, _ ("it is empty"));
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      invalid (error, G_MAXUINT, _ ("the top level is not an object"));
      return NULL;
    }
  root = json_node_get_object (node);

  if (!get_int (root, "schema", G_MAXUINT, TRUE, &schema, &local_error))
    {
      invalid (error, G_MAXUINT, _ ("it has no whole-number “schema” field"));
      return NULL;
    }
  if (schema != 1)
    {
      invalid (error, G_MAXUINT, _ ("schema %lld is not supported (this Chronos reads schema 1)"), (long long)schema);
      return NULL;
    }

  node = json_object_get_member (root, "components");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      invalid (error, G_MAXUINT, _ ("it has no “components” list"));
      return NULL;
    }
  components = json_node_get_array (node);

  self = g_object_new (CHRONOS_TYPE_MANIFEST, NULL);
  self->source = g_strdup (source);
  for (guint i = 0; i < json_array_get_length (components); i++)
    {
      ChronosManifestComponent *c = parse_component (json_array_get_element (components, i), i, error);

      if (c == NULL)
        return NULL;
      g_ptr_array_add (self->components, c);
    }

  return g_steal_pointer (&self);
}

/**
 * chronos_manifest_new_from_data:
 * @length: the length of @data, or -1 when it is nul-terminated
 *
 * Parses and validates a manifest. Any problem is a
 * %CHRONOS_PROVISION_ERROR_INVALID_MANIFEST naming the field.
 */
ChronosManifest *
chronos_manifest_new_from_data (const char *data,
                                gssize      length,
                                GError    **error)
{
  g_return_val_if_fail (data != NULL, NULL);

  return manifest_new_from_data (data, length, NULL, error);
}

/* The manifest compiled into Chronos: the trust root. */
ChronosManifest *
chronos_manifest_new_default (GError **error)
{
  g_autoptr (GBytes) bytes = NULL;
  ChronosManifest *self;

  bytes = g_resource_lookup_data (chronos_provision_get_resource (), DEFAULT_MANIFEST_RESOURCE,
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (bytes == NULL)
    return NULL;

  self = manifest_new_from_data (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                 "resource://" DEFAULT_MANIFEST_RESOURCE, error);
  return self;
}

static void
load_fetch_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  ChronosManifest *self;

  bytes = chronos_downloader_fetch_finish (CHRONOS_DOWNLOADER (object), result, &error);
  if (bytes == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  self = manifest_new_from_data (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                 g_task_get_task_data (task), &error);
  if (self == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, self, g_object_unref);
}

/**
 * chronos_manifest_load_async:
 *
 * Fetches a manifest from @url (HTTPS, or plain HTTP to this computer)
 * with the same redirect and timeout rules as the bundle download.
 */
void
chronos_manifest_load_async (const char         *url,
                             GCancellable       *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (ChronosDownloader) downloader = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (url != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, chronos_manifest_load_async);
  g_task_set_task_data (task, g_strdup (url), g_free);

  if (!chronos_manifest_check_url (url, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  downloader = chronos_downloader_new ();
  chronos_downloader_fetch_async (downloader, url, CHRONOS_MANIFEST_MAX_SIZE, cancellable,
                                  load_fetch_cb, g_steal_pointer (&task));
}

ChronosManifest *
chronos_manifest_load_finish (GAsyncResult *result,
                              GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Where the manifest came from (a URL), or NULL for data given directly. */
const char *
chronos_manifest_get_source (ChronosManifest *self)
{
  g_return_val_if_fail (CHRONOS_IS_MANIFEST (self), NULL);
  return self->source;
}

guint
chronos_manifest_get_n_components (ChronosManifest *self)
{
  g_return_val_if_fail (CHRONOS_IS_MANIFEST (self), 0);
  return self->components->len;
}

ChronosManifestComponent *
chronos_manifest_get_component (ChronosManifest *self,
                                guint            index)
{
  g_return_val_if_fail (CHRONOS_IS_MANIFEST (self), NULL);
  g_return_val_if_fail (index < self->components->len, NULL);
  return g_ptr_array_index (self->components, index);
}

static const char *
os_display_name (const char *os)
{
  if (g_strcmp0 (os, "windows") == 0)
    return "Windows";
  if (g_strcmp0 (os, "linux") == 0)
    return "Linux";
  if (g_strcmp0 (os, "macos") == 0)
    return "macOS";
  return os;
}

/**
 * chronos_manifest_find_component:
 * @os: (nullable): defaults to chronos_manifest_host_os()
 * @arch: (nullable): defaults to chronos_manifest_host_arch()
 *
 * Returns: (transfer none): the component, or %NULL with
 *   %CHRONOS_PROVISION_ERROR_NO_COMPONENT. The caller adds how to get
 *   QEMU another way (the distribution's package) to that message.
 */
ChronosManifestComponent *
chronos_manifest_find_component (ChronosManifest *self,
                                 const char      *id,
                                 const char      *os,
                                 const char      *arch,
                                 GError         **error)
{
  g_return_val_if_fail (CHRONOS_IS_MANIFEST (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (os == NULL)
    os = chronos_manifest_host_os ();
  if (arch == NULL)
    arch = chronos_manifest_host_arch ();

  for (guint i = 0; i < self->components->len; i++)
    {
      ChronosManifestComponent *c = g_ptr_array_index (self->components, i);

      if (strcmp (c->id, id) == 0 && strcmp (c->os, os) == 0 && strcmp (c->arch, arch) == 0)
        return c;
    }

  g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_NO_COMPONENT,
               _ ("No QEMU bundle is published for %s %s"), os_display_name (os), arch);
  return NULL;
}

/* The manifest's names for this OS, decided at build time. */
const char *
chronos_manifest_host_os (void)
{
#if defined(G_OS_WIN32)
  return "windows";
#elif defined(__APPLE__)
  return "macos";
#elif defined(__linux__)
  return "linux";
#else
  return "unknown";
#endif
}

const char *
chronos_manifest_host_arch (void)
{
#if defined(__x86_64__) || defined(_M_X64)
  return "x86_64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  return "aarch64";
#else
  return "unknown";
#endif
}

/**
 * chronos_manifest_check_url:
 *
 * Manifests and bundles come over HTTPS. Plain HTTP is allowed only to
 * this computer (localhost, 127.0.0.0/8, ::1), which tests and a local
 * mirror use; the SHA-256 from the trusted manifest still guards the
 * bundle, but a manifest fetched over plain HTTP from elsewhere could
 * name any bundle and checksum.
 */
gboolean
chronos_manifest_check_url (const char *url,
                            GError    **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GInetAddress) address = NULL;
  const char *scheme;
  const char *host;

  g_return_val_if_fail (url != NULL, FALSE);

  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_SCHEME_NORMALIZE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INSECURE_URL,
                   _ ("“%s” is not a web address (https://…)."), url);
      return FALSE;
    }

  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);

  if (g_ascii_strcasecmp (scheme, "https") == 0)
    return TRUE;

  if (g_ascii_strcasecmp (scheme, "http") == 0)
    {
      if (g_ascii_strcasecmp (host, "localhost") == 0)
        return TRUE;
      address = g_inet_address_new_from_string (host);
      if (address != NULL && g_inet_address_get_is_loopback (address))
        return TRUE;

      g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INSECURE_URL,
                   _ ("Chronos downloads QEMU only over HTTPS; “%s” uses plain HTTP to another computer."),
                   url);
      return FALSE;
    }

  g_set_error (error, CHRONOS_PROVISION_ERROR, CHRONOS_PROVISION_ERROR_INSECURE_URL,
               _ ("Chronos downloads QEMU only over HTTPS; “%s” uses “%s”."), url, scheme);
  return FALSE;
}
