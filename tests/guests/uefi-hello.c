/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chronos UEFI test guest: an EFI application that prints a known line and powers off
 * on the ACPI power button.
 *
 * Freestanding on purpose (no gnu-efi, no EDK II headers): built with
 * `clang --target=x86_64-unknown-windows` and `lld-link /subsystem:efi_application`,
 * which works the same wherever clang and lld exist.  Only the few firmware tables and
 * members it uses are declared below, with the UEFI 2.x member order; the members it
 * does not call are plain pointers that keep the offsets right.
 */

typedef unsigned char UINT8;
typedef unsigned short UINT16;
typedef unsigned short CHAR16;
typedef unsigned int UINT32;
typedef unsigned long long UINT64; /* long is 32 bits on this (Windows) target */
typedef UINT64 UINTN;
typedef UINTN EFI_STATUS;
typedef void *EFI_HANDLE;
typedef void *EFI_EVENT;

#define EFIAPI __attribute__ ((ms_abi))
#define EFI_SUCCESS 0

typedef struct
{
  UINT64 Signature;
  UINT32 Revision;
  UINT32 HeaderSize;
  UINT32 CRC32;
  UINT32 Reserved;
} EFI_TABLE_HEADER;

typedef struct SIMPLE_TEXT_OUTPUT SIMPLE_TEXT_OUTPUT;
struct SIMPLE_TEXT_OUTPUT
{
  EFI_STATUS (EFIAPI *Reset) (SIMPLE_TEXT_OUTPUT *self, UINT8 extended);
  EFI_STATUS (EFIAPI *OutputString) (SIMPLE_TEXT_OUTPUT *self, const CHAR16 *string);
  void *TestString;
  void *QueryMode;
  void *SetMode;
  EFI_STATUS (EFIAPI *SetAttribute) (SIMPLE_TEXT_OUTPUT *self, UINTN attribute);
  EFI_STATUS (EFIAPI *ClearScreen) (SIMPLE_TEXT_OUTPUT *self);
  void *SetCursorPosition;
  EFI_STATUS (EFIAPI *EnableCursor) (SIMPLE_TEXT_OUTPUT *self, UINT8 visible);
  void *Mode;
};

#define EFI_RESET_SHUTDOWN 2

typedef struct
{
  EFI_TABLE_HEADER Hdr;
  void *GetTime;
  void *SetTime;
  void *GetWakeupTime;
  void *SetWakeupTime;
  void *SetVirtualAddressMap;
  void *ConvertPointer;
  void *GetVariable;
  void *GetNextVariableName;
  void *SetVariable;
  void *GetNextHighMonotonicCount;
  void (EFIAPI *ResetSystem) (UINT32 type, EFI_STATUS status, UINTN data_size, void *data);
} EFI_RUNTIME_SERVICES;

#define EVT_TIMER 0x80000000u
#define TPL_APPLICATION 4
#define TIMER_PERIODIC 1

typedef struct
{
  EFI_TABLE_HEADER Hdr;
  void *RaiseTPL;
  void *RestoreTPL;
  void *AllocatePages;
  void *FreePages;
  void *GetMemoryMap;
  void *AllocatePool;
  void *FreePool;
  EFI_STATUS (EFIAPI *CreateEvent) (UINT32 type, UINTN notify_tpl, void *notify_function,
                                    void *notify_context, EFI_EVENT *event);
  EFI_STATUS (EFIAPI *SetTimer) (EFI_EVENT event, UINT32 type, UINT64 trigger_time);
  EFI_STATUS (EFIAPI *WaitForEvent) (UINTN count, EFI_EVENT *events, UINTN *index);
  void *SignalEvent;
  void *CloseEvent;
  void *CheckEvent;
  void *InstallProtocolInterface;
  void *ReinstallProtocolInterface;
  void *UninstallProtocolInterface;
  void *HandleProtocol;
  void *Reserved;
  void *RegisterProtocolNotify;
  void *LocateHandle;
  void *LocateDevicePath;
  void *InstallConfigurationTable;
  void *LoadImage;
  void *StartImage;
  void *Exit;
  void *UnloadImage;
  void *ExitBootServices;
  void *GetNextMonotonicCount;
  EFI_STATUS (EFIAPI *Stall) (UINTN microseconds);
  EFI_STATUS (EFIAPI *SetWatchdogTimer) (UINTN timeout, UINT64 code, UINTN data_size,
                                         CHAR16 *data);
} EFI_BOOT_SERVICES;

