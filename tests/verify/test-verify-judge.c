/* test-verify-judge.c: the verdict rules on synthetic evidence, without QEMU
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include "chronos-verify-judge.h"

/* A frame's facts: @kind 'b' black, 't' text screen (signature @shade),
 * 's' stop screen. */
static ChronosScreenFacts
facts (char  kind,
       guint shade)
{
  ChronosScreenFacts f;

  memset (&f, 0, sizeof f);
  f.width = 720;
  f.height = 400;
  f.text_mode = TRUE;
  switch (kind)
    {
    case 'b':
      f.blank = TRUE;
      f.uniform = TRUE;
      f.dark_fraction = 1.0;
      break;
    case 't':
      memset (f.signature, shade, sizeof f.signature);
      break;
    case 's':
      f.stop_screen = TRUE;
      f.stop_blue_fraction = 0.9;
      memset (f.signature, 40 + shade, sizeof f.signature);
      break;
    default:
      g_assert_not_reached ();
    }
  return f;
}

static void
feed (ChronosVerifyJudge *judge,
      double              from,
      double              to,
      char                kind,
      guint               shade,
      const char         *vga)
{
  for (double t = from; t <= to + 1e-9; t += 0.5)
    {
      ChronosScreenFacts f = facts (kind, shade);
      chronos_verify_judge_feed_frame (judge, t, &f, vga);
    }
}

static void
assert_verdict (ChronosVerifyJudge *judge,
                ChronosVerdict      verdict,
                ChronosVerifyCause  cause,
                const char         *reason_part)
{
  ChronosVerdict     v;
  ChronosVerifyCause c;
  const char        *reason = NULL;

  g_assert_true (chronos_verify_judge_get_verdict (judge, &v, &c, &reason));
  g_test_message ("verdict %d cause %d: %s (at %.1f s)", v, c, reason,
                  chronos_verify_judge_get_decided_at (judge));
  g_assert_cmpint (v, ==, verdict);
  g_assert_cmpint (c, ==, cause);
  g_assert_nonnull (strstr (reason, reason_part));
}

static void
test_booted (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);

  feed (judge, 0, 0.5, 'b', 0, NULL);
  feed (judge, 1.0, 3.5, 't', 100, "CHRONOS-GUEST bios-hello: booted\n");
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  feed (judge, 4.0, 4.0, 't', 100, "CHRONOS-GUEST bios-hello: booted\n");
  assert_verdict (judge, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN,
                  "screen stable and non-blank for 3.0 s");
  g_assert_cmpfloat (chronos_verify_judge_get_first_screen (judge), ==, 1.0);
  g_assert_cmpfloat (chronos_verify_judge_get_stable_screen (judge), ==, 1.0);
  g_assert_cmpfloat (chronos_verify_judge_get_decided_at (judge), ==, 4.0);

  /* Decided is final. */
  chronos_verify_judge_feed_event (judge, 5, CHRONOS_VERIFY_EVENT_PANIC);
  assert_verdict (judge, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN, "stable");
}

static void
test_firmware_screen_is_not_booted (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);
  const char *seabios = "SeaBIOS (version 1.16.2)\n\nBooting from Hard Disk...\n";

  /* bios-slow: the firmware's screen, perfectly still, for 6 s. */
  feed (judge, 0, 6.5, 't', 60, seabios);
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  feed (judge, 7.0, 9.5, 't', 100, "CHRONOS-GUEST bios-slow: booted\n");
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  feed (judge, 10.0, 10.0, 't', 100, "CHRONOS-GUEST bios-slow: booted\n");
  assert_verdict (judge, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN, "stable");
  g_assert_cmpfloat (chronos_verify_judge_get_stable_screen (judge), ==, 7.0);
}

