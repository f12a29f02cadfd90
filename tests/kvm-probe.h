/* kvm-probe.h: does KVM really run a guest on this host?
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when tests/kvm-runs-guests.sh says KVM runs a guest with the CPU
 * model Chronos uses; an openable /dev/kvm is not enough (see the script).
 * Asked once per process. */
gboolean test_kvm_runs_guests (void);

/* TRUE when /dev/kvm can be opened for reading and writing. */
gboolean test_kvm_openable (void);

G_END_DECLS
