"""The gate's NFC side: signed wristband tokens, the reader adapter, and an NTAG emulator.

- `gate.devices.nfc.token`: the signed group token a band carries, and the site keyring.
- `gate.devices.nfc.t2t`: pure functions over Type 2 Tag memory (capability container, TLVs, NDEF
  writes).
- `gate.devices.nfc.originality`: the NTAG21x originality signature (ECDSA on secp128r1, NXP's key).
- `gate.devices.nfc.reader`: `NfcReader`, the reader thread over any nfcpy device path.
- `gate.devices.nfc.band`: a band on the reader: reading its token, writing a new one.
- `gate.devices.nfc.emulator`: `TagEmulator`, NTAG213/215 bands behind nfcpy's ``udp:`` driver, for
  tests and the demo; `gate.devices.nfc.emulated_tag` the tags it emulates (memory, answers).

Modules are imported where used; importing this package loads nothing from nfcpy.
"""
