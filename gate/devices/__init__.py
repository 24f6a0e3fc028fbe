"""The gate's devices: the NFC wristband reader, the barcode scanner, the pins (relay, LEDs,
buzzer, sensors).
"""
