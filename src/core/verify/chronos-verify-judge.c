/* chronos-verify-judge.c: turns what a booting guest shows into a verdict
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The judge is the verifier's brain without its hands: ChronosVerifier
 * feeds it QMP events, serial output and screenshots with their times, and
 * asks after each whether the evidence is enough. Keeping it pure makes
 * every rule testable with synthetic frames and no QEMU.
 *
 * Rules, cheapest evidence first:
 * - QEMU events decide at once: a panic, a guest power-off before a booted
 *   screen, QEMU's internal error, QEMU ending, or RESET_COUNT resets
 *   within RESET_WINDOW seconds (a reset loop).
 * - Firmware words decide once they stay on screen for a second (SeaBIOS
 *   "No bootable device", a boot loader's "BOOTMGR is missing") or as soon
 *   as the serial console shows the UEFI shell or "no bootable option".
 *   Firmware progress words ("SeaBIOS (version", "Booting from") mean
 *   "not yet", however stable the screen is.
 * - A stop-screen blue held for the settle time is a stop screen.
 * - A screen that is not black, not a failure and unchanged for the settle
 *   time is booted. Three seconds by default: long enough to let a boot
 *   logo or a text console scroll on, short enough that a guest done in 3 s
 *   is judged within about 6.
 * - A screen black for BLACK_LIMIT seconds (or half the timeout, if less)
 *   is a black screen: Windows shows black for seconds between stages, not
 *   for a minute.
 * - Otherwise, at the timeout, "timeout", saying what was last seen.
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "chronos-verify-judge.h"

/* Failure words must stay this long on screen: a firmware that tries a CD
 * first says "Boot failed" about it and then boots the disk. */
#define CLUE_HOLD 1.0
/* Serial output kept for matching: the clues are near the end. */
#define SERIAL_KEEP 16384

struct _ChronosVerifyJudge
{
  double settle;
  double timeout;
  double black_limit;

  gboolean           decided;
  ChronosVerdict     verdict;
  ChronosVerifyCause cause;
  char              *reason;
  double             decided_at;

  double first_screen;
  double stable_screen;

  /* The current run of frames that look the same. */
  gboolean           have_anchor;
  ChronosScreenFacts anchor;
  double             anchor_t;
  double             last_frame_t;

  /* How long the current kind of screen has lasted. */
  double          black_since; /* -1: not black */
  double          stop_since;  /* -1: no stop screen */
  ChronosTextClue clue;
  double          clue_since;
  char           *clue_line;
  gboolean        firmware_screen; /* the last frame showed firmware progress */

  GArray  *resets; /* double, times of RESET events */
  GString *serial;
};

ChronosVerifyJudge *
chronos_verify_judge_new (double settle,
                          double timeout)
{
  ChronosVerifyJudge *self = g_new0 (ChronosVerifyJudge, 1);

  g_return_val_if_fail (settle >= 0 && timeout > 0, NULL);

  self->settle = settle;
  self->timeout = timeout;
  self->black_limit = MIN (CHRONOS_VERIFY_BLACK_LIMIT, timeout / 2);
  self->first_screen = -1;
  self->stable_screen = -1;
  self->decided_at = -1;
  self->black_since = -1;
  self->stop_since = -1;
  self->clue_since = -1;
  self->last_frame_t = -1;
  self->resets = g_array_new (FALSE, FALSE, sizeof (double));
  self->serial = g_string_new (NULL);

  return self;
}

void
chronos_verify_judge_free (ChronosVerifyJudge *self)
{
  if (self == NULL)
    return;

  g_free (self->reason);
  g_free (self->clue_line);
  g_array_unref (self->resets);
  g_string_free (self->serial, TRUE);
  g_free (self);
}

static void
decide (ChronosVerifyJudge *self,
        double              t,
        ChronosVerdict      verdict,
        ChronosVerifyCause  cause,
        char               *reason)
{
  if (self->decided)
    {
      g_free (reason);
      return;
    }

  self->decided = TRUE;
  self->verdict = verdict;
  self->cause = cause;
  self->reason = reason;
  self->decided_at = t;
}

static char *
format_seconds (double seconds)
{
  /* Whole seconds read better in a sentence; below 10 s one decimal. */
  if (seconds < 10)
    return g_strdup_printf ("%.1f s", seconds);
  return g_strdup_printf ("%.0f s", seconds);
}

