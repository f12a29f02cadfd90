/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chronos test guests for BIOS/MBR disks: one real-mode source, one variant per guest.
 *
 * build-guest.py preprocesses this file once per guest with -DGUEST_NAME="..." and one
 * or more GUEST_* feature macros, links it at 0x7C00 and writes it to sector 0 (the
 * MBR, stage 1) and the sectors after it (stage 2).  The partition table and the disk
 * signature in the MBR are filled in by build-guest.py, not here.
 *
 * Features (see README.md for what each guest prints and how it ends):
 *   GUEST_POWER        wait for the ACPI power button, then power off (S5)
 *   GUEST_IGNORE       print the line, then ignore the power button forever
 *   GUEST_WRITER       write a known sector at WRITER_LBA, read it back, compare
 *   GUEST_FILLER       write the partition full, sequentially, until a write fails
 *   GUEST_SLOW         keep the firmware's screen for SLOW_TICKS timer ticks first
 *   GUEST_STOPSCREEN   paint a blue "stop screen" and halt with interrupts off
 *   GUEST_TRIPLEFAULT  triple-fault the CPU (the firmware boots us again: a loop)
 *   GUEST_BLACK        blank the screen, serial line only, halt with interrupts on
 */

#ifndef GUEST_NAME
#error "GUEST_NAME must be defined (build-guest.py does it)"
#endif

/* LBA 2048 is the first sector of the single partition. */
#define WRITER_LBA 2048
/* The BIOS timer ticks 18.2065 times a second: 110 ticks are 6.04 s of real time. */
#define SLOW_TICKS 110

#define COM1 0x3f8
#define VGA_SEGMENT 0xb800
/* Grey on black, and white on blue for the stop screen. */
#define ATTR_TEXT 0x07
#define ATTR_BRIGHT 0x0f
#define ATTR_STOP 0x1f

/* PCI configuration addresses (enable bit | bus 0 | device | function | register). */
#define PCI_ICH9_LPC_ID 0x8000f800   /* 00:1f.0, vendor/device */
#define PCI_ICH9_PMBASE 0x8000f840   /* 00:1f.0, register 0x40 PMBASE */
#define PCI_PIIX4_PM_ID 0x80000b00   /* 00:01.3, vendor/device */
#define PCI_PIIX4_PMBA 0x80000b40    /* 00:01.3, register 0x40 PMBA */
#define ICH9_LPC_VENDOR_DEVICE 0x29188086
#define PIIX4_PM_VENDOR_DEVICE 0x71138086

/* ACPI PM1 block, relative to PMBASE (same layout on ICH9 and PIIX4). */
#define PM1_STS 0
#define PM1_EN 2
#define PM1_CNT 4
#define PWRBTN_BIT 0x0100
#define SLP_EN 0x2000
#define SLP_TYP_MASK 0x1c00
/* QEMU's DSDT (q35 and pc) declares _S5 as package {0, 0}: SLP_TYP 0 is "soft off".
 * Checked with tests/guests/test-guests.py: writing SLP_TYP 0 | SLP_EN ends QEMU with
 * a guest-initiated SHUTDOWN event. */
#define SLP_TYP_S5 0

/* A message: "CHRONOS-GUEST <name>: <text>", NUL-terminated, without line end. */
#define MESSAGE(label, text) label: .ascii "CHRONOS-GUEST ", GUEST_NAME, ": ", text; .byte 0

        .code16
        .text
        .globl _start

/* ---------------------------------------------------------------- stage 1 (MBR) */
_start:
        cli
        ljmp    $0, $stage1_flat   /* some BIOSes jump to 07C0:0000 */
stage1_flat:
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movw    $0x7c00, %sp
        sti
        cld
        movb    %dl, boot_drive

        /* Stage 2 sits in the sectors right after the MBR (LBA 1 onwards), in the gap
         * before the partition.  Extended read first, CHS as a fallback. */
        movb    $0x42, %ah
        movw    $stage2_dap, %si
        int     $0x13
        jnc     stage2
        movw    $(0x0200 + STAGE2_SECTORS), %ax
        movw    $stage2, %bx
        movw    $0x0002, %cx          /* cylinder 0, sector 2 */
        xorb    %dh, %dh
        movb    boot_drive, %dl
        int     $0x13
        jnc     stage2

        movw    $msg_load_failed, %si
