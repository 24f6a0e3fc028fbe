"""The gate's pins through gpiozero: the pin map from the hardware profile (`pins`), the turnstile
or door relay and free exit (`relay`), the LEDs and buzzer that signal a decision (`signals`), the
passage sensor, staff button and fire alarm (`inputs`), and `GateIO` (`gate_io`), which composes
them for the daemon.
"""