static void
decide_clue (ChronosVerifyJudge *self,
             double              t,
             ChronosTextClue     clue,
             const char         *line)
{
  switch (clue)
    {
    case CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE:
      decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE,
              g_strdup_printf (_ ("firmware: no bootable device (“%s”)"), line));
      break;
    case CHRONOS_TEXT_CLUE_UEFI_SHELL:
      decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE,
              g_strdup_printf (_ ("firmware: no bootable device (UEFI: “%s”)"),
                               line));
      break;
    case CHRONOS_TEXT_CLUE_LOADER_ERROR:
      decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_LOADER_ERROR,
              g_strdup_printf (_ ("boot loader error: “%s”"), line));
      break;
    case CHRONOS_TEXT_CLUE_NONE:
    case CHRONOS_TEXT_CLUE_FIRMWARE:
    default:
      break;
    }
}

static void
check_timeout (ChronosVerifyJudge *self,
               double              t)
{
  g_autofree char *limit = NULL;

  if (self->decided)
    return;

  if (self->black_since >= 0 && t - self->black_since >= self->black_limit)
    {
      g_autofree char *held = format_seconds (t - self->black_since);
      decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_BLACK_SCREEN,
              g_strdup_printf (_ ("the screen stayed black for %s"), held));
      return;
    }

  if (t < self->timeout)
    return;

  limit = format_seconds (self->timeout);
  if (self->last_frame_t < 0)
    decide (self, t, CHRONOS_VERDICT_TIMEOUT, CHRONOS_VERIFY_CAUSE_TIMEOUT,
            g_strdup_printf (_ ("no screen within %s"), limit));
  else if (self->firmware_screen)
    decide (self, t, CHRONOS_VERDICT_TIMEOUT, CHRONOS_VERIFY_CAUSE_TIMEOUT,
            g_strdup_printf (_ ("the firmware was still at work after %s"), limit));
  else
    decide (self, t, CHRONOS_VERDICT_TIMEOUT, CHRONOS_VERIFY_CAUSE_TIMEOUT,
            g_strdup_printf (_ ("the screen did not settle within %s"), limit));
}

void
chronos_verify_judge_feed_frame (ChronosVerifyJudge       *self,
                                 double                    t,
                                 const ChronosScreenFacts *facts,
                                 const char               *vga_text)
{
  g_autofree char *line = NULL;
  ChronosTextClue  clue = CHRONOS_TEXT_CLUE_NONE;

  g_return_if_fail (self != NULL);
  g_return_if_fail (facts != NULL);

  if (self->decided)
    return;

  self->last_frame_t = t;

  /* VGA memory holds stale text after a switch to graphics: trust it only
   * in a text mode. */
  if (vga_text != NULL && facts->text_mode)
    clue = chronos_text_find_clue (vga_text, &line);

  /* Screen sameness, against the first frame of the run so slow drift
   * still counts as change. */
  if (!self->have_anchor || !chronos_screen_same (&self->anchor, facts))
    {
      self->anchor = *facts;
      self->anchor_t = t;
      self->have_anchor = TRUE;
    }

  if (facts->blank)
    {
      if (self->black_since < 0)
        self->black_since = t;
    }
  else
    {
      self->black_since = -1;
      if (self->first_screen < 0)
        self->first_screen = t;
    }

  /* Firmware words. */
  if (clue != self->clue || g_strcmp0 (line, self->clue_line) != 0)
    {
      self->clue = clue;
      self->clue_since = t;
      g_free (self->clue_line);
      self->clue_line = g_strdup (line);
    }
  self->firmware_screen = clue == CHRONOS_TEXT_CLUE_FIRMWARE;

  if (clue == CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE || clue == CHRONOS_TEXT_CLUE_UEFI_SHELL ||
      clue == CHRONOS_TEXT_CLUE_LOADER_ERROR)
    {
      if (t - self->clue_since >= CLUE_HOLD)
        {
          self->stable_screen = self->clue_since;
          decide_clue (self, t, clue, line);
        }
      return;
    }

  /* Stop screen. */
  if (facts->stop_screen)
    {
      if (self->stop_since < 0)
        self->stop_since = t;
      if (t - self->stop_since >= self->settle)
        {
          g_autofree char *held = format_seconds (t - self->stop_since);

          self->stable_screen = self->stop_since;
          decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_STOP_SCREEN,
                  g_strdup_printf (_ ("stop screen: blue screen held %s"), held));
        }
      return;
    }
  self->stop_since = -1;

  if (facts->blank)
    {
      check_timeout (self, t);
      return;
    }

  /* A stable, visible, ordinary screen. */
  if (!self->firmware_screen && t - self->anchor_t >= self->settle)
    {
      g_autofree char *held = format_seconds (t - self->anchor_t);

      self->stable_screen = self->anchor_t;
      decide (self, t, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN,
              g_strdup_printf (_ ("screen stable and non-blank for %s"), held));
      return;
    }

  check_timeout (self, t);
}