1:      lodsb
        testb   %al, %al
        jz      2f
        movb    $0x0e, %ah
        movw    $0x0007, %bx
        int     $0x10
        jmp     1b
2:      hlt
        jmp     2b

stage2_dap:
        .byte   0x10, 0
        .word   STAGE2_SECTORS
        .word   stage2, 0
        .quad   1

msg_load_failed:
        .asciz  "CHRONOS-GUEST: cannot read stage 2"

boot_drive:
        .byte   0x80

        .org    440, 0
        /* Disk signature and the partition table: written by build-guest.py. */
        .long   0
        .word   0
        .fill   64, 1, 0
        .byte   0x55, 0xaa

/* ---------------------------------------------------------------- stage 2 */
stage2:
        call    serial_init

#if defined(GUEST_SLOW)
        /* Nothing on screen yet: the firmware's own screen stays while we wait. */
        movw    $msg_waiting, %si
        call    serial_line
        movw    $SLOW_TICKS, %cx
        call    wait_ticks
#endif

#if defined(GUEST_BLACK)
        call    screen_reset
        call    cursor_hide
        movw    $msg_black, %si
        call    serial_line
        sti
1:      hlt                           /* interrupts on: a live but black machine */
        jmp     1b
#elif defined(GUEST_STOPSCREEN)
        call    screen_reset
        call    cursor_hide
        movb    $ATTR_STOP, %ah
        call    screen_fill
        movw    $stop_lines, %bx
1:      movw    (%bx), %di            /* table: screen offset, string; 0 ends */
        testw   %di, %di
        jz      2f
        movw    2(%bx), %si
        movb    $ATTR_STOP, %ah
        call    screen_puts
        addw    $4, %bx
        jmp     1b
2:      movw    $msg_stop, %si
        call    serial_line
        cli
3:      hlt
        jmp     3b
#elif defined(GUEST_TRIPLEFAULT)
        call    screen_reset
        movw    $msg_triple, %si
        movw    $0, %di
        movb    $ATTR_TEXT, %ah
        call    screen_puts
        movw    $msg_triple, %si
        call    serial_line
        /* Protected mode with an interrupt table of limit 0: the exception cannot be
         * delivered (#GP), neither can that (#DF), and the double fault becomes a
         * triple fault: the CPU resets.  Real mode is not enough: KVM delivers
         * real-mode interrupts itself and does not fault on the table limit. */
        cli
        lgdt    triple_gdt_pointer
        lidt    empty_idt
        movl    %cr0, %eax
        orl     $1, %eax
        movl    %eax, %cr0
        ljmp    $0x08, $triple_pm
        .code32
triple_pm:
        movw    $0x10, %ax
        movw    %ax, %ds
        ud2                           /* invalid opcode: #UD -> #GP -> #DF -> reset */
1:      hlt                           /* not reached */
        jmp     1b
        .code16
#else
        /* Normal guests: a visible line on a clean screen, and on serial. */
        call    screen_reset
        movw    $msg_booted, %si
        movw    $(0 * 160), %di
        movb    $ATTR_BRIGHT, %ah
        call    screen_puts
        movw    $msg_booted, %si
        call    serial_line
        movw    $(2 * 160), %di
        movw    $msg_hint, %si
        movb    $ATTR_TEXT, %ah
        call    screen_puts
        movw    $0x0300, %dx          /* cursor on row 3 */
        call    cursor_set

#if defined(GUEST_WRITER)
        call    writer_test
        movw    $(4 * 160), %di
        movb    $ATTR_TEXT, %ah
        pushw   %si
        call    screen_puts
        popw    %si
        call    serial_line
        movw    $0x0500, %dx
        call    cursor_set
#endif

#if defined(GUEST_FILLER)
        call    filler_run
        movw    $(4 * 160), %di
        movb    $ATTR_TEXT, %ah
        call    screen_puts
        call    serial_line
        movw    $0x0500, %dx
        call    cursor_set
#endif

#if defined(GUEST_IGNORE)
        movw    $msg_ignoring, %si
        call    serial_line
        sti
1:      hlt                           /* the power button sets PM1_STS: nobody looks */
        jmp     1b
