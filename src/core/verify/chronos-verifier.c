/* chronos-verifier.c: boots a backup headless and judges whether it boots
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The verifier is plumbing around ChronosVerifyJudge: it starts the VM
 * through ChronosVm (same protection and accelerator fallback as a normal
 * boot, but headless and offline), forwards QMP events and the serial log
 * to the judge as they come, and samples the screen every half second
 * (every second after the first 30 s, when a slow guest no longer needs a
 * quick answer). When the judge has decided, it takes the PNG evidence
 * while QEMU still runs, kills the VM (a verification has nothing to save)
 * and waits for ChronosVm to report it gone with its run directory.
 *
 * Times in the verdict count from the moment the guest started running in
 * the launch that was judged, so an accelerator fallback does not inflate
 * "time to first screen"; "seconds" is the whole verification.
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "chronos-accel.h"
#include "chronos-paths.h"
#include "chronos-qemu-error.h"
#include "chronos-screen-sampler.h"
#include "chronos-verifier.h"
#include "chronos-verify-judge.h"
#include "chronos-vm.h"

#define TICK_MS 100
#define SAMPLE_FAST 0.5
#define SAMPLE_SLOW 1.0
#define SAMPLE_FAST_FOR 30.0
/* A hardware accelerator that shows nothing at all for this long is hung
 * (WHPX at the UEFI firmware): restart once on TCG. */
#define NO_SCREEN_FALLBACK 20.0
/* How long to wait for ChronosVm to report the killed QEMU gone. */
#define EXIT_WAIT_MS 20000

struct _ChronosVerifier
{
  GObject parent_instance;

  ChronosQemu     *qemu;
  ChronosVmConfig *config;
  char            *image_path;
  double           settle;
  double           timeout;
  gboolean         network;
  gboolean         save_result;
  char            *screenshot_path;
  ChronosJob      *job;
  char            *frame_path;
  gboolean         started;

  /* One verification. */
  GTask                *task;
  GCancellable         *op_cancellable;
  gulong                job_cancel_id;
  gulong                caller_cancel_id;
  GCancellable         *caller_cancellable;
  ChronosVm            *vm;
  gboolean              vm_starting;
  gboolean              vm_started;
  gboolean              vm_exited;
  ChronosVmExitReason   exit_reason;
  char                 *exit_message;
  ChronosVerification  *result;
  ChronosVerifyJudge   *judge;
  ChronosScreenSampler *sampler;
  char                 *work_dir;
  char                 *serial_path;
  GInputStream         *serial_stream;
  gboolean              serial_busy;
  char                  serial_buf[4096];
  guint                 tick_id;
  guint                 exit_wait_id;
  gint64                verify_start;
  gint64                boot_start;
  double                next_sample;
  gboolean              sampling;
  gboolean              finishing;
  gboolean              fallback_tried;
  GError               *error;
  GDateTime            *started_at;
};

G_DEFINE_FINAL_TYPE (ChronosVerifier, chronos_verifier, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_SETTLE,
  PROP_TIMEOUT,
  PROP_NETWORK,
  PROP_SAVE_RESULT,
  PROP_SCREENSHOT_PATH,
  PROP_JOB,
  PROP_FRAME_PATH,
  N_PROPS
};

enum
{
  SIGNAL_FRAME,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

static void finish (ChronosVerifier *self);
static void check_verdict (ChronosVerifier *self);

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);
        g_unlink (child);
      }
  g_rmdir (path);
}