typedef struct
{
  EFI_TABLE_HEADER Hdr;
  CHAR16 *FirmwareVendor;
  UINT32 FirmwareRevision;
  EFI_HANDLE ConsoleInHandle;
  void *ConIn;
  EFI_HANDLE ConsoleOutHandle;
  SIMPLE_TEXT_OUTPUT *ConOut;
  EFI_HANDLE StandardErrorHandle;
  SIMPLE_TEXT_OUTPUT *StdErr;
  EFI_RUNTIME_SERVICES *RuntimeServices;
  EFI_BOOT_SERVICES *BootServices;
  UINTN NumberOfTableEntries;
  void *ConfigurationTable;
} EFI_SYSTEM_TABLE;

/* ACPI PM1 block (ICH9 on q35, PIIX4 on pc), as in bios-guest.S. */
#define PM1_STS 0
#define PM1_EN 2
#define PM1_CNT 4
#define PWRBTN 0x0100u
#define SLP_EN 0x2000u
#define SLP_TYP_MASK 0x1c00u

static inline void
outl (UINT16 port, UINT32 value)
{
  __asm__ volatile ("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline UINT32
inl (UINT16 port)
{
  UINT32 value;
  __asm__ volatile ("inl %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

static inline void
outw (UINT16 port, UINT16 value)
{
  __asm__ volatile ("outw %0, %1" : : "a"(value), "Nd"(port));
}

static inline UINT16
inw (UINT16 port)
{
  UINT16 value;
  __asm__ volatile ("inw %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

static UINT32
pci_read (UINT32 address)
{
  outl (0xcf8, address);
  return inl (0xcfc);
}

/* PMBASE from the ICH9 LPC bridge (00:1f.0) or the PIIX4 PM function (00:01.3);
 * 0 when neither is there.  OVMF programs 0x600 on both machines. */
static UINT16
find_pm_base (void)
{
  if (pci_read (0x8000f800u) == 0x29188086u)
    return (UINT16) (pci_read (0x8000f840u) & 0xff80u);
  if (pci_read (0x80000b00u) == 0x71138086u)
    return (UINT16) (pci_read (0x80000b40u) & 0xffc0u);
  return 0;
}

static void
say (EFI_SYSTEM_TABLE *st, const CHAR16 *line)
{
  st->ConOut->OutputString (st->ConOut, line);
  st->ConOut->OutputString (st->ConOut, u"\r\n");
}

EFI_STATUS EFIAPI efi_main (EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

EFI_STATUS EFIAPI
efi_main (EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
  EFI_BOOT_SERVICES *bs = st->BootServices;
  EFI_EVENT tick = 0;
  UINT16 pm_base;
  UINTN index;

  (void) image;
  /* The firmware resets a boot application that runs longer than 5 minutes. */
  bs->SetWatchdogTimer (0, 0, 0, 0);

  st->ConOut->SetAttribute (st->ConOut, 0x0f); /* white on black */
  st->ConOut->ClearScreen (st->ConOut);
  say (st, u"CHRONOS-GUEST uefi-hello: booted");
  st->ConOut->SetAttribute (st->ConOut, 0x07);
  say (st, u"");
  say (st, u"Press the ACPI power button (system_powerdown) to power off.");

  pm_base = find_pm_base ();
  if (pm_base == 0)
    {
      say (st, u"CHRONOS-GUEST uefi-hello: no ACPI power management found");
      for (;;)
        bs->Stall (1000000);
    }

  outw (pm_base + PM1_STS, PWRBTN); /* write 1 to clear a stale status */
  outw (pm_base + PM1_EN, inw (pm_base + PM1_EN) | PWRBTN);

  /* Sleep on a 50 ms timer instead of spinning: the firmware halts the CPU. */
  if (bs->CreateEvent (EVT_TIMER, TPL_APPLICATION, 0, 0, &tick) != EFI_SUCCESS
      || bs->SetTimer (tick, TIMER_PERIODIC, 500000) != EFI_SUCCESS)
    tick = 0;
  while (!(inw (pm_base + PM1_STS) & PWRBTN))
    {
      if (tick)
        bs->WaitForEvent (1, &tick, &index);
      else
        bs->Stall (50000);
    }
  outw (pm_base + PM1_STS, PWRBTN);

  say (st, u"CHRONOS-GUEST uefi-hello: power button");
  st->RuntimeServices->ResetSystem (EFI_RESET_SHUTDOWN, EFI_SUCCESS, 0, 0);

  /* ResetSystem does not return; if a firmware's does, enter S5 ourselves (QEMU's
   * \_S5 is SLP_TYP 0). */
  outw (pm_base + PM1_CNT, (UINT16) ((inw (pm_base + PM1_CNT) & ~SLP_TYP_MASK) | SLP_EN));
  bs->Stall (2000000);
  say (st, u"CHRONOS-GUEST uefi-hello: power off failed");
  for (;;)
    bs->Stall (1000000);
}