#else
        call    power_wait
        movw    $msg_power, %si
        movw    $(6 * 160), %di
        movb    $ATTR_TEXT, %ah
        call    screen_puts
        movw    $msg_power, %si
        call    serial_line
        call    power_off
        movw    $msg_power_failed, %si
        call    serial_line
        sti
1:      hlt
        jmp     1b
#endif
#endif

/* ---------------------------------------------------------------- serial (COM1) */

/* 115200 8N1, FIFO on, no interrupts. */
serial_init:
        pushw   %ax
        pushw   %dx
        movw    $(COM1 + 1), %dx
        xorb    %al, %al
        outb    %al, %dx              /* IER: no interrupts */
        movw    $(COM1 + 3), %dx
        movb    $0x80, %al
        outb    %al, %dx              /* LCR: DLAB */
        movw    $COM1, %dx
        movb    $1, %al
        outb    %al, %dx              /* divisor 1 = 115200 baud */
        movw    $(COM1 + 1), %dx
        xorb    %al, %al
        outb    %al, %dx
        movw    $(COM1 + 3), %dx
        movb    $0x03, %al
        outb    %al, %dx              /* LCR: 8N1 */
        movw    $(COM1 + 2), %dx
        movb    $0xc7, %al
        outb    %al, %dx              /* FCR: FIFO on and cleared */
        movw    $(COM1 + 4), %dx
        movb    $0x03, %al
        outb    %al, %dx              /* MCR: DTR, RTS */
        popw    %dx
        popw    %ax
        ret

/* Send %al.  Bounded wait: a missing UART reads 0xff, which says "empty" anyway. */
serial_putc:
        pushw   %ax
        pushw   %cx
        pushw   %dx
        movb    %al, %ah
        movw    $(COM1 + 5), %dx
        movw    $0xffff, %cx
1:      inb     %dx, %al
        testb   $0x20, %al            /* LSR: THR empty */
        jnz     2f
        loop    1b
2:      movb    %ah, %al
        movw    $COM1, %dx
        outb    %al, %dx
        popw    %dx
        popw    %cx
        popw    %ax
        ret

/* Send the NUL-terminated string at %ds:%si, then CR LF.  Keeps %si. */
serial_line:
        pushw   %ax
        pushw   %si
1:      lodsb
        testb   %al, %al
        jz      2f
        call    serial_putc
        jmp     1b
2:      movb    $13, %al
        call    serial_putc
        movb    $10, %al
        call    serial_putc
        popw    %si
        popw    %ax
        ret

/* ---------------------------------------------------------------- VGA text screen */

/* Mode 3 (80x25 colour text) again: it clears the screen, whatever the firmware left. */
screen_reset:
        pushw   %ax
        movw    $0x0003, %ax
        int     $0x10
        movb    $ATTR_TEXT, %ah
        call    screen_fill
        popw    %ax
        ret

/* Fill all 80x25 cells with spaces of attribute %ah. */
screen_fill:
        pushw   %ax
        pushw   %cx
        pushw   %di
        pushw   %es
        movw    $VGA_SEGMENT, %cx
        movw    %cx, %es
        movb    $0x20, %al
        xorw    %di, %di
        movw    $(80 * 25), %cx
        rep stosw
        popw    %es
        popw    %di
        popw    %cx
        popw    %ax
        ret

/* Write the NUL-terminated string at %ds:%si to screen offset %di with attribute %ah. */
screen_puts:
        pushw   %ax
        pushw   %si
        pushw   %di
        pushw   %es
        pushw   %ax
        movw    $VGA_SEGMENT, %ax
        movw    %ax, %es
        popw    %ax
1:      lodsb
        testb   %al, %al
        jz      2f
        stosw
        jmp     1b
2:      popw    %es
        popw    %di
        popw    %si
        popw    %ax
        ret

/* Cursor to row %dh, column %dl. */
cursor_set:
        pushw   %ax
        pushw   %bx
        movb    $0x02, %ah
        xorb    %bh, %bh
        int     $0x10
        popw    %bx
        popw    %ax
        ret

cursor_hide:
        pushw   %ax
        pushw   %cx
        movb    $0x01, %ah
        movw    $0x2000, %cx          /* start line bit 5: cursor off */
        int     $0x10
        popw    %cx
        popw    %ax
        ret