static void
clear_run (ChronosVerifier *self)
{
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->exit_wait_id, g_source_remove);
  if (self->job_cancel_id != 0)
    g_cancellable_disconnect (chronos_job_get_cancellable (self->job), self->job_cancel_id);
  self->job_cancel_id = 0;
  if (self->caller_cancel_id != 0)
    g_cancellable_disconnect (self->caller_cancellable, self->caller_cancel_id);
  self->caller_cancel_id = 0;
  g_clear_object (&self->caller_cancellable);
  if (self->vm != NULL)
    g_signal_handlers_disconnect_by_data (self->vm, self);
  g_clear_object (&self->vm);
  g_clear_object (&self->sampler);
  g_clear_object (&self->serial_stream);
  g_clear_pointer (&self->judge, chronos_verify_judge_free);
  if (self->work_dir != NULL)
    remove_tree (self->work_dir);
  g_clear_pointer (&self->work_dir, g_free);
  g_clear_pointer (&self->serial_path, g_free);
  g_clear_pointer (&self->exit_message, g_free);
  g_clear_object (&self->op_cancellable);
  g_clear_object (&self->result);
  g_clear_error (&self->error);
  g_clear_pointer (&self->started_at, g_date_time_unref);
}

static void
chronos_verifier_dispose (GObject *object)
{
  ChronosVerifier *self = (ChronosVerifier *)object;

  /* A pending task holds a reference to us, so only a finished (or never
   * started) verification gets here. */
  clear_run (self);

  G_OBJECT_CLASS (chronos_verifier_parent_class)->dispose (object);
}

static void
chronos_verifier_finalize (GObject *object)
{
  ChronosVerifier *self = (ChronosVerifier *)object;

  g_clear_object (&self->qemu);
  g_clear_object (&self->config);
  g_clear_object (&self->job);
  g_clear_pointer (&self->image_path, g_free);
  g_clear_pointer (&self->screenshot_path, g_free);
  g_clear_pointer (&self->frame_path, g_free);

  G_OBJECT_CLASS (chronos_verifier_parent_class)->finalize (object);
}

