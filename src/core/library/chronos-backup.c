/* chronos-backup.c: one backup image file in the library
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A ChronosBackup is what one row of the browser shows. Its file facts
 * (size, date) and its image info are kept current by the library; the app
 * marks it running and attaches the last verification. The state property
 * is derived from all of these so that every view agrees on it.
 */

#include "config.h"

#include "chronos-backup.h"
#include "chronos-library-enums.h"

struct _ChronosBackup
{
  GObject parent_instance;

  GFile             *file;
  GFile             *folder;
  char              *path;
  char              *display_name;
  gint64             mtime;
  guint64            file_size;
  ChronosImageInfo  *info;
  GError            *error;
  ChronosBackupState state;
  guint              probing : 1;
  guint              running : 1;
  guint              has_verification : 1;
  ChronosVerdict     verdict;
  char              *verify_reason;
  char              *verify_screenshot;
  GDateTime         *verified_at;
};

G_DEFINE_FINAL_TYPE (ChronosBackup, chronos_backup, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_FILE,
  PROP_FOLDER,
  PROP_PATH,
  PROP_DISPLAY_NAME,
  PROP_MTIME,
  PROP_FILE_SIZE,
  PROP_INFO,
  PROP_ERROR_MESSAGE,
  PROP_STATE,
  PROP_PROBING,
  PROP_RUNNING,
  PROP_HAS_VERIFICATION,
  PROP_VERDICT,
  PROP_VERIFY_REASON,
  PROP_VERIFY_SCREENSHOT,
  PROP_VERIFIED_AT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
set_str (char      **dest,
         const char *value)
{
  if (g_strcmp0 (*dest, value) == 0)
    return FALSE;
  g_free (*dest);
  *dest = g_strdup (value);
  return TRUE;
}

static void
update_state (ChronosBackup *self)
{
  ChronosBackupState state;

  if (self->running)
    state = CHRONOS_BACKUP_STATE_RUNNING;
  else if (self->probing)
    state = CHRONOS_BACKUP_STATE_PROBING;
  else if (self->error != NULL)
    state = CHRONOS_BACKUP_STATE_PROBLEM;
  else if (self->has_verification && self->verdict == CHRONOS_VERDICT_BOOTED)
    state = CHRONOS_BACKUP_STATE_VERIFIED;
  else if (self->has_verification)
    state = CHRONOS_BACKUP_STATE_PROBLEM;
  else
    state = CHRONOS_BACKUP_STATE_IDLE;

  if (state != self->state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
}

static void
chronos_backup_constructed (GObject *object)
{
  ChronosBackup   *self = (ChronosBackup *)object;
  g_autofree char *basename = NULL;

  G_OBJECT_CLASS (chronos_backup_parent_class)->constructed (object);

  g_assert (G_IS_FILE (self->file));

  self->path = g_file_get_path (self->file);
  if (self->path == NULL)
    self->path = g_file_get_uri (self->file);
  basename = g_file_get_basename (self->file);
  self->display_name = g_filename_display_name (basename);

  if (self->folder == NULL)
    self->folder = g_file_get_parent (self->file);
}

static void
chronos_backup_finalize (GObject *object)
{
  ChronosBackup *self = (ChronosBackup *)object;

  g_clear_object (&self->file);
  g_clear_object (&self->folder);
  g_clear_object (&self->info);
  g_clear_error (&self->error);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->display_name, g_free);
  g_clear_pointer (&self->verify_reason, g_free);
  g_clear_pointer (&self->verify_screenshot, g_free);
  g_clear_pointer (&self->verified_at, g_date_time_unref);

  G_OBJECT_CLASS (chronos_backup_parent_class)->finalize (object);
}

static void
chronos_backup_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ChronosBackup *self = CHRONOS_BACKUP (object);

  switch (prop_id)
    {
    case PROP_FILE:
      g_value_set_object (value, self->file);
      break;
    case PROP_FOLDER:
      g_value_set_object (value, self->folder);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, self->display_name);
      break;
    case PROP_MTIME:
      g_value_set_int64 (value, self->mtime);
      break;
    case PROP_FILE_SIZE:
      g_value_set_uint64 (value, self->file_size);
      break;
    case PROP_INFO:
      g_value_set_object (value, self->info);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, chronos_backup_get_error_message (self));
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_PROBING:
      g_value_set_boolean (value, self->probing);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    case PROP_HAS_VERIFICATION:
      g_value_set_boolean (value, self->has_verification);
      break;
    case PROP_VERDICT:
      g_value_set_enum (value, self->verdict);
      break;
    case PROP_VERIFY_REASON:
      g_value_set_string (value, self->verify_reason);
      break;
    case PROP_VERIFY_SCREENSHOT:
      g_value_set_string (value, self->verify_screenshot);
      break;
    case PROP_VERIFIED_AT:
      g_value_set_boxed (value, self->verified_at);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_backup_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ChronosBackup *self = CHRONOS_BACKUP (object);

  switch (prop_id)
    {
    case PROP_FILE:
      self->file = g_value_dup_object (value);
      break;
    case PROP_FOLDER:
      self->folder = g_value_dup_object (value);
      break;
    case PROP_RUNNING:
      chronos_backup_set_running (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_backup_class_init (ChronosBackupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = chronos_backup_constructed;
  object_class->finalize = chronos_backup_finalize;
  object_class->get_property = chronos_backup_get_property;
  object_class->set_property = chronos_backup_set_property;

#define RO (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)
  properties[PROP_FILE] =
      g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FOLDER] =
      g_param_spec_object ("folder", NULL, NULL, G_TYPE_FILE,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PATH] =
      g_param_spec_string ("path", NULL, NULL, NULL, RO);
  properties[PROP_DISPLAY_NAME] =
      g_param_spec_string ("display-name", NULL, NULL, NULL, RO);
  properties[PROP_MTIME] =
      g_param_spec_int64 ("mtime", NULL, NULL, G_MININT64, G_MAXINT64, 0, RO);
  properties[PROP_FILE_SIZE] =
      g_param_spec_uint64 ("file-size", NULL, NULL, 0, G_MAXUINT64, 0, RO);
  properties[PROP_INFO] =
      g_param_spec_object ("info", NULL, NULL, CHRONOS_TYPE_IMAGE_INFO, RO);
  properties[PROP_ERROR_MESSAGE] =
      g_param_spec_string ("error-message", NULL, NULL, NULL, RO);
  properties[PROP_STATE] =
      g_param_spec_enum ("state", NULL, NULL, CHRONOS_TYPE_BACKUP_STATE,
                         CHRONOS_BACKUP_STATE_IDLE, RO);
  properties[PROP_PROBING] =
      g_param_spec_boolean ("probing", NULL, NULL, FALSE, RO);
  properties[PROP_RUNNING] =
      g_param_spec_boolean ("running", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_VERIFICATION] =
      g_param_spec_boolean ("has-verification", NULL, NULL, FALSE, RO);
  properties[PROP_VERDICT] =
      g_param_spec_enum ("verdict", NULL, NULL, CHRONOS_TYPE_VERDICT,
                         CHRONOS_VERDICT_BOOTED, RO);
  properties[PROP_VERIFY_REASON] =
      g_param_spec_string ("verify-reason", NULL, NULL, NULL, RO);
  properties[PROP_VERIFY_SCREENSHOT] =
      g_param_spec_string ("verify-screenshot", NULL, NULL, NULL, RO);
  properties[PROP_VERIFIED_AT] =
      g_param_spec_boxed ("verified-at", NULL, NULL, G_TYPE_DATE_TIME, RO);
#undef RO

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
chronos_backup_init (ChronosBackup *self)
{
  self->state = CHRONOS_BACKUP_STATE_IDLE;
}

ChronosBackup *
chronos_backup_new (GFile *file,
                    GFile *folder)
{
  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (folder == NULL || G_IS_FILE (folder), NULL);

  return g_object_new (CHRONOS_TYPE_BACKUP,
                       "file", file,
                       "folder", folder,
                       NULL);
}

GFile *
chronos_backup_get_file (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->file;
}

const char *
chronos_backup_get_path (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->path;
}

GFile *
chronos_backup_get_folder (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->folder;
}

const char *
chronos_backup_get_display_name (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->display_name;
}

gint64
chronos_backup_get_mtime (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), 0);
  return self->mtime;
}