/* ---------------------------------------------------------------- timer */

#if defined(GUEST_SLOW)
/* Wait %cx changes of the BIOS tick count (0040:006C, 18.2 Hz, driven by IRQ 0).
 * Real time, not instructions: TCG and KVM wait equally long.  Counting changes
 * instead of comparing values survives the midnight wrap of the counter. */
wait_ticks:
        pushw   %ax
        pushw   %bx
        pushw   %es
        movw    $0x0040, %ax
        movw    %ax, %es
        sti
        movw    %es:0x006c, %bx
1:      hlt
        movw    %es:0x006c, %ax
        cmpw    %ax, %bx
        je      1b
        movw    %ax, %bx
        loop    1b
        popw    %es
        popw    %bx
        popw    %ax
        ret
#endif

/* ---------------------------------------------------------------- ACPI power */

#if defined(GUEST_POWER)
/* Find PMBASE (ICH9 LPC on q35, PIIX4 PM on pc), clear and enable the power button
 * event, and sleep until its status bit appears.  Returns with pm_base set. */
power_wait:
        pushw   %ax
        pushw   %dx
        movl    $PCI_ICH9_LPC_ID, %eax
        call    pci_read
        cmpl    $ICH9_LPC_VENDOR_DEVICE, %eax
        jne     1f
        movl    $PCI_ICH9_PMBASE, %eax
        call    pci_read
        andw    $0xff80, %ax          /* ICH9 PMBASE: 128-byte aligned I/O */
        jmp     2f
1:      movl    $PCI_PIIX4_PM_ID, %eax
        call    pci_read
        cmpl    $PIIX4_PM_VENDOR_DEVICE, %eax
        jne     9f
        movl    $PCI_PIIX4_PMBA, %eax
        call    pci_read
        andw    $0xffc0, %ax          /* PIIX4 PMBA: 64-byte aligned I/O */
2:      testw   %ax, %ax
        jz      9f
        movw    %ax, pm_base

        movw    pm_base, %dx
        addw    $PM1_STS, %dx
        movw    $PWRBTN_BIT, %ax
        outw    %ax, %dx              /* write 1 to clear a stale status */
        movw    pm_base, %dx
        addw    $PM1_EN, %dx
        inw     %dx, %ax
        orw     $PWRBTN_BIT, %ax
        outw    %ax, %dx

        movw    pm_base, %dx
        addw    $PM1_STS, %dx
        sti
3:      hlt                           /* the timer wakes us 18 times a second */
        inw     %dx, %ax
        testw   $PWRBTN_BIT, %ax
        jz      3b
        movw    $PWRBTN_BIT, %ax
        outw    %ax, %dx
        popw    %dx
        popw    %ax
        ret

9:      movw    $msg_no_acpi, %si
        call    serial_line
        sti
8:      hlt
        jmp     8b

/* Enter S5: SLP_TYP from \_S5 plus SLP_EN, keeping the other PM1_CNT bits (SCI_EN). */
power_off:
        pushw   %ax
        pushw   %dx
        cli
        movw    pm_base, %dx
        addw    $PM1_CNT, %dx
        inw     %dx, %ax
        andw    $~(SLP_TYP_MASK | SLP_EN), %ax
        orw     $((SLP_TYP_S5 << 10) | SLP_EN), %ax
        outw    %ax, %dx
        /* The machine goes off "soon", not at once (TCG finishes its block of code):
         * give it about two seconds of timer ticks before saying it failed. */
        sti
        movw    $40, %dx
1:      hlt
        decw    %dx
        jnz     1b
        popw    %dx
        popw    %ax
        ret

/* Read the PCI configuration dword whose 0xCF8 address is in %eax. */
pci_read:
        pushw   %dx
        movw    $0xcf8, %dx
        outl    %eax, %dx
        movw    $0xcfc, %dx
        inl     %dx, %eax
        popw    %dx
        ret

pm_base:
        .word   0
#endif

/* ---------------------------------------------------------------- disk writer */

#if defined(GUEST_WRITER)
/* Write one sector of a known pattern at WRITER_LBA with int 13h AH=43h, read it back
 * with AH=42h into another buffer and compare.  Returns the result message in %si. */
