"""wristgate's gate: the edge daemon and its pure rules core (`gate.core`)."""