static void
test_changing_screen_times_out (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 20);

  for (guint i = 0; i <= 40; i++)
    {
      ChronosScreenFacts f = facts ('t', (i % 2) ? 50 : 150);
      chronos_verify_judge_feed_frame (judge, i * 0.5, &f, NULL);
    }
  assert_verdict (judge, CHRONOS_VERDICT_TIMEOUT, CHRONOS_VERIFY_CAUSE_TIMEOUT,
                  "did not settle within 20 s");

  {
    g_autoptr (ChronosVerifyJudge) silent = chronos_verify_judge_new (3.0, 20);
    chronos_verify_judge_tick (silent, 19.9);
    g_assert_false (chronos_verify_judge_get_verdict (silent, NULL, NULL, NULL));
    chronos_verify_judge_tick (silent, 20.0);
    assert_verdict (silent, CHRONOS_VERDICT_TIMEOUT, CHRONOS_VERIFY_CAUSE_TIMEOUT, "no screen");
  }
}

static void
test_no_bootable_device (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);
  const char *text = "SeaBIOS (version 1.16.2)\nBooting from Hard Disk...\n"
                     "Boot failed: not a bootable disk\n\nNo bootable device.\n";

  feed (judge, 0, 0.5, 't', 60, "SeaBIOS (version 1.16.2)\n");
  feed (judge, 1.0, 1.5, 't', 70, text);
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  feed (judge, 2.0, 2.0, 't', 70, text);
  assert_verdict (judge, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE,
                  "firmware: no bootable device");

  /* The same words in a graphics mode are stale memory, not the screen. */
  {
    g_autoptr (ChronosVerifyJudge) graphics = chronos_verify_judge_new (3.0, 120);

    for (double t = 0; t <= 4; t += 0.5)
      {
        ChronosScreenFacts f = facts ('t', 90);
        f.text_mode = FALSE;
        f.width = 1280;
        f.height = 800;
        chronos_verify_judge_feed_frame (graphics, t, &f, text);
      }
    assert_verdict (graphics, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN, "stable");
  }
}

static void
test_loader_error (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);

  feed (judge, 0, 1.0, 't', 80, "BOOTMGR is missing\nPress Ctrl+Alt+Del to restart\n");
  assert_verdict (judge, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_LOADER_ERROR,
                  "BOOTMGR is missing");
}

static void
test_uefi_shell_on_serial (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);
  const char part1[] = "BdsDxe: failed to load Boot0001 \"UEFI QEMU HARDDISK\": Not Found\r\n"
                       "\033[2J\033[01;01HUEFI Inter";
  const char part2[] = "active Shell v2.2\r\nEDK II\r\n";

  chronos_verify_judge_feed_serial (judge, 3.0, part1, sizeof part1 - 1);
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  chronos_verify_judge_feed_serial (judge, 3.2, part2, sizeof part2 - 1);
  assert_verdict (judge, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE,
                  "UEFI Interactive Shell");
  g_assert_cmpfloat (chronos_verify_judge_get_decided_at (judge), ==, 3.2);
}

static void
test_stop_screen (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);

  feed (judge, 0, 0.5, 't', 60, "SeaBIOS (version 1.16.2)\n");
  feed (judge, 1.0, 3.5, 's', 0, ":(\nYour PC ran into a problem\n");
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  feed (judge, 4.0, 4.0, 's', 0, ":(\nYour PC ran into a problem\n");
  assert_verdict (judge, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_STOP_SCREEN,
                  "stop screen: blue screen held 3.0 s");
}

static void
test_reset_loop (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);

  /* Two reboots a minute apart are normal (updates); five in seconds are not. */
  chronos_verify_judge_feed_event (judge, 1, CHRONOS_VERIFY_EVENT_RESET);
  chronos_verify_judge_feed_event (judge, 40, CHRONOS_VERIFY_EVENT_RESET);
  for (guint i = 0; i < 3; i++)
    chronos_verify_judge_feed_event (judge, 80 + i * 0.1, CHRONOS_VERIFY_EVENT_RESET);
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  chronos_verify_judge_feed_event (judge, 80.3, CHRONOS_VERIFY_EVENT_RESET);
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  chronos_verify_judge_feed_event (judge, 81.5, CHRONOS_VERIFY_EVENT_RESET);
  assert_verdict (judge, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_RESET_LOOP,
                  "reset loop: 5 resets in 1.5 s");
}