#define WRITER_SEGMENT 0x1000
writer_test:
        pushw   %ax
        pushw   %cx
        pushw   %dx
        pushw   %di
        pushw   %es

        /* Buffer 1000:0000 = 16 copies of the 32-byte pattern line; 1000:0200 = 0. */
        movw    $WRITER_SEGMENT, %ax
        movw    %ax, %es
        xorw    %di, %di
        movw    $16, %dx
1:      movw    $writer_pattern, %si
        movw    $32, %cx
        rep movsb
        decw    %dx
        jnz     1b
        xorb    %al, %al
        movw    $512, %cx
        rep stosb

        movw    $0x4300, %ax          /* extended write, no verify */
        movb    boot_drive, %dl
        movw    $writer_dap_write, %si
        int     $0x13
        jc      8f
        movw    $0x4200, %ax
        movb    boot_drive, %dl
        movw    $writer_dap_read, %si
        int     $0x13
        jc      8f

        pushw   %ds
        movw    %es, %ax
        movw    %ax, %ds
        xorw    %si, %si
        movw    $0x200, %di
        movw    $512, %cx
        repe cmpsb
        popw    %ds
        jne     7f
        movw    $msg_wrote, %si
        jmp     9f
7:      movw    $msg_mismatch, %si
        jmp     9f
8:      movw    $msg_write_failed, %si
9:      popw    %es
        popw    %di
        popw    %dx
        popw    %cx
        popw    %ax
        ret

writer_dap_write:
        .byte   0x10, 0
        .word   1
        .word   0x0000, WRITER_SEGMENT
        .quad   WRITER_LBA
writer_dap_read:
        .byte   0x10, 0
        .word   1
        .word   0x0200, WRITER_SEGMENT
        .quad   WRITER_LBA
writer_pattern:
        /* 32 bytes; test-guests.py checks the sector for 16 copies of it. */
        .ascii  "CHRONOS-GUEST bios-writer data\r\n"

MESSAGE(msg_wrote, "wrote disk")
MESSAGE(msg_mismatch, "disk read-back mismatch")
MESSAGE(msg_write_failed, "disk write failed")
#endif

/* ---------------------------------------------------------------- disk filler */

#if defined(GUEST_FILLER)
/* Write FILLER_SECTORS-sector chunks of a non-zero pattern from the partition's first
 * sector to the end of the disk with int 13h AH=43h, printing "wrote N MiB" on serial
 * after every MiB, until the disk is full or a write fails.  Returns the result
 * message in %si.  Tests use it to fill the filesystem under a VM's overlay: with
 * QEMU's default werror=enospc the guest is paused inside the int 13h call that hit
 * ENOSPC, so the last serial line is the progress before it. */
#define FILLER_SEGMENT 0x2000
#define FILLER_SECTORS 64              /* 32 KiB per call; a MiB is 32 calls */
#define FILLER_END_LBA 131072          /* build-guest.py's 64 MiB disk */
filler_run:
        pushw   %ax
        pushw   %cx
        pushw   %dx
        pushw   %di
        pushw   %es

        /* Buffer 2000:0000, 32 KiB = 1024 copies of the 32-byte pattern line. */
        movw    $FILLER_SEGMENT, %ax
        movw    %ax, %es
        xorw    %di, %di
        movw    $(FILLER_SECTORS * 512 / 32), %dx
1:      movw    $filler_pattern, %si
        movw    $32, %cx
        rep movsb
        decw    %dx
        jnz     1b

        xorw    %cx, %cx              /* chunks written */
2:      movl    filler_dap_lba, %eax
        addl    $FILLER_SECTORS, %eax
        cmpl    $FILLER_END_LBA, %eax
        ja      7f                    /* the next chunk would pass the end */
        movw    $FILLER_SECTORS, filler_dap_count  /* the BIOS may change it on error */
        movw    $0x4300, %ax          /* extended write, no verify */
        movb    boot_drive, %dl
        movw    $filler_dap, %si
        int     $0x13
        jc      8f
        addl    $FILLER_SECTORS, filler_dap_lba
        incw    %cx
        testw   $(1024 * 1024 / 512 / FILLER_SECTORS - 1), %cx
        jnz     2b
        movw    $msg_filler_wrote, %si
        call    serial_text
        movw    %cx, %ax
        shrw    $5, %ax               /* 32 chunks a MiB */
        call    serial_decimal
        movw    $str_mib, %si
        call    serial_line
        jmp     2b