static void
chronos_verifier_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  ChronosVerifier *self = CHRONOS_VERIFIER (object);

  switch (prop_id)
    {
    case PROP_SETTLE:
      g_value_set_double (value, self->settle);
      break;
    case PROP_TIMEOUT:
      g_value_set_double (value, self->timeout);
      break;
    case PROP_NETWORK:
      g_value_set_boolean (value, self->network);
      break;
    case PROP_SAVE_RESULT:
      g_value_set_boolean (value, self->save_result);
      break;
    case PROP_SCREENSHOT_PATH:
      g_value_set_string (value, self->screenshot_path);
      break;
    case PROP_JOB:
      g_value_set_object (value, self->job);
      break;
    case PROP_FRAME_PATH:
      g_value_set_string (value, self->frame_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_verifier_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  ChronosVerifier *self = CHRONOS_VERIFIER (object);

  switch (prop_id)
    {
    case PROP_SETTLE:
      chronos_verifier_set_settle (self, g_value_get_double (value));
      break;
    case PROP_TIMEOUT:
      chronos_verifier_set_timeout (self, g_value_get_double (value));
      break;
    case PROP_NETWORK:
      chronos_verifier_set_network (self, g_value_get_boolean (value));
      break;
    case PROP_SAVE_RESULT:
      chronos_verifier_set_save_result (self, g_value_get_boolean (value));
      break;
    case PROP_SCREENSHOT_PATH:
      chronos_verifier_set_screenshot_path (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_verifier_class_init (ChronosVerifierClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = chronos_verifier_dispose;
  object_class->finalize = chronos_verifier_finalize;
  object_class->get_property = chronos_verifier_get_property;
  object_class->set_property = chronos_verifier_set_property;

  properties[PROP_SETTLE] =
      g_param_spec_double ("settle", NULL, NULL, 0.5, 3600, CHRONOS_VERIFY_DEFAULT_SETTLE,
                           (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_TIMEOUT] =
      g_param_spec_double ("timeout", NULL, NULL, 1, 24 * 3600, CHRONOS_VERIFY_DEFAULT_TIMEOUT,
                           (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_NETWORK] =
      g_param_spec_boolean ("network", NULL, NULL, FALSE,
                            (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_SAVE_RESULT] =
      g_param_spec_boolean ("save-result", NULL, NULL, TRUE,
                            (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_SCREENSHOT_PATH] =
      g_param_spec_string ("screenshot-path", NULL, NULL, NULL,
                           (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_JOB] =
      g_param_spec_object ("job", NULL, NULL, CHRONOS_TYPE_JOB,
                           (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_FRAME_PATH] =
      g_param_spec_string ("frame-path", NULL, NULL, NULL,
                           (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_FRAME] =
      g_signal_new ("frame", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
chronos_verifier_init (ChronosVerifier *self)
{
  self->settle = CHRONOS_VERIFY_DEFAULT_SETTLE;
  self->timeout = CHRONOS_VERIFY_DEFAULT_TIMEOUT;
  self->save_result = TRUE;
}

ChronosVerifier *
chronos_verifier_new (ChronosQemu     *qemu,
                      ChronosVmConfig *config,
                      const char      *image_path)
{
  ChronosVerifier *self;
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;

  g_return_val_if_fail (CHRONOS_IS_QEMU (qemu), NULL);
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (config), NULL);
  g_return_val_if_fail (image_path != NULL, NULL);

  self = g_object_new (CHRONOS_TYPE_VERIFIER, NULL);
  self->qemu = g_object_ref (qemu);
  self->config = chronos_vm_config_copy (config);
  self->image_path = g_strdup (image_path);

  name = g_path_get_basename (image_path);
  title = g_strdup_printf (_ ("Verifying %s"), name);
  self->job = chronos_job_new (title);

  return self;
}

void
chronos_verifier_set_settle (ChronosVerifier *self,
                             double           seconds)
{
  g_return_if_fail (CHRONOS_IS_VERIFIER (self));
  g_return_if_fail (!self->started);

  seconds = CLAMP (seconds, 0.5, 3600);
  if (self->settle == seconds)
    return;
  self->settle = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SETTLE]);
}

double
chronos_verifier_get_settle (ChronosVerifier *self)
{
  g_return_val_if_fail (CHRONOS_IS_VERIFIER (self), 0);
  return self->settle;
}

void
chronos_verifier_set_timeout (ChronosVerifier *self,
                              double           seconds)
{
  g_return_if_fail (CHRONOS_IS_VERIFIER (self));
  g_return_if_fail (!self->started);

  seconds = CLAMP (seconds, 1, 24 * 3600);
  if (self->timeout == seconds)
    return;
  self->timeout = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

double
chronos_verifier_get_timeout (ChronosVerifier *self)
{
  g_return_val_if_fail (CHRONOS_IS_VERIFIER (self), 0);
  return self->timeout;
}

void
chronos_verifier_set_network (ChronosVerifier *self,
                              gboolean         network)
{
  g_return_if_fail (CHRONOS_IS_VERIFIER (self));

  network = !!network;
  if (self->network == network)
    return;
  self->network = network;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK]);
}

void
chronos_verifier_set_save_result (ChronosVerifier *self,
                                  gboolean         save)
{
  g_return_if_fail (CHRONOS_IS_VERIFIER (self));

  save = !!save;
  if (self->save_result == save)
    return;
  self->save_result = save;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SAVE_RESULT]);
}

void
chronos_verifier_set_screenshot_path (ChronosVerifier *self,
                                      const char      *path)
{
  g_return_if_fail (CHRONOS_IS_VERIFIER (self));

  if (g_strcmp0 (self->screenshot_path, path) == 0)
    return;
  g_free (self->screenshot_path);
  self->screenshot_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCREENSHOT_PATH]);
}

ChronosJob *
chronos_verifier_get_job (ChronosVerifier *self)
{
  g_return_val_if_fail (CHRONOS_IS_VERIFIER (self), NULL);
  return self->job;
}

const char *
chronos_verifier_get_frame_path (ChronosVerifier *self)
{
  g_return_val_if_fail (CHRONOS_IS_VERIFIER (self), NULL);
  return self->frame_path;
}

/* Seconds since the judged launch started running. */
static double
boot_time (ChronosVerifier *self)
{
  return (g_get_monotonic_time () - self->boot_start) / (double)G_TIME_SPAN_SECOND;
}

/* ------------------------------------------------------------ serial log */

static void read_serial (ChronosVerifier *self);

static void
serial_read_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (ChronosVerifier) self = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);

  self->serial_busy = FALSE;
  if (n <= 0 || self->finishing || self->judge == NULL || G_INPUT_STREAM (object) != self->serial_stream)
    return;

  chronos_verify_judge_feed_serial (self->judge, boot_time (self), self->serial_buf, n);
  check_verdict (self);
  if (!self->finishing)
    read_serial (self);
}

/* Reads what the guest wrote since the last time; a file has no "wait for
 * more", so the tick calls this again. */
static void
read_serial (ChronosVerifier *self)
{
  if (self->serial_busy || self->finishing)
    return;

  if (self->serial_stream == NULL)
    {
      g_autoptr (GFile) file = g_file_new_for_path (self->serial_path);

      /* QEMU creates the file when it starts; until then there is nothing. */
      self->serial_stream = (GInputStream *)g_file_read (file, NULL, NULL);
      if (self->serial_stream == NULL)
        return;
    }

  self->serial_busy = TRUE;
  g_input_stream_read_async (self->serial_stream, self->serial_buf, sizeof self->serial_buf,
                             G_PRIORITY_DEFAULT, self->op_cancellable, serial_read_cb,
                             g_object_ref (self));
}

/* ------------------------------------------------------------ screen */

static void
sample_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr (ChronosVerifier) self = user_data;
  g_autoptr (ChronosScreenSample) sample = NULL;
  g_autoptr (GError) error = NULL;
  ChronosScreenSampler *sampler = CHRONOS_SCREEN_SAMPLER (object);
  const char           *path;

  self->sampling = FALSE;
  sample = chronos_screen_sampler_sample_finish (sampler, result, &error);

  /* A sample from before a fallback restart, or after the verdict. */
  if (self->finishing || sampler != self->sampler || self->judge == NULL)
    return;

  if (sample == NULL)
    {
      /* QEMU may have no display surface yet; the next tick tries again,
       * and a QEMU that died reports itself through "exited". */
      g_debug ("screen sample failed: %s", error->message);
      return;
    }

  chronos_verify_judge_feed_frame (self->judge, boot_time (self), &sample->facts, sample->vga_text);

  path = chronos_screen_sampler_get_frame_path (sampler);
  if (g_strcmp0 (self->frame_path, path) != 0)
    {
      g_free (self->frame_path);
      self->frame_path = g_strdup (path);
    }
  /* The file changed even when its name did not. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAME_PATH]);
  g_signal_emit (self, signals[SIGNAL_FRAME], 0, path);

  check_verdict (self);
}

static gboolean
tick_cb (gpointer user_data)
{
  ChronosVerifier *self = user_data;
  double           t;

  if (self->finishing || self->judge == NULL)
    return G_SOURCE_CONTINUE;

  t = boot_time (self);
  chronos_verify_judge_tick (self->judge, t);
  check_verdict (self);
  if (self->finishing)
    return G_SOURCE_CONTINUE;

  read_serial (self);

  /* A hardware accelerator that never shows anything is hung, not slow. */
  if (!self->fallback_tried && t >= NO_SCREEN_FALLBACK &&
      chronos_verify_judge_get_first_screen (self->judge) < 0 &&
      chronos_vm_get_accel (self->vm) != CHRONOS_ACCEL_KIND_TCG &&
      chronos_vm_get_accel (self->vm) != CHRONOS_ACCEL_KIND_UNKNOWN &&
      !chronos_vm_get_fell_back (self->vm))
    {
      g_autofree char *upper = g_ascii_strup (chronos_accel_kind_to_string (chronos_vm_get_accel (self->vm)), -1);
      g_autofree char *reason = g_strdup_printf (_ ("%s showed no screen within %.0f s."), upper, NO_SCREEN_FALLBACK);

      self->fallback_tried = TRUE;
      chronos_vm_fall_back_to_tcg (self->vm, reason);
      return G_SOURCE_CONTINUE;
    }

  if (self->sampler != NULL && !self->sampling && t >= self->next_sample)
    {
      self->sampling = TRUE;
      self->next_sample = t + (t < SAMPLE_FAST_FOR ? SAMPLE_FAST : SAMPLE_SLOW);
      chronos_screen_sampler_sample_async (self->sampler, self->op_cancellable, sample_cb,
                                           g_object_ref (self));
    }

  return G_SOURCE_CONTINUE;
}

/* A launch is running: judge it from scratch. */
static void
begin_boot (ChronosVerifier *self)
{
  ChronosQmp *qmp = chronos_vm_get_qmp (self->vm);

  g_clear_pointer (&self->judge, chronos_verify_judge_free);
  self->judge = chronos_verify_judge_new (self->settle, self->timeout);
  self->boot_start = g_get_monotonic_time ();
  self->next_sample = 0;
  g_clear_object (&self->sampler);
  if (qmp != NULL)
    self->sampler = chronos_screen_sampler_new (qmp, self->work_dir);
  /* QEMU truncates the serial file when it starts again. */
  g_clear_object (&self->serial_stream);
  self->serial_busy = FALSE;
}

/* ------------------------------------------------------------ VM signals */

static void
vm_event_cb (ChronosVm  *vm,
             const char *name,
             JsonObject *data,
             gpointer    user_data)
{
  ChronosVerifier *self = user_data;
  double           t;

  if (self->finishing || self->judge == NULL)
    return;

  t = boot_time (self);
  if (g_strcmp0 (name, "RESET") == 0)
    chronos_verify_judge_feed_event (self->judge, t, CHRONOS_VERIFY_EVENT_RESET);
  else if (g_strcmp0 (name, "SHUTDOWN") == 0 && data != NULL &&
           json_object_get_boolean_member_with_default (data, "guest", FALSE) &&
           g_strcmp0 (json_object_get_string_member_with_default (data, "reason", NULL), "guest-reset") != 0)
    chronos_verify_judge_feed_event (self->judge, t, CHRONOS_VERIFY_EVENT_GUEST_SHUTDOWN);
  else if (g_strcmp0 (name, "GUEST_PANICKED") == 0)
    chronos_verify_judge_feed_event (self->judge, t, CHRONOS_VERIFY_EVENT_PANIC);
  else
    return;

  check_verdict (self);
}

static void
vm_restarted_cb (ChronosVm *vm,
                 gpointer   user_data)
{
  ChronosVerifier *self = user_data;

  if (self->finishing)
    return;

  /* The old QEMU is gone: stop sampling it until the new one runs. */
  g_clear_object (&self->sampler);
  g_clear_pointer (&self->judge, chronos_verify_judge_free);
  chronos_job_set_step (self->job, _ ("Restarting on software emulation"));
}

static void
vm_state_cb (ChronosVm  *vm,
             GParamSpec *pspec,
             gpointer    user_data)
{
  ChronosVerifier *self = user_data;

  if (self->finishing || !self->vm_started)
    return;

  if (self->judge == NULL && chronos_vm_get_state (vm) == CHRONOS_VM_STATE_RUNNING)
    {
      begin_boot (self);
      chronos_job_set_step (self->job, _ ("Waiting for the screen"));
    }
}

static void
vm_exited_cb (ChronosVm          *vm,
              ChronosVmExitReason reason,
              const char         *message,
              gpointer            user_data)
{
  ChronosVerifier *self = user_data;

  self->vm_exited = TRUE;
  self->exit_reason = reason;
  g_free (self->exit_message);
  self->exit_message = g_strdup (message);

  if (!self->finishing)
    {
      double t = self->judge ? boot_time (self) : 0;

      if (self->judge == NULL)
        self->judge = chronos_verify_judge_new (self->settle, self->timeout);
      if (reason == CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN)
        chronos_verify_judge_feed_event (self->judge, t, CHRONOS_VERIFY_EVENT_GUEST_SHUTDOWN);
      else
        chronos_verify_judge_feed_event (self->judge, t, CHRONOS_VERIFY_EVENT_QEMU_EXITED);
      check_verdict (self);
      return;
    }

  /* finish() was waiting for this. */
  finish (self);
}

/* ------------------------------------------------------------ the end */

static const char *
firmware_name (ChronosFirmwareMode mode)
{
  switch (mode)
    {
    case CHRONOS_FIRMWARE_MODE_UEFI:
      return "uefi";
    case CHRONOS_FIRMWARE_MODE_BIOS:
      return "bios";
    case CHRONOS_FIRMWARE_MODE_AUTO:
    default:
      return NULL;
    }
}

static void
complete (ChronosVerifier *self)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->task);

  if (self->error != NULL)
    {
      g_autoptr (GError) error = g_steal_pointer (&self->error);

      chronos_job_complete (self->job, error);
      clear_run (self);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  {
    g_autoptr (ChronosVerification) result = g_steal_pointer (&self->result);
    g_autoptr (GError) save_error = NULL;

    if (self->save_result && !chronos_verification_save (result, &save_error))
      g_warning ("Could not keep the verification result: %s", save_error->message);

    chronos_job_complete (self->job, NULL);
    clear_run (self);
    g_task_return_pointer (task, g_steal_pointer (&result), g_object_unref);
  }
}

static gboolean
exit_wait_timeout_cb (gpointer user_data)
{
  ChronosVerifier *self = user_data;

  self->exit_wait_id = 0;
  g_warning ("QEMU did not end %d s after it was killed", EXIT_WAIT_MS / 1000);
  complete (self);
  return G_SOURCE_REMOVE;
}

/* Stops the VM (if it runs) and completes once ChronosVm says it is gone
 * with its run directory. Re-entered from vm_exited_cb. */
static void
finish (ChronosVerifier *self)
{
  g_assert (self->finishing);

  g_clear_handle_id (&self->tick_id, g_source_remove);

  /* A start in progress ends (and cleans up) by itself once cancelled;
   * start_cb comes back here. */
  if (self->vm_starting)
    return;

  if (self->vm != NULL && self->vm_started && !self->vm_exited)
    {
      if (self->exit_wait_id == 0)
        {
          /* "exited" may come back into finish() from inside the call:
           * keep the VM alive until it returns. */
          g_autoptr (ChronosVm) vm = g_object_ref (self->vm);

          self->exit_wait_id = g_timeout_add (EXIT_WAIT_MS, exit_wait_timeout_cb, self);
          chronos_vm_force_stop (vm);
        }
      return;
    }

  g_clear_handle_id (&self->exit_wait_id, g_source_remove);

  if (self->result != NULL)
    {
      double seconds = (g_get_monotonic_time () - self->verify_start) / (double)G_TIME_SPAN_SECOND;

      chronos_verification_set_accelerator (self->result,
                                            chronos_accel_kind_to_string (chronos_vm_get_accel (self->vm)),
                                            chronos_vm_get_fell_back (self->vm),
                                            chronos_vm_get_fallback_reason (self->vm));
      chronos_verification_set_firmware (self->result, firmware_name (chronos_vm_get_firmware (self->vm)));
      chronos_verification_set_log (self->result, chronos_vm_get_log_path (self->vm));
      chronos_verification_set_timings (self->result, seconds,
                                        chronos_verify_judge_get_first_screen (self->judge),
                                        chronos_verify_judge_get_stable_screen (self->judge),
                                        chronos_verify_judge_get_decided_at (self->judge));
    }

  complete (self);
}

/* Stops everything and fails with @error (cancellation included). */
static void
abort_with (ChronosVerifier *self,
            GError          *error)
{
  if (self->finishing)
    {
      g_error_free (error);
      return;
    }

  self->finishing = TRUE;
  g_cancellable_cancel (self->op_cancellable);
  self->error = error;
  g_clear_object (&self->result);
  finish (self);
}

static char *
evidence_path (ChronosVerifier *self)
{
  g_autofree char *dir = chronos_paths_verify_dir ();

  if (self->screenshot_path != NULL)
    return g_strdup (self->screenshot_path);

  g_mkdir_with_parents (dir, 0700);
  /* A result that is not kept must not replace the kept one's evidence. */
  return chronos_verification_file_for_image (self->image_path, self->save_result ? "png" : "unsaved.png");
}

static void
screenshot_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (ChronosVerifier) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = evidence_path (self);

  if (chronos_screen_sampler_save_png_finish (CHRONOS_SCREEN_SAMPLER (object), result, &error))
    chronos_verification_set_screenshot (self->result, path);
  else
    g_debug ("no screenshot: %s", error->message);

  /* Also keep the per-backup copy the app shows. */
  if (self->screenshot_path != NULL && self->save_result && error == NULL)
    {
      g_autofree char *kept = chronos_verification_file_for_image (self->image_path, "png");
      g_autoptr (GFile) from = g_file_new_for_path (path);
      g_autoptr (GFile) to = g_file_new_for_path (kept);

      g_file_copy (from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, NULL);
    }

  finish (self);
}