void
chronos_verify_judge_feed_serial (ChronosVerifyJudge *self,
                                  double              t,
                                  const char         *data,
                                  gsize               len)
{
  g_autofree char *plain = NULL;
  g_autofree char *line = NULL;
  ChronosTextClue  clue;

  g_return_if_fail (self != NULL);
  g_return_if_fail (data != NULL || len == 0);

  if (self->decided || len == 0)
    return;

  plain = chronos_text_strip_ansi (data, len);
  g_string_append (self->serial, plain);
  if (self->serial->len > SERIAL_KEEP)
    g_string_erase (self->serial, 0, self->serial->len - SERIAL_KEEP);

  /* Only failures count from serial: a booted system may print anything,
   * and the screen says whether it booted. */
  clue = chronos_text_find_clue (self->serial->str, &line);
  if (clue == CHRONOS_TEXT_CLUE_UEFI_SHELL || clue == CHRONOS_TEXT_CLUE_NO_BOOT_DEVICE)
    decide_clue (self, t, clue, line);
}

void
chronos_verify_judge_feed_event (ChronosVerifyJudge *self,
                                 double              t,
                                 ChronosVerifyEvent  event)
{
  g_return_if_fail (self != NULL);

  if (self->decided)
    return;

  switch (event)
    {
    case CHRONOS_VERIFY_EVENT_RESET:
      {
        guint  in_window = 0;
        double oldest = t;

        g_array_append_val (self->resets, t);
        for (guint i = 0; i < self->resets->len; i++)
          {
            double r = g_array_index (self->resets, double, i);

            if (t - r <= CHRONOS_VERIFY_RESET_WINDOW)
              {
                in_window++;
                oldest = MIN (oldest, r);
              }
          }

        if (in_window >= CHRONOS_VERIFY_RESET_COUNT)
          {
            g_autofree char *span = format_seconds (MAX (t - oldest, 0.1));
            decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_RESET_LOOP,
                    g_strdup_printf (_ ("reset loop: %u resets in %s"), in_window, span));
            return;
          }

        /* A new boot: what was on screen before no longer counts. */
        self->have_anchor = FALSE;
        self->stop_since = -1;
        self->clue = CHRONOS_TEXT_CLUE_NONE;
        g_clear_pointer (&self->clue_line, g_free);
      }
      break;

    case CHRONOS_VERIFY_EVENT_GUEST_SHUTDOWN:
      decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_POWERED_OFF,
              g_strdup (_ ("the guest powered itself off before reaching a stable screen")));
      break;

    case CHRONOS_VERIFY_EVENT_PANIC:
      decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_PANIC,
              g_strdup (_ ("the guest crashed (panic)")));
      break;

    case CHRONOS_VERIFY_EVENT_INTERNAL_ERROR:
      decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_INTERNAL_ERROR,
              g_strdup (_ ("QEMU stopped the guest with an internal error")));
      break;

    case CHRONOS_VERIFY_EVENT_QEMU_EXITED:
      decide (self, t, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_QEMU_EXITED,
              g_strdup (_ ("QEMU ended unexpectedly (see its log)")));
      break;

    default:
      g_return_if_reached ();
    }
}

void
chronos_verify_judge_tick (ChronosVerifyJudge *self,
                           double              t)
{
  g_return_if_fail (self != NULL);

  check_timeout (self, t);
}

gboolean
chronos_verify_judge_get_verdict (ChronosVerifyJudge *self,
                                  ChronosVerdict     *verdict,
                                  ChronosVerifyCause *cause,
                                  const char        **reason)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (!self->decided)
    return FALSE;

  if (verdict != NULL)
    *verdict = self->verdict;
  if (cause != NULL)
    *cause = self->cause;
  if (reason != NULL)
    *reason = self->reason;

  return TRUE;
}

double
chronos_verify_judge_get_decided_at (ChronosVerifyJudge *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->decided_at;
}

double
chronos_verify_judge_get_first_screen (ChronosVerifyJudge *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->first_screen;
}

double
chronos_verify_judge_get_stable_screen (ChronosVerifyJudge *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->stable_screen;
}