7:      movw    $msg_filled, %si
        jmp     9f
8:      movw    $msg_fill_failed, %si
9:      popw    %es
        popw    %di
        popw    %dx
        popw    %cx
        popw    %ax
        ret

/* Send the NUL-terminated string at %ds:%si, without a line end.  Keeps %si. */
serial_text:
        pushw   %ax
        pushw   %si
1:      lodsb
        testb   %al, %al
        jz      2f
        call    serial_putc
        jmp     1b
2:      popw    %si
        popw    %ax
        ret

/* Send %ax in decimal. */
serial_decimal:
        pushw   %ax
        pushw   %bx
        pushw   %cx
        pushw   %dx
        movw    $10, %bx
        xorw    %cx, %cx
1:      xorw    %dx, %dx
        divw    %bx
        pushw   %dx
        incw    %cx
        testw   %ax, %ax
        jnz     1b
2:      popw    %ax
        addb    $'0', %al
        call    serial_putc
        loop    2b
        popw    %dx
        popw    %cx
        popw    %bx
        popw    %ax
        ret

filler_dap:
        .byte   0x10, 0
filler_dap_count:
        .word   FILLER_SECTORS
        .word   0x0000, FILLER_SEGMENT
filler_dap_lba:
        .long   WRITER_LBA, 0
filler_pattern:
        .ascii  "CHRONOS-GUEST bios-filler data\r\n"
str_mib:
        .asciz  " MiB"

MESSAGE(msg_filler_wrote, "wrote ")
MESSAGE(msg_filled, "filled the disk")
MESSAGE(msg_fill_failed, "disk write failed")
#endif

/* ---------------------------------------------------------------- data */

MESSAGE(msg_booted, "booted")
MESSAGE(msg_power, "power button")
MESSAGE(msg_power_failed, "power off failed")
MESSAGE(msg_ignoring, "ignoring the power button")
MESSAGE(msg_no_acpi, "no ACPI power management found")
MESSAGE(msg_waiting, "waiting")
MESSAGE(msg_black, "black screen")
MESSAGE(msg_stop, "stop screen")
MESSAGE(msg_triple, "triple fault")

msg_hint:
#if defined(GUEST_IGNORE)
        .asciz  "This guest ignores the ACPI power button."
#else
        .asciz  "Press the ACPI power button (system_powerdown) to power off."
#endif

#if defined(GUEST_TRIPLEFAULT)
        .p2align 3
triple_gdt:
        .quad   0
        .quad   0x00cf9a000000ffff    /* 0x08: 32-bit code, base 0, 4 GiB */
        .quad   0x00cf92000000ffff    /* 0x10: data, base 0, 4 GiB */
triple_gdt_pointer:
        .word   3 * 8 - 1
        .long   triple_gdt
empty_idt:
        .word   0                     /* limit 0: every vector faults */
        .long   0
#endif

#if defined(GUEST_STOPSCREEN)
#define AT(row, col) ((row) * 160 + (col) * 2)
stop_lines:
        .word   AT(4, 8), stop_1
        .word   AT(7, 8), stop_2
        .word   AT(8, 8), stop_3
        .word   AT(10, 8), stop_4
        .word   AT(14, 8), stop_5
        .word   AT(15, 8), stop_6
        .word   AT(17, 8), stop_7
        .word   AT(18, 8), stop_8
        .word   0, 0
stop_1: .asciz  ":("
stop_2: .asciz  "Your PC ran into a problem and needs to restart. We're just"
stop_3: .asciz  "collecting some error info, and then we'll restart for you."
stop_4: .asciz  "100% complete"
stop_5: .asciz  "For more information about this issue and possible fixes, visit"
stop_6: .asciz  "https://www.windows.com/stopcode"
stop_7: .asciz  "If you call a support person, give them this info:"
stop_8: .asciz  "Stop code: CHRONOS_TEST_STOP"
#endif

        .p2align 9, 0
stage2_end:
        STAGE2_SECTORS = (stage2_end - stage2) / 512