guint64
chronos_backup_get_file_size (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), 0);
  return self->file_size;
}

ChronosImageInfo *
chronos_backup_get_info (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->info;
}

const GError *
chronos_backup_get_error (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->error;
}

const char *
chronos_backup_get_error_message (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->error != NULL ? self->error->message : NULL;
}

ChronosBackupState
chronos_backup_get_state (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), CHRONOS_BACKUP_STATE_IDLE);
  return self->state;
}

gboolean
chronos_backup_get_probing (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), FALSE);
  return self->probing;
}

gboolean
chronos_backup_get_running (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), FALSE);
  return self->running;
}

void
chronos_backup_set_running (ChronosBackup *self,
                            gboolean       running)
{
  g_return_if_fail (CHRONOS_IS_BACKUP (self));

  running = !!running;
  if (self->running == running)
    return;
  self->running = running;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  update_state (self);
}

gboolean
chronos_backup_get_has_verification (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), FALSE);
  return self->has_verification;
}

ChronosVerdict
chronos_backup_get_verdict (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), CHRONOS_VERDICT_FAILED);
  return self->verdict;
}

const char *
chronos_backup_get_verify_reason (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->verify_reason;
}

const char *
chronos_backup_get_verify_screenshot (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->verify_screenshot;
}

GDateTime *
chronos_backup_get_verified_at (ChronosBackup *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP (self), NULL);
  return self->verified_at;
}