static void
check_verdict (ChronosVerifier *self)
{
  ChronosVerdict     verdict;
  ChronosVerifyCause cause;
  const char        *reason;
  g_autofree char   *path = NULL;

  if (self->finishing || self->judge == NULL ||
      !chronos_verify_judge_get_verdict (self->judge, &verdict, &cause, &reason))
    return;

  self->finishing = TRUE;
  g_clear_handle_id (&self->tick_id, g_source_remove);
  chronos_job_set_step (self->job, _ ("Judging"));

  self->result = chronos_verification_new (self->image_path);
  /* QEMU's own words about its end say more than "ended unexpectedly". */
  if (cause == CHRONOS_VERIFY_CAUSE_QEMU_EXITED && self->exit_message != NULL)
    {
      g_autofree char *sentence = g_strdup_printf (_ ("QEMU ended unexpectedly: %s"), self->exit_message);
      chronos_verification_set_result (self->result, verdict, cause, sentence);
    }
  else
    chronos_verification_set_result (self->result, verdict, cause, reason);

  chronos_verification_set_started (self->result, self->started_at);

  path = evidence_path (self);
  if (self->sampler != NULL && !self->vm_exited)
    {
      /* Pending samples and serial reads are of no use any more. */
      g_cancellable_cancel (self->op_cancellable);
      chronos_screen_sampler_save_png_async (self->sampler, path, NULL, screenshot_cb,
                                             g_object_ref (self));
      return;
    }

  /* QEMU is gone (the guest powered off): the last sample is the evidence. */
  if (self->sampler != NULL && chronos_screen_sampler_encode_last_png (self->sampler, path, NULL))
    chronos_verification_set_screenshot (self->result, path);
  finish (self);
}