static void
test_reset_restarts_stability (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);

  feed (judge, 0, 2.5, 't', 100, NULL);
  chronos_verify_judge_feed_event (judge, 2.7, CHRONOS_VERIFY_EVENT_RESET);
  feed (judge, 3.0, 5.5, 't', 100, NULL);
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  feed (judge, 6.0, 6.0, 't', 100, NULL);
  assert_verdict (judge, CHRONOS_VERDICT_BOOTED, CHRONOS_VERIFY_CAUSE_STABLE_SCREEN, "stable");
}

static void
test_black_screen (void)
{
  g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 20);

  feed (judge, 0, 0, 't', 60, "SeaBIOS (version 1.16.2)\n");
  feed (judge, 0.5, 10.0, 'b', 0, NULL);
  g_assert_false (chronos_verify_judge_get_verdict (judge, NULL, NULL, NULL));
  chronos_verify_judge_tick (judge, 10.6);
  assert_verdict (judge, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_BLACK_SCREEN,
                  "the screen stayed black for 10 s");

  {
    /* With the default timeout the limit is a minute. */
    g_autoptr (ChronosVerifyJudge) patient = chronos_verify_judge_new (3.0, 120);

    feed (patient, 0, 59.5, 'b', 0, NULL);
    g_assert_false (chronos_verify_judge_get_verdict (patient, NULL, NULL, NULL));
    feed (patient, 60.0, 60.0, 'b', 0, NULL);
    assert_verdict (patient, CHRONOS_VERDICT_FAILED, CHRONOS_VERIFY_CAUSE_BLACK_SCREEN, "60 s");
  }
}

static void
test_events (void)
{
  static const struct
  {
    ChronosVerifyEvent event;
    ChronosVerifyCause cause;
    const char        *part;
  } cases[] = {
    { CHRONOS_VERIFY_EVENT_GUEST_SHUTDOWN, CHRONOS_VERIFY_CAUSE_POWERED_OFF, "powered itself off" },
    { CHRONOS_VERIFY_EVENT_PANIC, CHRONOS_VERIFY_CAUSE_PANIC, "crashed (panic)" },
    { CHRONOS_VERIFY_EVENT_INTERNAL_ERROR, CHRONOS_VERIFY_CAUSE_INTERNAL_ERROR, "internal error" },
    { CHRONOS_VERIFY_EVENT_QEMU_EXITED, CHRONOS_VERIFY_CAUSE_QEMU_EXITED, "QEMU ended" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (ChronosVerifyJudge) judge = chronos_verify_judge_new (3.0, 120);

      feed (judge, 0, 1, 't', 100, NULL);
      chronos_verify_judge_feed_event (judge, 1.2, cases[i].event);
      assert_verdict (judge, CHRONOS_VERDICT_FAILED, cases[i].cause, cases[i].part);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/verify-judge/booted", test_booted);
  g_test_add_func ("/verify-judge/firmware-screen", test_firmware_screen_is_not_booted);
  g_test_add_func ("/verify-judge/timeout", test_changing_screen_times_out);
  g_test_add_func ("/verify-judge/no-bootable-device", test_no_bootable_device);
  g_test_add_func ("/verify-judge/loader-error", test_loader_error);
  g_test_add_func ("/verify-judge/uefi-shell-serial", test_uefi_shell_on_serial);
  g_test_add_func ("/verify-judge/stop-screen", test_stop_screen);
  g_test_add_func ("/verify-judge/reset-loop", test_reset_loop);
  g_test_add_func ("/verify-judge/reset-restarts-stability", test_reset_restarts_stability);
  g_test_add_func ("/verify-judge/black-screen", test_black_screen);
  g_test_add_func ("/verify-judge/events", test_events);

  return g_test_run ();
}