void
chronos_backup_set_verification (ChronosBackup *self,
                                 ChronosVerdict verdict,
                                 const char    *reason,
                                 const char    *screenshot,
                                 GDateTime     *verified_at)
{
  GObject *object = (GObject *)self;

  g_return_if_fail (CHRONOS_IS_BACKUP (self));

  g_object_freeze_notify (object);
  if (!self->has_verification)
    {
      self->has_verification = TRUE;
      g_object_notify_by_pspec (object, properties[PROP_HAS_VERIFICATION]);
    }
  if (self->verdict != verdict)
    {
      self->verdict = verdict;
      g_object_notify_by_pspec (object, properties[PROP_VERDICT]);
    }
  if (set_str (&self->verify_reason, reason))
    g_object_notify_by_pspec (object, properties[PROP_VERIFY_REASON]);
  if (set_str (&self->verify_screenshot, screenshot))
    g_object_notify_by_pspec (object, properties[PROP_VERIFY_SCREENSHOT]);
  if (verified_at != self->verified_at)
    {
      g_clear_pointer (&self->verified_at, g_date_time_unref);
      if (verified_at != NULL)
        self->verified_at = g_date_time_ref (verified_at);
      g_object_notify_by_pspec (object, properties[PROP_VERIFIED_AT]);
    }
  update_state (self);
  g_object_thaw_notify (object);
}

void
chronos_backup_clear_verification (ChronosBackup *self)
{
  GObject *object = (GObject *)self;

  g_return_if_fail (CHRONOS_IS_BACKUP (self));

  if (!self->has_verification)
    return;

  g_object_freeze_notify (object);
  self->has_verification = FALSE;
  g_object_notify_by_pspec (object, properties[PROP_HAS_VERIFICATION]);
  if (set_str (&self->verify_reason, NULL))
    g_object_notify_by_pspec (object, properties[PROP_VERIFY_REASON]);
  if (set_str (&self->verify_screenshot, NULL))
    g_object_notify_by_pspec (object, properties[PROP_VERIFY_SCREENSHOT]);
  if (self->verified_at != NULL)
    {
      g_clear_pointer (&self->verified_at, g_date_time_unref);
      g_object_notify_by_pspec (object, properties[PROP_VERIFIED_AT]);
    }
  update_state (self);
  g_object_thaw_notify (object);
}

void
_chronos_backup_set_stat (ChronosBackup *self,
                          gint64         mtime,
                          guint64        file_size)
{
  g_return_if_fail (CHRONOS_IS_BACKUP (self));

  if (self->mtime != mtime)
    {
      self->mtime = mtime;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MTIME]);
    }
  if (self->file_size != file_size)
    {
      self->file_size = file_size;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE_SIZE]);
    }
}

void
_chronos_backup_set_probing (ChronosBackup *self,
                             gboolean       probing)
{
  g_return_if_fail (CHRONOS_IS_BACKUP (self));

  probing = !!probing;
  if (self->probing == probing)
    return;
  self->probing = probing;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROBING]);
  update_state (self);
}

void
_chronos_backup_set_info (ChronosBackup    *self,
                          ChronosImageInfo *info,
                          const GError     *error)
{
  gboolean had_error;

  g_return_if_fail (CHRONOS_IS_BACKUP (self));
  g_return_if_fail (info == NULL || CHRONOS_IS_IMAGE_INFO (info));

  g_object_freeze_notify (G_OBJECT (self));
  if (g_set_object (&self->info, info))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INFO]);

  had_error = self->error != NULL;
  g_clear_error (&self->error);
  if (error != NULL)
    self->error = g_error_copy (error);
  if (had_error || error != NULL)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);

  update_state (self);
  g_object_thaw_notify (G_OBJECT (self));
}
