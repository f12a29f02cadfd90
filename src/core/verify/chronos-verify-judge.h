/* chronos-verify-judge.h: turns what a booting guest shows into a verdict
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "chronos-screen.h"
#include "chronos-screen-text.h"
#include "chronos-verification.h"

G_BEGIN_DECLS

/* Defaults: quick for a guest that is done in seconds, patient enough for
 * a real Windows. See chronos-verify-judge.c for why. */
#define CHRONOS_VERIFY_DEFAULT_SETTLE 3.0
#define CHRONOS_VERIFY_DEFAULT_TIMEOUT 120.0
/* A black screen is a failure after this long, or half the timeout. */
#define CHRONOS_VERIFY_BLACK_LIMIT 60.0
/* This many resets within the window is a reset loop. */
#define CHRONOS_VERIFY_RESET_COUNT 5
#define CHRONOS_VERIFY_RESET_WINDOW 30.0

typedef enum
{
  CHRONOS_VERIFY_EVENT_RESET,          /* QMP RESET */
  CHRONOS_VERIFY_EVENT_GUEST_SHUTDOWN, /* QMP SHUTDOWN with guest: true */
  CHRONOS_VERIFY_EVENT_PANIC,          /* QMP GUEST_PANICKED */
  CHRONOS_VERIFY_EVENT_INTERNAL_ERROR, /* run state internal-error, no fallback left */
  CHRONOS_VERIFY_EVENT_QEMU_EXITED,    /* the QEMU process ended by itself */
} ChronosVerifyEvent;

typedef struct _ChronosVerifyJudge ChronosVerifyJudge;

/* @settle: seconds a screen must stay unchanged to count as booted;
 * @timeout: seconds after which nothing decided is "timeout". Times fed in
 * are seconds since the VM started. Pure: no clock, no I/O. */
ChronosVerifyJudge *chronos_verify_judge_new (double settle,
                                              double timeout);
void                chronos_verify_judge_free (ChronosVerifyJudge *self);
/* A screenshot's facts at time @t, with the VGA text on screen when the
 * guest is in a text mode (NULL otherwise). */
void chronos_verify_judge_feed_frame (ChronosVerifyJudge       *self,
                                      double                    t,
                                      const ChronosScreenFacts *facts,
                                      const char               *vga_text);
/* Serial console output (any chunking; ANSI escapes allowed). */
void chronos_verify_judge_feed_serial (ChronosVerifyJudge *self,
                                       double              t,
                                       const char         *data,
                                       gsize               len);
void chronos_verify_judge_feed_event (ChronosVerifyJudge *self,
                                      double              t,
                                      ChronosVerifyEvent  event);
/* Time passes: decides "timeout" (and a lasting black screen) without a
 * new frame. */
void chronos_verify_judge_tick (ChronosVerifyJudge *self,
                                double              t);
/* TRUE once decided; the verdict never changes afterwards. */
gboolean chronos_verify_judge_get_verdict (ChronosVerifyJudge *self,
                                           ChronosVerdict     *verdict,
                                           ChronosVerifyCause *cause,
                                           const char        **reason);
double   chronos_verify_judge_get_decided_at (ChronosVerifyJudge *self);
/* First time something non-black was on screen, or -1. */
double chronos_verify_judge_get_first_screen (ChronosVerifyJudge *self);
/* When the screen that got the guest its verdict first appeared, or -1. */
double chronos_verify_judge_get_stable_screen (ChronosVerifyJudge *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChronosVerifyJudge, chronos_verify_judge_free)

G_END_DECLS
