"""The gate's pins through gpiozero: the pin map from the hardware profile, the turnstile or door
relay, the LEDs and buzzer that signal a decision, the passage sensor, staff button and fire alarm
inputs, and `GateIO` (in `gate.devices.gpio.gate_io`), which composes them for the daemon.
"""