static void
start_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr (ChronosVerifier) self = user_data;
  g_autoptr (GError) error = NULL;

  self->vm_starting = FALSE;
  if (!chronos_vm_start_finish (CHRONOS_VM (object), result, &error))
    {
      if (self->finishing)
        finish (self);
      else
        abort_with (self, g_steal_pointer (&error));
      return;
    }

  self->vm_started = TRUE;
  if (self->finishing)
    {
      /* Cancelled while starting: the VM runs now and must be stopped. */
      finish (self);
      return;
    }

  chronos_job_set_step (self->job, _ ("Waiting for the screen"));
  begin_boot (self);
  self->tick_id = g_timeout_add (TICK_MS, tick_cb, self);

  /* The VM may have ended between its start and now. */
  if (self->vm_exited)
    vm_exited_cb (self->vm, self->exit_reason, self->exit_message, self);
}

static gboolean
job_cancelled_idle_cb (gpointer user_data)
{
  ChronosVerifier *self = user_data;

  if (self->task != NULL)
    abort_with (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                           _ ("The verification was cancelled.")));
  return G_SOURCE_REMOVE;
}

static void
job_cancelled_cb (GCancellable    *cancellable,
                  ChronosVerifier *self)
{
  g_autoptr (GSource) source = NULL;

  /* Never act inside the cancellable's own emission (it may be another
   * thread, and disconnecting from there deadlocks): continue from an idle
   * in the verification's context. */
  if (self->task == NULL)
    return;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, job_cancelled_idle_cb, g_object_ref (self), g_object_unref);
  g_source_attach (source, g_task_get_context (self->task));
}

static void
caller_cancelled_cb (GCancellable    *cancellable,
                     ChronosVerifier *self)
{
  chronos_job_cancel (self->job);
}

void
chronos_verifier_verify_async (ChronosVerifier    *self,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  g_return_if_fail (CHRONOS_IS_VERIFIER (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (!self->started);

  self->started = TRUE;
  self->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, chronos_verifier_verify_async);
  /* The verdict is returned even if the caller's cancellable fires while the
   * VM is being stopped. */
  g_task_set_check_cancellable (self->task, FALSE);

  self->verify_start = g_get_monotonic_time ();
  self->started_at = g_date_time_ref (now);
  self->op_cancellable = g_cancellable_new ();

  chronos_job_start (self->job);
  chronos_job_set_step (self->job, _ ("Starting VM"));

  self->work_dir = g_dir_make_tmp ("chronos-verify-XXXXXX", &error);
  if (self->work_dir == NULL)
    {
      self->finishing = TRUE;
      self->error = g_steal_pointer (&error);
      complete (self);
      return;
    }

  /* Headless and offline; everything else (protection, accelerator,
   * firmware, memory) as the caller configured it. */
  chronos_vm_config_set_display (self->config, CHRONOS_DISPLAY_MODE_NONE);
  chronos_vm_config_set_network (self->config, self->network);
  if (chronos_vm_config_get_serial_path (self->config) != NULL)
    self->serial_path = g_strdup (chronos_vm_config_get_serial_path (self->config));
  else
    {
      self->serial_path = g_build_filename (self->work_dir, "serial.log", NULL);
      chronos_vm_config_set_serial_path (self->config, self->serial_path);
    }

  self->vm = chronos_vm_new (self->qemu, self->config, self->image_path);
  g_signal_connect (self->vm, "event", G_CALLBACK (vm_event_cb), self);
  g_signal_connect (self->vm, "restarted", G_CALLBACK (vm_restarted_cb), self);
  g_signal_connect (self->vm, "notify::state", G_CALLBACK (vm_state_cb), self);
  g_signal_connect (self->vm, "exited", G_CALLBACK (vm_exited_cb), self);

  self->job_cancel_id = g_cancellable_connect (chronos_job_get_cancellable (self->job),
                                               G_CALLBACK (job_cancelled_cb), self, NULL);
  if (cancellable != NULL)
    {
      self->caller_cancellable = g_object_ref (cancellable);
      self->caller_cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                      self, NULL);
    }

  /* The VM's start is cancelled through the job, like everything else. */
  self->vm_starting = TRUE;
  chronos_vm_start_async (self->vm, self->op_cancellable, start_cb, g_object_ref (self));
}

ChronosVerification *
chronos_verifier_verify_finish (ChronosVerifier *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (CHRONOS_IS_VERIFIER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
